//! `set-status` — set the ticket's status.

use ferrule_plugin_sdk::prelude::*;

/// `{"status": "waiting-for-customer"}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The status name (one of the tenant's statuses; the host checks it exists).
    pub status: String,
}

/// The action.
pub struct SetStatus;

impl Action for SetStatus {
    type Config = Config;
    const NAME: &'static str = "set-status";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Set the ticket's status.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.status.trim().is_empty() {
            return Err(PluginError::invalid_config("status", "name a status"));
        }
        Ok(())
    }

    fn execute(config: &Config, _ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        Ok(vec![Effect::SetStatus {
            status: config.status.trim().to_owned(),
        }])
    }
}

export_action!(SetStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_the_configured_status() {
        let effects =
            testing::execute::<SetStatus>(r#"{"status": "in-progress"}"#, &testing::context())
                .unwrap();
        assert_eq!(
            effects,
            vec![Effect::SetStatus {
                status: "in-progress".into()
            }]
        );
    }

    #[test]
    fn rejects_a_missing_or_blank_status() {
        assert!(testing::validate_action::<SetStatus>(r#"{"status": " "}"#).is_err());
        assert!(testing::validate_action::<SetStatus>("{}").is_err());
    }
}
