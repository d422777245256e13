//! `status` — the ticket's status is one of these. "Status is not" is the rule's `not`.

use ferrule_plugin_sdk::prelude::*;

/// `{"is": ["waiting-for-customer"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Status names.
    pub is: Vec<String>,
}

/// The condition.
pub struct Status;

impl Condition for Status {
    type Config = Config;
    const NAME: &'static str = "status";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The ticket's status is one of the listed statuses.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.iter().all(|s| s.trim().is_empty()) {
            return Err(PluginError::invalid_config(
                "is",
                "list at least one status",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        Ok(config.is.iter().any(|s| s.trim() == ctx.ticket.status))
    }
}

export_condition!(Status);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_listed_statuses_only() {
        let mut ctx = testing::context();
        ctx.ticket.status = "waiting-for-customer".into();
        assert!(
            testing::evaluate::<Status>(r#"{"is": ["new", "waiting-for-customer"]}"#, &ctx)
                .unwrap()
        );
        assert!(!testing::evaluate::<Status>(r#"{"is": ["new"]}"#, &ctx).unwrap());
        assert!(testing::validate_condition::<Status>(r#"{"is": []}"#).is_err());
    }
}
