//! `send-email` — send an e-mail to an address other than the customer's in-ticket reply (a
//! warehouse, a manager, a shared mailbox). `to`, `subject` and `body` are templates with
//! placeholders (`{{ticket.number}}`, `{{customer.email}}`, …), checked when the rule is saved.
//!
//! `to` is an e-mail address (`magazyn@sklep.pl`), an address with placeholders inside
//! (`zwroty+{{ticket.number}}@sklep.pl`), or exactly one of the placeholders that hold an address:
//! `{{customer.email}}` or `{{agent.email}}`. When the rendered recipient is not an address at
//! run time (the customer has no e-mail, nobody is assigned), the action fails with a clear
//! error instead of sending.

use ferrule_plugin_sdk::prelude::*;

/// `{"to": "magazyn@sklep.pl", "subject": "Zwrot #{{ticket.number}}", "body": "Klient {{customer.name}} zwraca towar."}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Recipient: an address, or a template that renders to one.
    pub to: String,
    /// Subject; may use placeholders.
    pub subject: String,
    /// Body; may use placeholders.
    pub body: String,
}

/// The placeholders that hold a whole e-mail address.
const ADDRESS_PLACEHOLDERS: &[&str] = &["{{customer.email}}", "{{agent.email}}"];

/// The action.
pub struct SendEmail;

/// Whether `text` looks like one e-mail address: one `@`, a non-empty local part and a domain of
/// dot-separated labels, no spaces, commas or angle brackets.
fn is_address(text: &str) -> bool {
    let bad = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ',' | ';' | '<' | '>' | '"' | '(' | ')' | '[' | ']' | '\\'
            )
    };
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains(bad)
        && domain.contains('.')
        && !domain.contains(bad)
        && !domain.contains('@')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
}

impl Action for SendEmail {
    type Config = Config;
    const NAME: &'static str = "send-email";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "Send an e-mail with placeholders to an address (a colleague, a warehouse, a mailbox).";
    const CAPABILITIES: &'static [&'static str] = &["directory"];

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.to.trim().is_empty() {
            return Err(PluginError::invalid_config(
                "to",
                "give a recipient address",
            ));
        }
        let to = Template::parse("to", config.to.trim())?;
        let whole_placeholder = ADDRESS_PLACEHOLDERS
            .iter()
            .any(|p| Template::parse("to", p).is_ok_and(|t| t == to));
        // Anything else must render to an address; a sample ticket shows whether it does
        // (`{{customer.name}}@sklep.pl` does not: names have spaces).
        if !whole_placeholder {
            let sample = to.render(&testing::context());
            if !is_address(sample.trim()) {
                return Err(PluginError::invalid_config(
                    "to",
                    format!(
                        "`{}` is not an e-mail address (for a sample ticket it gives `{sample}`); \
                         write an address, or use {}",
                        config.to.trim(),
                        ADDRESS_PLACEHOLDERS.join(" or ")
                    ),
                ));
            }
        }
        if config.subject.trim().is_empty() {
            return Err(PluginError::invalid_config(
                "subject",
                "the subject is empty",
            ));
        }
        Template::parse("subject", &config.subject)?;
        if config.body.trim().is_empty() {
            return Err(PluginError::invalid_config("body", "the message is empty"));
        }
        Template::parse("body", &config.body)?;
        Ok(())
    }

    fn execute(config: &Config, ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        let to = Template::parse("to", config.to.trim())?
            .render(ctx)
            .trim()
            .to_owned();
        if !is_address(&to) {
            return Err(PluginError::failed(format!(
                "send-email: the recipient `{}` gives `{to}` for ticket #{}, which is not an \
                 e-mail address",
                config.to.trim(),
                ctx.ticket.number
            )));
        }
        Ok(vec![Effect::SendEmail {
            to,
            subject: Template::parse("subject", &config.subject)?.render(ctx),
            body: Template::parse("body", &config.body)?.render(ctx),
        }])
    }
}

export_action!(SendEmail);

#[cfg(test)]
mod tests {
    use super::*;

