//! `sender-email` — the customer's e-mail address is one of the listed addresses, or is in one of
//! the listed domains (`*@domain`). Compared ignoring case. A customer without an e-mail address
//! does not match.
//!
//! `*@example.pl` matches `jan@example.pl` but not `jan@shop.example.pl`: list subdomains
//! separately.

use ferrule_plugin_sdk::prelude::*;

/// `{"is": ["jan.kowalski@example.pl", "*@allegromail.pl"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Addresses (`name@domain`) or whole domains (`*@domain`).
    pub is: Vec<String>,
}

/// The condition.
pub struct SenderEmail;

/// Whether `text` looks like an e-mail address: one `@`, a non-empty local part and a domain of
/// dot-separated labels, no spaces, commas or angle brackets.
fn is_address(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !local.contains(bad) && is_domain(domain),
        None => false,
    }
}

fn is_domain(text: &str) -> bool {
    text.contains('.')
        && !text.contains(bad)
        && !text.contains('@')
        && text
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
}

fn bad(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            ',' | ';' | '<' | '>' | '"' | '(' | ')' | '[' | ']' | '\\'
        )
}

impl Condition for SenderEmail {
    type Config = Config;
    const NAME: &'static str = "sender-email";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "The customer's e-mail is one of the listed addresses or in one of the listed domains.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.is_empty() {
            return Err(PluginError::invalid_config(
                "is",
                "list at least one address or `*@domain`",
            ));
        }
        for (i, entry) in config.is.iter().enumerate() {
            let entry = entry.trim();
            let ok = match entry.strip_prefix("*@") {
                Some(domain) => is_domain(domain),
                None => is_address(entry),
            };
            if !ok {
                return Err(PluginError::invalid_config(
                    format!("is[{i}]"),
                    format!(
                        "`{entry}` is neither an e-mail address (`name@example.pl`) nor a domain \
                         written as `*@example.pl`"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let Some(email) = ctx.ticket.customer.email.as_deref() else {
            return Ok(false);
        };
        let email = email.trim().to_lowercase();
        if email.is_empty() {
            return Ok(false);
        }
        Ok(config.is.iter().any(|entry| {
            let entry = entry.trim().to_lowercase();
            match entry.strip_prefix('*') {
                // `entry` is `@domain` here.
                Some(at_domain) => email.ends_with(at_domain) && email.len() > at_domain.len(),
                None => email == entry,
            }
        }))
    }
}

export_condition!(SenderEmail);

#[cfg(test)]
mod tests {
    use super::*;

    fn from(email: Option<&str>) -> Context {
        let mut ctx = testing::context();
        ctx.ticket.customer.email = email.map(Into::into);
        ctx
    }

    fn eval(config: &str, email: Option<&str>) -> bool {
        testing::evaluate::<SenderEmail>(config, &from(email)).unwrap()
    }

    #[test]
    fn matches_a_listed_address_ignoring_case() {
        let config = r#"{"is": ["Jan.Kowalski@Example.pl", "anna@example.pl"]}"#;
        assert!(eval(config, Some("jan.kowalski@example.pl")));
        assert!(eval(config, Some("ANNA@EXAMPLE.PL")));
        assert!(!eval(config, Some("piotr@example.pl")));
    }

    #[test]
    fn a_domain_matches_every_address_in_it_but_not_subdomains() {
        let config = r#"{"is": ["*@allegromail.pl"]}"#;
        assert!(eval(config, Some("xyz123@allegromail.pl")));
        assert!(eval(config, Some("XYZ@AllegroMail.PL")));
        assert!(!eval(config, Some("xyz@notallegromail.pl")));
        assert!(!eval(config, Some("xyz@sub.allegromail.pl")));
        assert!(!eval(config, Some("allegromail.pl")));
    }

    #[test]
    fn no_e_mail_does_not_match() {
        assert!(!eval(r#"{"is": ["*@example.pl"]}"#, None));
        assert!(!eval(r#"{"is": ["*@example.pl"]}"#, Some("  ")));
    }

    #[test]
    fn rejects_entries_that_are_neither_addresses_nor_domains() {
        for bad in [
            r#"{"is": []}"#,
            r#"{"is": [""]}"#,
            r#"{"is": ["example.pl"]}"#,
            r#"{"is": ["@example.pl"]}"#,
            r#"{"is": ["*example.pl"]}"#,
            r#"{"is": ["*@"]}"#,
            r#"{"is": ["*@localhost"]}"#,
            r#"{"is": ["jan@"]}"#,
            r#"{"is": ["jan kowalski@example.pl"]}"#,
            r#"{"is": ["a@b@example.pl"]}"#,
            r#"{"is": ["a@example..pl"]}"#,
            r#"{"is": "jan@example.pl"}"#,
        ] {
            assert!(
                testing::validate_condition::<SenderEmail>(bad).is_err(),
                "{bad}"
            );
        }
        let e = testing::validate_condition::<SenderEmail>(r#"{"is": ["a@example.pl", "oops"]}"#)
            .unwrap_err();
        assert!(
            matches!(e, PluginError::InvalidConfig { ref path, ref message } if path == "is[1]" && message.contains("oops")),
            "{e:?}"
        );
        assert!(
            testing::validate_condition::<SenderEmail>(
                r#"{"is": [" jan.kowalski+zwroty@example.pl ", "*@sklep.example.pl"]}"#
            )
            .is_ok()
        );
    }
}
