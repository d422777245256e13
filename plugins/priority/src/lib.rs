//! `priority` — the ticket's priority is one of the listed priorities (e.g. `low`, `normal`, `high`,
//! `urgent`; tenants may use others). Compared ignoring case. A ticket without a priority does
//! not match.

use ferrule_plugin_sdk::prelude::*;
use ferrule_plugin_sdk::text::fold;

/// `{"is": ["high", "urgent"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Values that match; compared ignoring case.
    pub is: Vec<String>,
}

/// The condition.
pub struct Priority;

impl Condition for Priority {
    type Config = Config;
    const NAME: &'static str = "priority";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The ticket's priority is one of the listed priorities.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.is_empty() {
            return Err(PluginError::invalid_config(
                "is",
                "list at least one priority",
            ));
        }
        if let Some(i) = config.is.iter().position(|v| v.trim().is_empty()) {
            return Err(PluginError::invalid_config(
                format!("is[{i}]"),
                "an empty priority matches nothing",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let Some(value) = ctx.ticket.priority.as_deref() else {
            return Ok(false);
        };
        let value = fold(value);
        Ok(!value.is_empty() && config.is.iter().any(|v| fold(v) == value))
    }
}

export_condition!(Priority);

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(config: &str, value: Option<&str>) -> bool {
        let mut ctx = testing::context();
        ctx.ticket.priority = value.map(Into::into);
        testing::evaluate::<Priority>(config, &ctx).unwrap()
    }

    const CONFIG: &str = r#"{"is": ["high", "urgent"]}"#;

    #[test]
    fn matches_a_listed_value_ignoring_case() {
        assert!(eval(CONFIG, Some("high")));
        assert!(eval(CONFIG, Some("HIGH")));
        assert!(eval(r#"{"is": ["HIGH"]}"#, Some("high")));
    }

    #[test]
    fn other_values_do_not_match() {
        assert!(!eval(CONFIG, Some("normal")));
        assert!(!eval(CONFIG, Some("")));
    }

    #[test]
    fn a_ticket_without_the_field_does_not_match() {
        assert!(!eval(CONFIG, None));
    }

    #[test]
    fn rejects_empty_lists_and_blank_values() {
        assert!(testing::validate_condition::<Priority>(r#"{"is": []}"#).is_err());
        let e = testing::validate_condition::<Priority>(r#"{"is": ["a", " "]}"#).unwrap_err();
        assert!(
            matches!(e, PluginError::InvalidConfig { ref path, .. } if path == "is[1]"),
            "{e:?}"
        );
        assert!(testing::validate_condition::<Priority>(r#"{"is": "high"}"#).is_err());
        assert!(testing::validate_condition::<Priority>(r#"{"are": ["high"]}"#).is_err());
        assert!(testing::validate_condition::<Priority>(CONFIG).is_ok());
    }
}
