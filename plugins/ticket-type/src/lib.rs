//! `ticket-type` — the ticket's type is one of the listed types (e.g. `return`, `complaint`). Compared
//! ignoring case (Unicode-aware). A ticket without a type does not match.

use ferrule_plugin_sdk::prelude::*;
use ferrule_plugin_sdk::text::fold;

/// `{"is": ["return", "complaint"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Values that match; compared ignoring case.
    pub is: Vec<String>,
}

/// The condition.
pub struct TicketType;

impl Condition for TicketType {
    type Config = Config;
    const NAME: &'static str = "ticket-type";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The ticket's type is one of the listed types.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.is_empty() {
            return Err(PluginError::invalid_config(
                "is",
                "list at least one ticket type",
            ));
        }
        if let Some(i) = config.is.iter().position(|v| v.trim().is_empty()) {
            return Err(PluginError::invalid_config(
                format!("is[{i}]"),
                "an empty ticket type matches nothing",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let Some(value) = ctx.ticket.ticket_type.as_deref() else {
            return Ok(false);
        };
        let value = fold(value);
        Ok(!value.is_empty() && config.is.iter().any(|v| fold(v) == value))
    }
}

export_condition!(TicketType);

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(config: &str, value: Option<&str>) -> bool {
        let mut ctx = testing::context();
        ctx.ticket.ticket_type = value.map(Into::into);
        testing::evaluate::<TicketType>(config, &ctx).unwrap()
    }

    const CONFIG: &str = r#"{"is": ["return", "complaint"]}"#;

    #[test]
    fn matches_a_listed_value_ignoring_case() {
        assert!(eval(CONFIG, Some("return")));
        assert!(eval(CONFIG, Some("RETURN")));
        assert!(eval(r#"{"is": ["RETURN"]}"#, Some("return")));
    }

    #[test]
    fn other_values_do_not_match() {
        assert!(!eval(CONFIG, Some("question")));
        assert!(!eval(CONFIG, Some("")));
    }

    #[test]
    fn a_ticket_without_the_field_does_not_match() {
        assert!(!eval(CONFIG, None));
    }

    #[test]
    fn rejects_empty_lists_and_blank_values() {
        assert!(testing::validate_condition::<TicketType>(r#"{"is": []}"#).is_err());
        let e = testing::validate_condition::<TicketType>(r#"{"is": ["a", " "]}"#).unwrap_err();
        assert!(
            matches!(e, PluginError::InvalidConfig { ref path, .. } if path == "is[1]"),
            "{e:?}"
        );
        assert!(testing::validate_condition::<TicketType>(r#"{"is": "return"}"#).is_err());
        assert!(testing::validate_condition::<TicketType>(r#"{"are": ["return"]}"#).is_err());
        assert!(testing::validate_condition::<TicketType>(CONFIG).is_ok());
    }
}
