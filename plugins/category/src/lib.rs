//! `category` — the ticket's category is one of the listed categories. Compared ignoring case (Unicode-aware)
//! and runs of whitespace, so `Zwroty` and `zwroty` are the same category. A ticket without a
//! category does not match.

use ferrule_plugin_sdk::prelude::*;
use ferrule_plugin_sdk::text::fold;

/// `{"is": ["zwroty", "reklamacje"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Values that match; compared ignoring case.
    pub is: Vec<String>,
}

/// The condition.
pub struct Category;

impl Condition for Category {
    type Config = Config;
    const NAME: &'static str = "category";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The ticket's category is one of the listed categories.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.is_empty() {
            return Err(PluginError::invalid_config(
                "is",
                "list at least one category",
            ));
        }
        if let Some(i) = config.is.iter().position(|v| v.trim().is_empty()) {
            return Err(PluginError::invalid_config(
                format!("is[{i}]"),
                "an empty category matches nothing",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let Some(value) = ctx.ticket.category.as_deref() else {
            return Ok(false);
        };
        let value = fold(value);
        Ok(!value.is_empty() && config.is.iter().any(|v| fold(v) == value))
    }
}

export_condition!(Category);

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(config: &str, value: Option<&str>) -> bool {
        let mut ctx = testing::context();
        ctx.ticket.category = value.map(Into::into);
        testing::evaluate::<Category>(config, &ctx).unwrap()
    }

    const CONFIG: &str = r#"{"is": ["zwroty", "reklamacje"]}"#;

    #[test]
    fn matches_a_listed_value_ignoring_case() {
        assert!(eval(CONFIG, Some("Zwroty")));
        assert!(eval(CONFIG, Some("ZWROTY")));
        assert!(eval(r#"{"is": ["ZWROTY"]}"#, Some("Zwroty")));
    }

    #[test]
    fn other_values_do_not_match() {
        assert!(!eval(CONFIG, Some("zwroty towaru")));
        assert!(!eval(CONFIG, Some("")));
    }

    #[test]
    fn a_ticket_without_the_field_does_not_match() {
        assert!(!eval(CONFIG, None));
    }

    #[test]
    fn rejects_empty_lists_and_blank_values() {
        assert!(testing::validate_condition::<Category>(r#"{"is": []}"#).is_err());
        let e = testing::validate_condition::<Category>(r#"{"is": ["a", " "]}"#).unwrap_err();
        assert!(
            matches!(e, PluginError::InvalidConfig { ref path, .. } if path == "is[1]"),
            "{e:?}"
        );
        assert!(testing::validate_condition::<Category>(r#"{"is": "Zwroty"}"#).is_err());
        assert!(testing::validate_condition::<Category>(r#"{"are": ["Zwroty"]}"#).is_err());
        assert!(testing::validate_condition::<Category>(CONFIG).is_ok());
    }
}
