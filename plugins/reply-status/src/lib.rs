//! `reply-status` — whether the customer got an answer: the ticket's `answered` flag ("the
//! customer's latest message has an agent answer after it") equals the config. A ticket without
//! any customer message is not answered. The flag changes only with the ticket, so there is no
//! time hint. Seed 001's reminder is `{"answered": false}` together with `ticket-created`.

use ferrule_plugin_sdk::prelude::*;

/// `{"answered": false}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `true`: the customer's latest message has an answer; `false`: it has none yet.
    pub answered: bool,
}

/// The condition.
pub struct ReplyStatus;

impl Condition for ReplyStatus {
    type Config = Config;
    const NAME: &'static str = "reply-status";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The customer's latest message is answered (or not answered).";

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        Ok(ctx.ticket.answered == config.answered)
    }
}

export_condition!(ReplyStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_the_answered_flag() {
        let mut ctx = testing::context();
        ctx.ticket.answered = false;
        assert!(testing::evaluate::<ReplyStatus>(r#"{"answered": false}"#, &ctx).unwrap());
        assert!(!testing::evaluate::<ReplyStatus>(r#"{"answered": true}"#, &ctx).unwrap());
        ctx.ticket.answered = true;
        let v = testing::verdict::<ReplyStatus>(r#"{"answered": true}"#, &ctx).unwrap();
        assert!(v.matches);
        assert_eq!(v.changes_at, None);
    }

    #[test]
    fn needs_a_boolean() {
        assert!(testing::validate_condition::<ReplyStatus>("{}").is_err());
        assert!(testing::validate_condition::<ReplyStatus>(r#"{"answered": "no"}"#).is_err());
        assert!(testing::validate_condition::<ReplyStatus>(r#"{"answered": 0}"#).is_err());
        assert!(
            testing::validate_condition::<ReplyStatus>(r#"{"answered": true, "x": 1}"#).is_err()
        );
        assert!(testing::validate_condition::<ReplyStatus>(r#"{"answered": true}"#).is_ok());
    }
}
