//! `tag` — the ticket has at least one of the listed tags. Tickets carry lower-case tags, so the
//! configured tags are trimmed and lower-cased before comparing (`VIP` finds `vip`).

use ferrule_plugin_sdk::prelude::*;

/// `{"is": ["vip", "decision"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Tags; any one is enough. Case is ignored.
    pub is: Vec<String>,
}

/// The condition.
pub struct Tag;

impl Condition for Tag {
    type Config = Config;
    const NAME: &'static str = "tag";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The ticket has any of the listed tags.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.is_empty() {
            return Err(PluginError::invalid_config("is", "list at least one tag"));
        }
        if let Some(i) = config.is.iter().position(|t| t.trim().is_empty()) {
            return Err(PluginError::invalid_config(
                format!("is[{i}]"),
                "an empty tag matches nothing",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        Ok(config.is.iter().any(|wanted| {
            let wanted = wanted.trim().to_lowercase();
            ctx.ticket.tags.iter().any(|t| t.to_lowercase() == wanted)
        }))
    }
}

export_condition!(Tag);

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(config: &str, tags: &[&str]) -> bool {
        let mut ctx = testing::context();
        ctx.ticket.tags = tags.iter().map(|t| (*t).to_owned()).collect();
        testing::evaluate::<Tag>(config, &ctx).unwrap()
    }

    #[test]
    fn matches_when_any_listed_tag_is_on_the_ticket() {
        assert!(eval(
            r#"{"is": ["vip", "decision"]}"#,
            &["zwrot", "decision"]
        ));
        assert!(!eval(r#"{"is": ["vip", "decision"]}"#, &["zwrot"]));
    }

    #[test]
    fn configured_tags_are_folded_to_lower_case() {
        assert!(eval(r#"{"is": [" VIP "]}"#, &["vip"]));
        assert!(eval(r#"{"is": ["PILNE-ŻÓŁTE"]}"#, &["pilne-żółte"]));
    }

    #[test]
    fn tags_are_whole_words_not_substrings() {
        assert!(!eval(r#"{"is": ["vip"]}"#, &["vip-gold"]));
    }

    #[test]
    fn a_ticket_without_tags_does_not_match() {
        assert!(!eval(r#"{"is": ["vip"]}"#, &[]));
    }

    #[test]
    fn rejects_empty_lists_and_blank_tags() {
        assert!(testing::validate_condition::<Tag>(r#"{"is": []}"#).is_err());
        let e = testing::validate_condition::<Tag>(r#"{"is": ["vip", ""]}"#).unwrap_err();
        assert!(matches!(e, PluginError::InvalidConfig { ref path, .. } if path == "is[1]"));
        assert!(testing::validate_condition::<Tag>(r#"{"tags": ["vip"]}"#).is_err());
        assert!(testing::validate_condition::<Tag>(r#"{"is": ["vip"]}"#).is_ok());
    }
}
