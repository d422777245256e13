//! `last-customer-reply` — the customer's last message is older than N hours (Thulium's
//! "customer silent for 36 h").
//!
//! "Older than" is strict: the answer is true once `now > last + N h`, at millisecond precision.
//! A ticket without any customer message never matches and gets no hint. Otherwise, until the
//! answer is true, the hint (`changes_at`) is the first millisecond at which it is:
//! `last + N h + 1 ms`. Once true it stays true until the ticket changes, so there is no hint.
//! Hours may be fractional (`1.5` = 90 minutes).

use chrono::TimeDelta;
use ferrule_plugin_sdk::prelude::*;

/// `{"older_than_hours": 36}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Hours since the customer's last message (fractional allowed), more than 0.
    pub older_than_hours: f64,
}

/// The longest period accepted: 100 years.
const MAX_HOURS: f64 = 100.0 * 366.0 * 24.0;

/// The moment after which the answer is true, if the ticket has a customer message.
fn boundary(config: &Config, ctx: &Context) -> Option<Timestamp> {
    let period =
        TimeDelta::try_milliseconds((config.older_than_hours * 3_600_000.0).round() as i64)?;
    ctx.ticket
        .last_customer_message_at?
        .checked_add_signed(period)
}

/// The condition.
pub struct LastCustomerReply;

impl Condition for LastCustomerReply {
    type Config = Config;
    const NAME: &'static str = "last-customer-reply";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "The customer's last message is older than the given number of hours.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        let h = config.older_than_hours;
        if !(h > 0.0 && h <= MAX_HOURS) {
            return Err(PluginError::invalid_config(
                "older_than_hours",
                format!("must be more than 0 and at most {MAX_HOURS} hours"),
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        Ok(boundary(config, ctx).is_some_and(|b| ctx.now > b))
    }

    fn changes_at(config: &Config, ctx: &Context) -> Option<Timestamp> {
        let b = boundary(config, ctx)?;
        // The first millisecond at which `now > b`.
        (ctx.now <= b).then(|| b.checked_add_signed(TimeDelta::milliseconds(1)))?
    }
}

export_condition!(LastCustomerReply);

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_plugin_sdk::testing::at;
    use ferrule_plugin_sdk::types::Verdict;

    const SILENT_36H: &str = r#"{"older_than_hours": 36}"#;

    fn verdict(config: &str, last: Option<&str>, now: Timestamp) -> Verdict {
        let mut ctx = testing::context();
        ctx.event = Event::ScheduleTick;
        ctx.ticket.last_customer_message_at = last.map(at);
        ctx.now = now;
        testing::verdict::<LastCustomerReply>(config, &ctx).unwrap()
    }

    #[test]
    fn thulium_36_hours_before_at_and_after_the_boundary() {
        let last = Some("2026-11-16T09:00:00Z");
        let boundary = at("2026-11-17T21:00:00Z");
        let first_true = at("2026-11-17T21:00:00.001Z");
        let ms = TimeDelta::milliseconds(1);

        let v = verdict(SILENT_36H, last, at("2026-11-16T10:00:00Z"));
        assert_eq!((v.matches, v.changes_at), (false, Some(first_true)));
        let v = verdict(SILENT_36H, last, boundary - ms);
        assert_eq!((v.matches, v.changes_at), (false, Some(first_true)));
        let v = verdict(SILENT_36H, last, boundary);
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(first_true)),
            "36 h is not more than 36 h"
        );
        let v = verdict(SILENT_36H, last, first_true);
        assert_eq!((v.matches, v.changes_at), (true, None));
        let v = verdict(SILENT_36H, last, at("2026-12-01T00:00:00Z"));
        assert_eq!((v.matches, v.changes_at), (true, None));
    }

    #[test]
    fn fractional_hours() {
        let last = Some("2026-11-16T09:00:00Z");
        let v = verdict(
            r#"{"older_than_hours": 1.5}"#,
            last,
            at("2026-11-16T10:00:00Z"),
        );
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-11-16T10:30:00.001Z")))
        );
        let v = verdict(
            r#"{"older_than_hours": 1.5}"#,
            last,
            at("2026-11-16T10:31:00Z"),
        );
        assert!(v.matches);
    }

    #[test]
    fn no_customer_message_never_matches_and_needs_no_wake_up() {
        let v = verdict(SILENT_36H, None, at("2027-01-01T00:00:00Z"));
        assert_eq!((v.matches, v.changes_at), (false, None));
    }

    #[test]
    fn a_message_from_the_future_waits_for_its_boundary() {
        let v = verdict(
            r#"{"older_than_hours": 1}"#,
            Some("2026-11-16T12:00:00Z"),
            at("2026-11-16T10:00:00Z"),
        );
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-11-16T13:00:00.001Z")))
        );
    }

    #[test]
    fn rejects_meaningless_periods() {
        for bad in [
            r#"{"older_than_hours": 0}"#,
            r#"{"older_than_hours": -2}"#,
            r#"{"older_than_hours": 1e9}"#,
        ] {
            let e = testing::validate_condition::<LastCustomerReply>(bad).unwrap_err();
            assert!(
                matches!(&e, PluginError::InvalidConfig { path, .. } if path == "older_than_hours"),
                "{bad}: {e:?}"
            );
        }
        assert!(
            testing::validate_condition::<LastCustomerReply>(r#"{"older_than_hours": "36"}"#)
                .is_err()
        );
        assert!(testing::validate_condition::<LastCustomerReply>(r#"{"hours": 36}"#).is_err());
        assert!(testing::validate_condition::<LastCustomerReply>("{}").is_err());
        assert!(
            testing::validate_condition::<LastCustomerReply>(r#"{"older_than_hours": 0.25}"#)
                .is_ok()
        );
    }
}
