//! `integration` — the ticket came through one of the listed connected accounts of its channel (the `account`
//! field: an Allegro login, a mailbox, a chat widget, …), on any source. Compared ignoring case.
//! A ticket without an account does not match.

use ferrule_plugin_sdk::prelude::*;
use ferrule_plugin_sdk::text::fold;

/// `{"is": ["sklep_kowalski", "bok@sklep.pl"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Values that match; compared ignoring case.
    pub is: Vec<String>,
}

/// The condition.
pub struct Integration;

impl Condition for Integration {
    type Config = Config;
    const NAME: &'static str = "integration";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "The ticket came through one of the listed connected accounts, on any channel.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.is_empty() {
            return Err(PluginError::invalid_config(
                "is",
                "list at least one connected account",
            ));
        }
        if let Some(i) = config.is.iter().position(|v| v.trim().is_empty()) {
            return Err(PluginError::invalid_config(
                format!("is[{i}]"),
                "an empty connected account matches nothing",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let Some(value) = ctx.ticket.account.as_deref() else {
            return Ok(false);
        };
        let value = fold(value);
        Ok(!value.is_empty() && config.is.iter().any(|v| fold(v) == value))
    }
}

export_condition!(Integration);

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(config: &str, value: Option<&str>) -> bool {
        let mut ctx = testing::context();
        ctx.ticket.account = value.map(Into::into);
        testing::evaluate::<Integration>(config, &ctx).unwrap()
    }

    const CONFIG: &str = r#"{"is": ["sklep_kowalski", "bok@sklep.pl"]}"#;

    #[test]
    fn matches_a_listed_value_ignoring_case() {
        assert!(eval(CONFIG, Some("sklep_kowalski")));
        assert!(eval(CONFIG, Some("SKLEP_Kowalski")));
        assert!(eval(
            r#"{"is": ["SKLEP_Kowalski"]}"#,
            Some("sklep_kowalski")
        ));
    }

    #[test]
    fn other_values_do_not_match() {
        assert!(!eval(CONFIG, Some("outlet_nowak")));
        assert!(!eval(CONFIG, Some("")));
    }

    #[test]
    fn a_ticket_without_the_field_does_not_match() {
        assert!(!eval(CONFIG, None));
    }

    #[test]
    fn rejects_empty_lists_and_blank_values() {
        assert!(testing::validate_condition::<Integration>(r#"{"is": []}"#).is_err());
        let e = testing::validate_condition::<Integration>(r#"{"is": ["a", " "]}"#).unwrap_err();
        assert!(
            matches!(e, PluginError::InvalidConfig { ref path, .. } if path == "is[1]"),
            "{e:?}"
        );
        assert!(testing::validate_condition::<Integration>(r#"{"is": "sklep_kowalski"}"#).is_err());
        assert!(
            testing::validate_condition::<Integration>(r#"{"are": ["sklep_kowalski"]}"#).is_err()
        );
        assert!(testing::validate_condition::<Integration>(CONFIG).is_ok());
    }
}