    fn config(to: &str) -> String {
        format!(
            r#"{{"to": "{to}", "subject": "Zwrot #{{{{ticket.number}}}}", "body": "Klient {{{{customer.name}}}} zwraca towar."}}"#
        )
    }

    fn invalid_path(config: &str) -> String {
        match testing::validate_action::<SendEmail>(config) {
            Err(PluginError::InvalidConfig { path, .. }) => path,
            other => panic!("{config}: expected an invalid config, got {other:?}"),
        }
    }

    #[test]
    fn sends_a_filled_in_e_mail_to_a_fixed_address() {
        let effects =
            testing::execute::<SendEmail>(&config("magazyn@sklep.pl"), &testing::context())
                .unwrap();
        assert_eq!(
            effects,
            vec![Effect::SendEmail {
                to: "magazyn@sklep.pl".into(),
                subject: "Zwrot #1042".into(),
                body: "Klient Jan Kowalski zwraca towar.".into(),
            }]
        );
    }

    #[test]
    fn the_recipient_may_be_a_template() {
        let ctx = testing::context();
        let to = |t: &str| match &testing::execute::<SendEmail>(&config(t), &ctx).unwrap()[..] {
            [Effect::SendEmail { to, .. }] => to.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(to("{{customer.email}}"), "jan.kowalski@example.pl");
        assert_eq!(
            to("zwroty+{{ticket.number}}@sklep.pl"),
            "zwroty+1042@sklep.pl"
        );
        for ok in [
            "{{customer.email}}",
            "{{ agent.email }}",
            "zwroty+{{ticket.number}}@sklep.pl",
            " magazyn@sklep.pl ",
        ] {
            assert!(
                testing::validate_action::<SendEmail>(&config(ok)).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn a_recipient_that_is_not_an_address_is_rejected_when_saving() {
        for bad in [
            "",
            "magazyn",
            "magazyn@sklep",
            "a@sklep.pl, b@sklep.pl",
            "{{customer.name}}",
            "{{customer.name}}@sklep.pl",
            "{{ticket.subject}}",
            "{{customer.emial}}",
        ] {
            assert_eq!(invalid_path(&config(bad)), "to", "{bad}");
        }
    }

    #[test]
    fn placeholders_in_subject_and_body_are_checked_and_neither_may_be_empty() {
        let base = r#""to": "a@sklep.pl""#;
        let c = |rest: &str| format!("{{{base}, {rest}}}");
        assert_eq!(
            invalid_path(&c(r#""subject": "{{ticket.nr}}", "body": "x""#)),
            "subject"
        );
        assert_eq!(
            invalid_path(&c(r#""subject": "x", "body": "{{agent.nam}}""#)),
            "body"
        );
        assert_eq!(
            invalid_path(&c(r#""subject": " ", "body": "x""#)),
            "subject"
        );
        assert_eq!(invalid_path(&c(r#""subject": "x", "body": """#)), "body");
        assert!(testing::validate_action::<SendEmail>(&c(r#""subject": "x""#)).is_err());
        assert!(
            testing::validate_action::<SendEmail>(&c(r#""subject": "x", "body": "y", "cc": "z""#))
                .is_err()
        );
    }

    #[test]
    fn fails_clearly_when_the_customer_has_no_e_mail() {
        let mut ctx = testing::context();
        ctx.ticket.customer.email = None;
        let e = testing::execute::<SendEmail>(&config("{{customer.email}}"), &ctx).unwrap_err();
        assert!(
            matches!(&e, PluginError::Failed { message } if message.contains("not an e-mail address") && message.contains("#1042")),
            "{e:?}"
        );
    }

    #[test]
    fn agent_email_comes_from_the_directory() {
        let mut ctx = testing::context();
        ctx.ticket.assignee = Some("a1".into());
        testing::Directory::new()
            .agent("a1", "Anna Nowak")
            .install();
        // The fixture directory has no e-mail for Anna: a clear failure, not an empty recipient.
        assert!(testing::execute::<SendEmail>(&config("{{agent.email}}"), &ctx).is_err());
    }
}
