//! `ai-reply` — reply to the customer with a text written by a language model, through any
//! OpenAI-compatible chat-completions service (`POST {endpoint}/v1/chat/completions`). The prompt
//! carries the configured instructions, the ticket's subject and the latest customer message.

use ferrule_plugin_sdk::http;
use ferrule_plugin_sdk::prelude::*;
use ferrule_plugin_sdk::types::Author;
use serde_json::json;

/// `{"endpoint": "https://api.openai.com", "model": "gpt-4o-mini",
/// "instructions": "You are the support team of a Polish shop…", "api_key": "…"}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Base URL of the service (without `/v1/...`); its host must be granted.
    pub endpoint: String,
    /// Model name.
    pub model: String,
    /// System instructions: tone, policies, language, signature.
    pub instructions: String,
    /// API key (sent as a bearer token), if the service needs one. Write-only: the host seals
    /// it when the rule is saved and hands it back as the secret `api_key` (the installation's
    /// secret `api_key` is used when the rule has none).
    #[serde(default)]
    #[schemars(extend("writeOnly" = true))]
    pub api_key: Option<String>,
    /// Upper bound on the reply's length in tokens.
    #[serde(default)]
    pub max_tokens: Option<u32>,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChatMessage,
}

#[derive(Deserialize)]
struct ChatMessage {
    content: Option<String>,
}

/// The action.
pub struct AiReply;

/// The user turn of the prompt: the ticket's subject and the latest customer message.
pub fn prompt(ctx: &Context) -> String {
    let message = ctx
        .latest_message
        .as_ref()
        .filter(|m| m.author == Author::Customer)
        .map(|m| m.body.as_str())
        .unwrap_or("(no message from the customer)");
    format!(
        "Ticket #{number}\nSubject: {subject}\nCustomer: {customer}\n\nLatest customer message:\n{message}",
        number = ctx.ticket.number,
        subject = ctx.ticket.subject,
        customer = ctx.ticket.customer.name,
    )
}

impl Action for AiReply {
    type Config = Config;
    const NAME: &'static str = "ai-reply";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "Reply to the customer with a text written by an OpenAI-compatible language model.";
    const CAPABILITIES: &'static [&'static str] = &["http"];

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.model.trim().is_empty() {
            return Err(PluginError::invalid_config("model", "name a model"));
        }
        if config.instructions.trim().is_empty() {
            return Err(PluginError::invalid_config(
                "instructions",
                "say how the reply should be written",
            ));
        }
        http::parse_url_checked(&config.endpoint, "endpoint")
    }

    fn execute(config: &Config, ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        let mut request = json!({
            "model": config.model,
            "messages": [
                {"role": "system", "content": config.instructions},
                {"role": "user", "content": prompt(ctx)},
            ],
        });
        if let Some(max) = config.max_tokens {
            request["max_tokens"] = json!(max);
        }
        let key = config
            .api_key
            .clone()
            .or_else(|| ferrule_plugin_sdk::secrets::get("api_key"));
        let auth = key.map(|k| format!("Bearer {k}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let url = format!(
            "{}/v1/chat/completions",
            config.endpoint.trim_end_matches('/')
        );
        let completion: Completion = http::post_json(&url, &headers, &request)?.json()?;
        let text = completion
            .choices
            .into_iter()
            .find_map(|c| c.message.content)
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| PluginError::unavailable("the model returned no text"))?;
        Ok(vec![Effect::Reply {
            body: text,
            subject: None,
            language: None,
        }])
    }
}

export_action!(AiReply);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_carries_subject_and_latest_customer_message() {
        let ctx = testing::context();
        let p = prompt(&ctx);
        assert!(p.contains("Zamówienie 1042 nie dotarło"), "{p}");
        assert!(p.contains("paczka z zamówienia 1042 nie dotarła"), "{p}");
    }

    #[test]
    fn rejects_missing_model_instructions_and_bad_endpoints() {
        let v = |c: &str| testing::validate_action::<AiReply>(c);
        assert!(v(r#"{"endpoint": "http://a", "model": "", "instructions": "x"}"#).is_err());
        assert!(v(r#"{"endpoint": "http://a", "model": "m", "instructions": " "}"#).is_err());
        assert!(v(r#"{"endpoint": "a.b", "model": "m", "instructions": "x"}"#).is_err());
        assert!(v(r#"{"endpoint": "http://a", "model": "m", "instructions": "x"}"#).is_ok());
    }
}
