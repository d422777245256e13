//! `source` — the ticket came from one of these channels (`email`, `allegro-discussions`, …).
//! "Source is not X" is the rule's `not` around this condition.

use ferrule_plugin_sdk::prelude::*;

/// `{"is": ["email", "chat"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Channels that match (e.g. `email`, `allegro-discussions`, `allegro-messages`, `chat`, `sms`,
    /// `phone`, `web-form`, `api`). Compared ignoring case.
    pub is: Vec<String>,
}

/// The condition.
pub struct Source;

impl Condition for Source {
    type Config = Config;
    const NAME: &'static str = "source";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The ticket came from one of the listed channels.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.iter().all(|s| s.trim().is_empty()) {
            return Err(PluginError::invalid_config(
                "is",
                "list at least one source",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        Ok(config
            .is
            .iter()
            .any(|s| s.trim().eq_ignore_ascii_case(&ctx.ticket.source)))
    }
}

export_condition!(Source);

#[cfg(test)]
mod tests {
    use super::*;

    fn from(source: &str) -> Context {
        let mut ctx = testing::context();
        ctx.ticket.source = source.into();
        ctx
    }

    #[test]
    fn matches_a_listed_source() {
        let config = r#"{"is": ["allegro-discussions", "email"]}"#;
        assert!(testing::evaluate::<Source>(config, &from("email")).unwrap());
        assert!(testing::evaluate::<Source>(config, &from("allegro-discussions")).unwrap());
    }

    #[test]
    fn does_not_match_other_sources() {
        let config = r#"{"is": ["allegro-discussions"]}"#;
        assert!(!testing::evaluate::<Source>(config, &from("allegro-messages")).unwrap());
        assert!(!testing::evaluate::<Source>(config, &from("chat")).unwrap());
    }

    #[test]
    fn compares_ignoring_case() {
        assert!(testing::evaluate::<Source>(r#"{"is": ["EMAIL"]}"#, &from("email")).unwrap());
    }

    #[test]
    fn rejects_empty_and_mistyped_configs() {
        assert!(testing::validate_condition::<Source>(r#"{"is": []}"#).is_err());
        assert!(testing::validate_condition::<Source>(r#"{"is": "email"}"#).is_err());
        assert!(testing::validate_condition::<Source>(r#"{"source": ["email"]}"#).is_err());
        assert!(testing::validate_condition::<Source>(r#"{"is": ["email"]}"#).is_ok());
    }
}
