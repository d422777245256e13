//! `customer-name-contains` — the customer's display name contains any of the phrases, ignoring
//! case and runs of whitespace, in any script (Polish, Russian, …).

use ferrule_plugin_sdk::prelude::*;
use ferrule_plugin_sdk::text::Phrases;

/// `{"phrases": ["sp. z o.o.", "ООО"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Phrases to look for in the customer's name; any one is enough.
    pub phrases: Vec<String>,
}

/// The condition.
pub struct CustomerNameContains;

impl Condition for CustomerNameContains {
    type Config = Config;
    const NAME: &'static str = "customer-name-contains";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The customer's name contains any of the phrases.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.phrases.iter().all(|p| p.trim().is_empty()) {
            return Err(PluginError::invalid_config(
                "phrases",
                "list at least one non-empty phrase",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        Ok(Phrases::new(&config.phrases).any_in(&ctx.ticket.customer.name))
    }
}

export_condition!(CustomerNameContains);

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(config: &str, name: &str) -> bool {
        let mut ctx = testing::context();
        ctx.ticket.customer.name = name.into();
        testing::evaluate::<CustomerNameContains>(config, &ctx).unwrap()
    }

    #[test]
    fn finds_any_phrase_ignoring_case() {
        let config = r#"{"phrases": ["SP. Z O.O.", "ооо"]}"#;
        assert!(eval(config, "Hurtownia Żak sp. z o.o."));
        assert!(eval(config, "ООО «Ромашка»"));
        assert!(!eval(config, "Jan Kowalski"));
    }

    #[test]
    fn polish_letters_fold_to_lower_case() {
        assert!(eval(r#"{"phrases": ["łukasz żółć"]}"#, "ŁUKASZ  ŻÓŁĆ"));
        assert!(!eval(r#"{"phrases": ["lukasz"]}"#, "Łukasz"));
    }

    #[test]
    fn an_empty_name_matches_nothing() {
        assert!(!eval(r#"{"phrases": ["jan"]}"#, ""));
    }

    #[test]
    fn rejects_empty_phrase_lists_and_unknown_keys() {
        assert!(testing::validate_condition::<CustomerNameContains>(r#"{"phrases": []}"#).is_err());
        assert!(
            testing::validate_condition::<CustomerNameContains>(r#"{"phrases": ["  "]}"#).is_err()
        );
        assert!(
            testing::validate_condition::<CustomerNameContains>(
                r#"{"phrases": ["a"], "match": "all"}"#
            )
            .is_err(),
            "only `any` is offered"
        );
        assert!(
            testing::validate_condition::<CustomerNameContains>(r#"{"phrases": ["a"]}"#).is_ok()
        );
    }
}
