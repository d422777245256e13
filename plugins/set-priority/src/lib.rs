//! `set-priority` — set the ticket's priority (e.g. `low`, `normal`, `high`, `urgent`). The
//! priority is stored lower-cased and trimmed, the way the built-in priorities are written.

use ferrule_plugin_sdk::prelude::*;

/// `{"priority": "high"}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The priority (`low`, `normal`, `high`, `urgent`, or a tenant's own).
    pub priority: String,
}

/// The action.
pub struct SetPriority;

impl Action for SetPriority {
    type Config = Config;
    const NAME: &'static str = "set-priority";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Set the ticket's priority.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.priority.trim().is_empty() {
            return Err(PluginError::invalid_config(
                "priority",
                "name a priority (e.g. `low`, `normal`, `high`, `urgent`)",
            ));
        }
        Ok(())
    }

    fn execute(config: &Config, _ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        Ok(vec![Effect::SetPriority {
            priority: config.priority.trim().to_lowercase(),
        }])
    }
}

export_action!(SetPriority);

#[cfg(test)]
mod tests {
    use super::*;

    fn set(config: &str) -> Vec<Effect> {
        testing::execute::<SetPriority>(config, &testing::context()).unwrap()
    }

    #[test]
    fn sets_the_configured_priority() {
        assert_eq!(
            set(r#"{"priority": "urgent"}"#),
            vec![Effect::SetPriority {
                priority: "urgent".into()
            }]
        );
    }

    #[test]
    fn stores_the_priority_lower_case_and_trimmed() {
        assert_eq!(
            set(r#"{"priority": " HIGH "}"#),
            vec![Effect::SetPriority {
                priority: "high".into()
            }]
        );
    }

    #[test]
    fn rejects_a_missing_or_blank_priority() {
        assert!(testing::validate_action::<SetPriority>(r#"{"priority": ""}"#).is_err());
        assert!(testing::validate_action::<SetPriority>("{}").is_err());
        assert!(testing::validate_action::<SetPriority>(r#"{"priority": 3}"#).is_err());
        assert!(testing::validate_action::<SetPriority>(r#"{"priority": "low"}"#).is_ok());
    }
}
