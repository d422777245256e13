//! `send-translated-message` — reply to the customer with a fixed text translated into a chosen
//! language by a LibreTranslate-compatible service (`POST {endpoint}/translate`
//! `{q, source, target}` → `{translatedText}`).

use ferrule_plugin_sdk::http;
use ferrule_plugin_sdk::prelude::*;
use serde_json::json;

/// `{"body": "Dziękujemy za wiadomość, {{customer.name}}.", "language": "de",
/// "endpoint": "https://translate.example.com", "api_key": "…"}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Message text; may use placeholders, filled in before translation.
    pub body: String,
    /// Target language code (e.g. `de`, `en`, `uk`).
    pub language: String,
    /// Base URL of the LibreTranslate-compatible service; its host must be granted.
    pub endpoint: String,
    /// API key, if the service needs one. Write-only: the host seals it when the rule is saved
    /// and hands it back as the secret `api_key` (the installation's secret `api_key` is used
    /// when the rule has none).
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub api_key: Option<String>,
    /// Language of `body` (default: detected by the service).
    #[serde(default)]
    pub source_language: Option<String>,
}

/// The LibreTranslate response.
#[derive(Deserialize)]
struct Translation {
    #[serde(rename = "translatedText")]
    translated_text: String,
}

/// The action.
pub struct SendTranslatedMessage;

impl Action for SendTranslatedMessage {
    type Config = Config;
    const NAME: &'static str = "send-translated-message";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "Reply to the customer with a text translated into a chosen language (LibreTranslate).";
    const CAPABILITIES: &'static [&'static str] = &["http", "directory"];

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.body.trim().is_empty() {
            return Err(PluginError::invalid_config("body", "the message is empty"));
        }
        Template::parse("body", &config.body)?;
        let lang = config.language.trim();
        if lang.is_empty()
            || lang.len() > 12
            || !lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(PluginError::invalid_config(
                "language",
                format!("`{lang}` is not a language code like `de`"),
            ));
        }
        http::parse_url_checked(&config.endpoint, "endpoint")
    }

    fn execute(config: &Config, ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        let text = Template::parse("body", &config.body)?.render(ctx);
        let mut request = json!({
            "q": text,
            "source": config.source_language.as_deref().unwrap_or("auto"),
            "target": config.language.trim(),
            "format": "text",
        });
        let key = config
            .api_key
            .clone()
            .or_else(|| ferrule_plugin_sdk::secrets::get("api_key"));
        if let Some(key) = key {
            request["api_key"] = json!(key);
        }
        let url = format!("{}/translate", config.endpoint.trim_end_matches('/'));
        let translation: Translation = http::post_json(&url, &[], &request)?.json()?;
        Ok(vec![Effect::Reply {
            body: translation.translated_text,
            subject: None,
            language: Some(config.language.trim().to_owned()),
        }])
    }
}

export_action!(SendTranslatedMessage);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_language_and_endpoint() {
        let bad_lang =
            r#"{"body": "Hi", "language": "de de", "endpoint": "http://127.0.0.1:5000"}"#;
        assert!(testing::validate_action::<SendTranslatedMessage>(bad_lang).is_err());
        let bad_url = r#"{"body": "Hi", "language": "de", "endpoint": "translate.local"}"#;
        let e = testing::validate_action::<SendTranslatedMessage>(bad_url).unwrap_err();
        assert!(e.to_string().contains("endpoint"), "{e}");
        let bad_placeholder =
            r#"{"body": "Hi {{client.name}}", "language": "de", "endpoint": "http://a"}"#;
        assert!(testing::validate_action::<SendTranslatedMessage>(bad_placeholder).is_err());
        let good = r#"{"body": "Hi {{customer.name}}", "language": "de", "endpoint": "http://127.0.0.1:5000"}"#;
        assert!(testing::validate_action::<SendTranslatedMessage>(good).is_ok());
    }

    #[test]
    fn an_unreachable_service_is_an_unavailable_error() {
        // Port 9 (discard) on loopback is closed here: the connection is refused.
        let config = r#"{"body": "Hi", "language": "de", "endpoint": "http://127.0.0.1:9"}"#;
        let e = testing::execute::<SendTranslatedMessage>(config, &testing::context()).unwrap_err();
        assert!(matches!(e, PluginError::Unavailable { .. }), "{e:?}");
    }
}
