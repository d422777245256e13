//! `send-sms` — send a text message to a phone number, or to the ticket's customer. `body` is a
//! template with placeholders (`{{ticket.number}}`, `{{customer.name}}`, …), checked when the rule
//! is saved.
//!
//! `to` is a number in international form (`+48 600 100 200`: a `+`, then 7 to 15 digits, spaces
//! allowed; the effect carries it without spaces) or the word `customer`, meaning the customer's
//! phone on the ticket. A customer without a phone makes the action fail with a clear error.

use ferrule_plugin_sdk::prelude::*;

/// `{"to": "customer", "body": "Zgłoszenie #{{ticket.number}} przyjęte."}` or
/// `{"to": "+48 600 100 200", "body": "…"}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A phone number in international form (`+48600100200`), or `customer`.
    pub to: String,
    /// Message text; may use placeholders.
    pub body: String,
}

/// The value of `to` that means the customer's phone.
const CUSTOMER: &str = "customer";

/// The action.
pub struct SendSms;

/// `text` without spaces if it is a phone number in international form: `+` and 7 to 15
/// digits, spaces allowed between them.
fn phone_number(text: &str) -> Option<String> {
    let number: String = text.trim().chars().filter(|c| *c != ' ').collect();
    let digits = number.strip_prefix('+')?;
    let ok = (7..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit());
    ok.then_some(number)
}

fn is_customer(to: &str) -> bool {
    to.trim().eq_ignore_ascii_case(CUSTOMER)
}

impl Action for SendSms {
    type Config = Config;
    const NAME: &'static str = "send-sms";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "Send a text message with placeholders to a phone number or to the ticket's customer.";
    const CAPABILITIES: &'static [&'static str] = &["directory"];

    fn validate(config: &Config) -> Result<(), PluginError> {
        if !is_customer(&config.to) && phone_number(&config.to).is_none() {
            return Err(PluginError::invalid_config(
                "to",
                format!(
                    "`{}` is neither `customer` nor a phone number in international form \
                     (e.g. `+48 600 100 200`)",
                    config.to.trim()
                ),
            ));
        }
        if config.body.trim().is_empty() {
            return Err(PluginError::invalid_config("body", "the message is empty"));
        }
        Template::parse("body", &config.body)?;
        Ok(())
    }

    fn execute(config: &Config, ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        let to = if is_customer(&config.to) {
            let phone = ctx.ticket.customer.phone.as_deref().unwrap_or_default();
            let phone: String = phone.chars().filter(|c| !c.is_whitespace()).collect();
            if phone.is_empty() {
                return Err(PluginError::failed(format!(
                    "send-sms: the SMS goes to the customer, but the customer of ticket #{} has \
                     no phone number",
                    ctx.ticket.number
                )));
            }
            phone
        } else {
            phone_number(&config.to).ok_or_else(|| {
                PluginError::invalid_config("to", "not a phone number in international form")
            })?
        };
        Ok(vec![Effect::SendSms {
            to,
            body: Template::parse("body", &config.body)?.render(ctx),
        }])
    }
}

export_action!(SendSms);

#[cfg(test)]
mod tests {
    use super::*;

    fn config(to: &str) -> String {
        format!(r#"{{"to": "{to}", "body": "Zgłoszenie #{{{{ticket.number}}}} przyjęte."}}"#)
    }

    #[test]
    fn texts_a_fixed_number_without_its_spaces() {
        assert_eq!(
            testing::execute::<SendSms>(&config("+48 600 100 200"), &testing::context()).unwrap(),
            vec![Effect::SendSms {
                to: "+48600100200".into(),
                body: "Zgłoszenie #1042 przyjęte.".into(),
            }]
        );
    }

    #[test]
    fn texts_the_customers_phone() {
        let mut ctx = testing::context();
        ctx.ticket.customer.phone = Some("+48 601 000 111".into());
        assert!(matches!(
            &testing::execute::<SendSms>(&config("customer"), &ctx).unwrap()[..],
            [Effect::SendSms { to, .. }] if to == "+48601000111"
        ));
        assert!(matches!(
            &testing::execute::<SendSms>(&config(" Customer "), &ctx).unwrap()[..],
            [Effect::SendSms { to, .. }] if to == "+48601000111"
        ));
    }

    #[test]
    fn fails_clearly_when_the_customer_has_no_phone() {
        let mut ctx = testing::context();
        for phone in [None, Some(" ")] {
            ctx.ticket.customer.phone = phone.map(Into::into);
            let e = testing::execute::<SendSms>(&config("customer"), &ctx).unwrap_err();
            assert!(
                matches!(&e, PluginError::Failed { message } if message.contains("no phone number") && message.contains("#1042")),
                "{e:?}"
            );
        }
    }

    #[test]
    fn accepts_international_numbers_and_customer() {
        for ok in [
            "+48600100200",
            "+48 600 100 200",
            "+1 555 0100",
            "customer",
            "CUSTOMER",
        ] {
            assert!(
                testing::validate_action::<SendSms>(&config(ok)).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_a_phone_number() {
        for bad in [
            "",
            "600100200",
            "+48-600-100-200",
            "+48 600 abc",
            "+123",
            "+48 600 100 200 300 400",
            "customers",
            "{{customer.phone}}",
        ] {
            let e = testing::validate_action::<SendSms>(&config(bad)).unwrap_err();
            assert!(
                matches!(e, PluginError::InvalidConfig { ref path, .. } if path == "to"),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn the_body_must_be_a_non_empty_template() {
        let path = |c: &str| match testing::validate_action::<SendSms>(c) {
            Err(PluginError::InvalidConfig { path, .. }) => path,
            other => panic!("{c}: {other:?}"),
        };
        assert_eq!(path(r#"{"to": "customer", "body": " "}"#), "body");
        assert_eq!(
            path(r#"{"to": "customer", "body": "{{ticket.numer}}"}"#),
            "body"
        );
        assert!(testing::validate_action::<SendSms>(r#"{"to": "customer"}"#).is_err());
    }
}
