//! `inbox` — the ticket is in one of the listed inboxes (queues), by inbox id. A ticket in no
//! inbox does not match.

use ferrule_plugin_sdk::prelude::*;

/// `{"is": ["3", "7"]}` — inbox ids as the API shows them; numbers (`[3, 7]`) are accepted too.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Inbox ids.
    #[schemars(with = "Vec<String>")]
    pub is: Vec<Id>,
}

/// An id written as a string or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Id {
    /// `"3"`.
    Text(String),
    /// `3`.
    Number(u64),
}

impl Id {
    fn text(&self) -> String {
        match self {
            Id::Text(t) => t.trim().to_owned(),
            Id::Number(n) => n.to_string(),
        }
    }
}

/// The condition.
pub struct Inbox;

impl Condition for Inbox {
    type Config = Config;
    const NAME: &'static str = "inbox";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The ticket is in one of the listed inboxes.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.is_empty() {
            return Err(PluginError::invalid_config(
                "is",
                "list at least one inbox id",
            ));
        }
        if let Some(i) = config.is.iter().position(|id| id.text().is_empty()) {
            return Err(PluginError::invalid_config(
                format!("is[{i}]"),
                "an inbox id is empty",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let Some(inbox) = ctx.ticket.inbox.as_deref() else {
            return Ok(false);
        };
        Ok(config.is.iter().any(|id| id.text() == inbox.trim()))
    }
}

export_condition!(Inbox);

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(config: &str, inbox: Option<&str>) -> bool {
        let mut ctx = testing::context();
        ctx.ticket.inbox = inbox.map(Into::into);
        testing::evaluate::<Inbox>(config, &ctx).unwrap()
    }

    #[test]
    fn matches_listed_inboxes_by_id() {
        assert!(eval(r#"{"is": ["3", "7"]}"#, Some("7")));
        assert!(!eval(r#"{"is": ["3", "7"]}"#, Some("4")));
        assert!(!eval(r#"{"is": ["3"]}"#, Some("33")), "ids are whole");
    }

    #[test]
    fn numbers_are_ids_too() {
        assert!(eval(r#"{"is": [3]}"#, Some("3")));
        assert!(eval(r#"{"is": [" 3 "]}"#, Some("3")));
    }

    #[test]
    fn a_ticket_in_no_inbox_does_not_match() {
        assert!(!eval(r#"{"is": ["3"]}"#, None));
    }

    #[test]
    fn rejects_empty_lists_and_blank_ids() {
        assert!(testing::validate_condition::<Inbox>(r#"{"is": []}"#).is_err());
        let e = testing::validate_condition::<Inbox>(r#"{"is": ["3", " "]}"#).unwrap_err();
        assert!(matches!(e, PluginError::InvalidConfig { ref path, .. } if path == "is[1]"));
        assert!(testing::validate_condition::<Inbox>(r#"{"is": [true]}"#).is_err());
        assert!(testing::validate_condition::<Inbox>(r#"{"inbox": ["3"]}"#).is_err());
        assert!(testing::validate_condition::<Inbox>(r#"{"is": ["3", 4]}"#).is_ok());
    }
}
