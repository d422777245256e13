//! `remove-tags` — remove tags from the ticket. Tags are lower-case, so the configured tags are
//! trimmed and lower-cased (`VIP` removes `vip`). Tags the ticket does not have are ignored.

use ferrule_plugin_sdk::prelude::*;

/// `{"tags": ["vip", "decision"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Tags to remove; case is ignored.
    pub tags: Vec<String>,
}

/// The action.
pub struct RemoveTags;

impl Action for RemoveTags {
    type Config = Config;
    const NAME: &'static str = "remove-tags";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Remove tags from the ticket.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.tags.is_empty() {
            return Err(PluginError::invalid_config("tags", "list at least one tag"));
        }
        if let Some(i) = config.tags.iter().position(|t| t.trim().is_empty()) {
            return Err(PluginError::invalid_config(
                format!("tags[{i}]"),
                "an empty tag removes nothing",
            ));
        }
        Ok(())
    }

    fn execute(config: &Config, _ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        let mut tags: Vec<String> = Vec::with_capacity(config.tags.len());
        for tag in &config.tags {
            let tag = tag.trim().to_lowercase();
            if !tag.is_empty() && !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Ok(vec![Effect::RemoveTags { tags }])
    }
}

export_action!(RemoveTags);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_lower_case_tags_once_each() {
        let effects = testing::execute::<RemoveTags>(
            r#"{"tags": ["VIP", " Decyzja ", "vip", "ŻÓŁTE"]}"#,
            &testing::context(),
        )
        .unwrap();
        assert_eq!(
            effects,
            vec![Effect::RemoveTags {
                tags: vec!["vip".into(), "decyzja".into(), "żółte".into()]
            }]
        );
    }

    #[test]
    fn asks_to_remove_even_tags_the_ticket_lacks() {
        // The host ignores tags the ticket does not have; the effect is the same either way.
        let mut ctx = testing::context();
        ctx.ticket.tags = vec!["vip".into()];
        assert_eq!(
            testing::execute::<RemoveTags>(r#"{"tags": ["other"]}"#, &ctx).unwrap(),
            vec![Effect::RemoveTags {
                tags: vec!["other".into()]
            }]
        );
    }

    #[test]
    fn rejects_empty_lists_and_blank_tags() {
        assert!(testing::validate_action::<RemoveTags>(r#"{"tags": []}"#).is_err());
        let e = testing::validate_action::<RemoveTags>(r#"{"tags": ["a", " "]}"#).unwrap_err();
        assert!(
            matches!(e, PluginError::InvalidConfig { ref path, .. } if path == "tags[1]"),
            "{e:?}"
        );
        assert!(testing::validate_action::<RemoveTags>(r#"{"tag": ["a"]}"#).is_err());
        assert!(testing::validate_action::<RemoveTags>(r#"{"tags": ["a"]}"#).is_ok());
    }
}
