//! `message-contains` — the ticket's latest message (whoever wrote it) contains any (or all) of the
//! phrases, ignoring case and runs of whitespace, in any script (Polish, Russian, …). A ticket
//! without messages does not match.

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

/// `{"phrases": ["uszkodzon", "повреждён"], "match": "any"}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Phrases to look for in the latest message; case and runs of whitespace are ignored.
    pub phrases: Vec<String>,
    /// `any` (default) or `all`.
    #[serde(default, rename = "match")]
    pub mode: Match,
}

/// The condition.
pub struct MessageContains;

impl Condition for MessageContains {
    type Config = Config;
    const NAME: &'static str = "message-contains";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "The ticket's latest message contains any (or all) of the phrases.";

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
        let Some(message) = &ctx.latest_message else {
            return Ok(false);
        };
        let phrases = Phrases::new(&config.phrases);
        Ok(match config.mode {
            Match::Any => phrases.any_in(&message.body),
            Match::All => phrases.all_in(&message.body),
        })
    }
}

export_condition!(MessageContains);

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Context {
        let mut ctx = testing::context();
        if let Some(m) = ctx.latest_message.as_mut() {
            m.body = body.into();
        }
        ctx
    }

    fn eval(config: &str, body: &str) -> bool {
        testing::evaluate::<MessageContains>(config, &message(body)).unwrap()
    }

    #[test]
    fn finds_polish_and_russian_phrases_ignoring_case() {
        assert!(eval(
            r#"{"phrases": ["paczka jest USZKODZONA"]}"#,
            "Dzień dobry, PACZKA JEST\n uszkodzona."
        ));
        assert!(eval(r#"{"phrases": ["возврат"]}"#, "Хочу ВОЗВРАТ товара"));
        assert!(!eval(
            r#"{"phrases": ["reklamacja"]}"#,
            "Gdzie jest paczka?"
        ));
    }

    #[test]
    fn looks_at_the_message_body_not_the_subject() {
        let mut ctx = message("Proszę o fakturę");
        ctx.ticket.subject = "Zwrot".into();
        assert!(!testing::evaluate::<MessageContains>(r#"{"phrases": ["zwrot"]}"#, &ctx).unwrap());
        assert!(testing::evaluate::<MessageContains>(r#"{"phrases": ["faktur"]}"#, &ctx).unwrap());
    }

    #[test]
    fn any_needs_one_phrase_and_all_needs_every_phrase() {
        let any = r#"{"phrases": ["zwrot", "faktura"]}"#;
        let all = r#"{"phrases": ["zwrot", "faktura"], "match": "all"}"#;
        assert!(eval(any, "Zwrot pieniędzy"));
        assert!(!eval(all, "Zwrot pieniędzy"));
        assert!(eval(all, "Faktura i zwrot"));
    }

    #[test]
    fn a_ticket_without_messages_does_not_match() {
        let mut ctx = testing::context();
        ctx.latest_message = None;
        assert!(!testing::evaluate::<MessageContains>(r#"{"phrases": ["a"]}"#, &ctx).unwrap());
    }

    #[test]
    fn rejects_empty_phrases_and_unknown_modes() {
        let e = testing::validate_condition::<MessageContains>(r#"{"phrases": [" ", ""]}"#)
            .unwrap_err();
        assert!(matches!(e, PluginError::InvalidConfig { ref path, .. } if path == "phrases"));
        let e = testing::validate_condition::<MessageContains>(
            r#"{"phrases": ["a"], "match": "most"}"#,
        )
        .unwrap_err();
        assert!(matches!(e, PluginError::InvalidConfig { ref path, .. } if path == "match"));
        assert!(testing::validate_condition::<MessageContains>(r#"{"phrase": ["a"]}"#).is_err());
        assert!(testing::validate_condition::<MessageContains>(r#"{"phrases": ["a"]}"#).is_ok());
    }
}
