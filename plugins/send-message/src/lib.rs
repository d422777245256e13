//! `send-message` — reply to the ticket's customer inside the ticket with a fixed text whose
//! placeholders (`{{ticket.number}}`, `{{customer.name}}`, …) are filled in.

use ferrule_plugin_sdk::prelude::*;

/// `{"body": "Dzień dobry {{customer.name}}, …", "subject": "Re: {{ticket.subject}}"}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Message text; may use placeholders.
    pub body: String,
    /// Subject for channels that have one; may use placeholders.
    #[serde(default)]
    pub subject: Option<String>,
}

/// The action.
pub struct SendMessage;

impl Action for SendMessage {
    type Config = Config;
    const NAME: &'static str = "send-message";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Reply to the ticket's customer with a text with placeholders.";
    const CAPABILITIES: &'static [&'static str] = &["directory"];

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.body.trim().is_empty() {
            return Err(PluginError::invalid_config("body", "the message is empty"));
        }
        Template::parse("body", &config.body)?;
        if let Some(subject) = &config.subject {
            Template::parse("subject", subject)?;
        }
        Ok(())
    }

    fn execute(config: &Config, ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        let body = Template::parse("body", &config.body)?.render(ctx);
        let subject = match &config.subject {
            Some(s) => Some(Template::parse("subject", s)?.render(ctx)),
            None => None,
        };
        Ok(vec![Effect::Reply {
            body,
            subject,
            language: None,
        }])
    }
}

export_action!(SendMessage);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders() {
        let config = r#"{"body": "Dzień dobry {{customer.name}}, przyjęliśmy zgłoszenie #{{ticket.number}}.",
                         "subject": "Re: {{ticket.subject}}"}"#;
        let effects = testing::execute::<SendMessage>(config, &testing::context()).unwrap();
        assert_eq!(
            effects,
            vec![Effect::Reply {
                body: "Dzień dobry Jan Kowalski, przyjęliśmy zgłoszenie #1042.".into(),
                subject: Some("Re: Zamówienie 1042 nie dotarło".into()),
                language: None,
            }]
        );
    }

    #[test]
    fn an_unknown_placeholder_is_a_config_error_naming_the_field() {
        let e = testing::validate_action::<SendMessage>(
            r#"{"body": "Hi", "subject": "{{ticket.nmber}}"}"#,
        )
        .unwrap_err();
        let PluginError::InvalidConfig { path, message } = e else {
            panic!()
        };
        assert_eq!(path, "subject");
        assert!(message.contains("ticket.nmber"));
    }

    #[test]
    fn an_empty_body_is_a_config_error() {
        assert!(testing::validate_action::<SendMessage>(r#"{"body": "  "}"#).is_err());
    }
}
