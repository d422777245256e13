//! `inbox-group` — the ticket's inbox belongs to one of the listed inbox groups. Group names are compared
//! ignoring case. A ticket in no inbox, or in an inbox without a group, does not match.

use ferrule_plugin_sdk::prelude::*;
use ferrule_plugin_sdk::text::fold;

/// `{"is": ["Reklamacje", "Sprzedaż"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Values that match; compared ignoring case.
    pub is: Vec<String>,
}

/// The condition.
pub struct InboxGroup;

impl Condition for InboxGroup {
    type Config = Config;
    const NAME: &'static str = "inbox-group";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The ticket's inbox is in one of the listed inbox groups.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.is_empty() {
            return Err(PluginError::invalid_config(
                "is",
                "list at least one inbox group",
            ));
        }
        if let Some(i) = config.is.iter().position(|v| v.trim().is_empty()) {
            return Err(PluginError::invalid_config(
                format!("is[{i}]"),
                "an empty inbox group matches nothing",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let Some(value) = ctx.ticket.inbox_group.as_deref() else {
            return Ok(false);
        };
        let value = fold(value);
        Ok(!value.is_empty() && config.is.iter().any(|v| fold(v) == value))
    }
}

export_condition!(InboxGroup);

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(config: &str, value: Option<&str>) -> bool {
        let mut ctx = testing::context();
        ctx.ticket.inbox_group = value.map(Into::into);
        testing::evaluate::<InboxGroup>(config, &ctx).unwrap()
    }

    const CONFIG: &str = r#"{"is": ["Reklamacje", "Sprzedaż"]}"#;

    #[test]
    fn matches_a_listed_value_ignoring_case() {
        assert!(eval(CONFIG, Some("reklamacje")));
        assert!(eval(CONFIG, Some("REKLAMACJE")));
        assert!(eval(r#"{"is": ["REKLAMACJE"]}"#, Some("reklamacje")));
    }

    #[test]
    fn other_values_do_not_match() {
        assert!(!eval(CONFIG, Some("sprzedaż hurtowa")));
        assert!(!eval(CONFIG, Some("")));
    }

    #[test]
    fn a_ticket_without_the_field_does_not_match() {
        assert!(!eval(CONFIG, None));
    }

    #[test]
    fn rejects_empty_lists_and_blank_values() {
        assert!(testing::validate_condition::<InboxGroup>(r#"{"is": []}"#).is_err());
        let e = testing::validate_condition::<InboxGroup>(r#"{"is": ["a", " "]}"#).unwrap_err();
        assert!(
            matches!(e, PluginError::InvalidConfig { ref path, .. } if path == "is[1]"),
            "{e:?}"
        );
        assert!(testing::validate_condition::<InboxGroup>(r#"{"is": "reklamacje"}"#).is_err());
        assert!(testing::validate_condition::<InboxGroup>(r#"{"are": ["reklamacje"]}"#).is_err());
        assert!(testing::validate_condition::<InboxGroup>(CONFIG).is_ok());
    }
}
