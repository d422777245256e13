//! `add-tags` — add tags to the ticket.

use ferrule_plugin_sdk::prelude::*;

/// `{"tags": ["vip", "decision"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Tags to add (stored lower-case).
    pub tags: Vec<String>,
}

/// The action.
pub struct AddTags;

impl Action for AddTags {
    type Config = Config;
    const NAME: &'static str = "add-tags";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Add tags to the ticket.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.tags.is_empty() {
            return Err(PluginError::invalid_config("tags", "list at least one tag"));
        }
        if let Some(i) = config
            .tags
            .iter()
            .position(|t| t.trim().is_empty() || t.len() > 100)
        {
            return Err(PluginError::invalid_config(
                format!("tags[{i}]"),
                "a tag is 1 to 100 characters",
            ));
        }
        Ok(())
    }

    fn execute(config: &Config, _ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        let tags = config
            .tags
            .iter()
            .map(|t| t.trim().to_lowercase())
            .collect();
        Ok(vec![Effect::AddTags { tags }])
    }
}

export_action!(AddTags);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_lower_case_tags() {
        let effects =
            testing::execute::<AddTags>(r#"{"tags": ["VIP", " Zwrot "]}"#, &testing::context())
                .unwrap();
        assert_eq!(
            effects,
            vec![Effect::AddTags {
                tags: vec!["vip".into(), "zwrot".into()]
            }]
        );
    }

    #[test]
    fn rejects_empty_lists_and_blank_tags() {
        assert!(testing::validate_action::<AddTags>(r#"{"tags": []}"#).is_err());
        let e = testing::validate_action::<AddTags>(r#"{"tags": ["a", " "]}"#).unwrap_err();
        assert!(
            matches!(e, PluginError::InvalidConfig { ref path, .. } if path == "tags[1]"),
            "{e:?}"
        );
    }
}
