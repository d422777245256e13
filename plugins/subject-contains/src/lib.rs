//! `subject-contains` — the ticket's subject contains any (or all) of the phrases, ignoring case,
//! in any script (Polish, Russian, …).

use ferrule_plugin_sdk::prelude::*;
use ferrule_plugin_sdk::text::Phrases;

/// Whether one phrase or every phrase must occur.
#[derive(Debug, Default, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Match {
    /// At least one phrase.
    #[default]
    Any,
    /// Every phrase.
    All,
}

/// `{"phrases": ["zwrot", "возврат"], "match": "any"}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Phrases to look for; case and runs of whitespace are ignored.
    pub phrases: Vec<String>,
    /// `any` (default) or `all`.
    #[serde(default, rename = "match")]
    pub mode: Match,
}

/// The condition.
pub struct SubjectContains;

impl Condition for SubjectContains {
    type Config = Config;
    const NAME: &'static str = "subject-contains";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The ticket's subject contains any (or all) of the phrases.";

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
        let phrases = Phrases::new(&config.phrases);
        Ok(match config.mode {
            Match::Any => phrases.any_in(&ctx.ticket.subject),
            Match::All => phrases.all_in(&ctx.ticket.subject),
        })
    }
}

export_condition!(SubjectContains);

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(s: &str) -> Context {
        let mut ctx = testing::context();
        ctx.ticket.subject = s.into();
        ctx
    }

    fn eval(config: &str, s: &str) -> bool {
        testing::evaluate::<SubjectContains>(config, &subject(s)).unwrap()
    }

    #[test]
    fn finds_polish_phrases_in_upper_case_subjects() {
        assert!(eval(r#"{"phrases": ["zwrot"]}"#, "ZWROT ZAMÓWIENIA 1042"));
        assert!(eval(
            r#"{"phrases": ["żółta kurtka"]}"#,
            "Reklamacja: ŻÓŁTA KURTKA"
        ));
    }

    #[test]
    fn finds_russian_phrases_in_upper_case_subjects() {
        assert!(eval(r#"{"phrases": ["возврат"]}"#, "ВОЗВРАТ ТОВАРА"));
        assert!(!eval(r#"{"phrases": ["возврат"]}"#, "Доставка"));
    }

    #[test]
    fn any_needs_one_phrase_and_all_needs_every_phrase() {
        let any = r#"{"phrases": ["zwrot", "reklamacja"], "match": "any"}"#;
        let all = r#"{"phrases": ["zwrot", "reklamacja"], "match": "all"}"#;
        assert!(eval(any, "Zwrot towaru"));
        assert!(!eval(all, "Zwrot towaru"));
        assert!(eval(all, "Reklamacja i zwrot"));
    }

    #[test]
    fn rejects_bad_configs_with_the_wrong_key() {
        let e = testing::validate_condition::<SubjectContains>(r#"{"phrases": []}"#).unwrap_err();
        assert!(e.to_string().contains("phrases"), "{e}");
        let e = testing::validate_condition::<SubjectContains>(
            r#"{"phrases": ["a"], "match": "some"}"#,
        )
        .unwrap_err();
        let PluginError::InvalidConfig { path, .. } = e else {
            panic!()
        };
        assert_eq!(path, "match");
    }
}
