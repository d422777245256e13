//! `ticket-closed` — the ticket entered a solved or closed status more than N hours ago
//! (Planfix: "completed but never closed → close it after 3 days" is `{"older_than_hours": 72}`
//! on tickets in `resolved`).
//!
//! Reads `closed_at`, which the host stamps when the ticket enters a `solved` or `closed` status
//! and clears when it is reopened. A ticket without `closed_at` never matches and gets no hint.
//! "More than" is strict: true once `now > closed_at + N h`, at millisecond precision. Until then
//! the hint is the first millisecond at which it is true, `closed_at + N h + 1 ms`; once true it
//! stays true until the ticket changes, so there is no hint. Hours may be fractional.

use chrono::TimeDelta;
use ferrule_plugin_sdk::prelude::*;

/// `{"older_than_hours": 72}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Hours since the ticket was solved or closed (fractional allowed), more than 0.
    pub older_than_hours: f64,
}

/// The longest period accepted: 100 years.
const MAX_HOURS: f64 = 100.0 * 366.0 * 24.0;

/// The moment after which the answer is true, if the ticket is solved or closed.
fn boundary(config: &Config, ctx: &Context) -> Option<Timestamp> {
    let period =
        TimeDelta::try_milliseconds((config.older_than_hours * 3_600_000.0).round() as i64)?;
    ctx.ticket.closed_at?.checked_add_signed(period)
}

/// The condition.
pub struct TicketClosed;

impl Condition for TicketClosed {
    type Config = Config;
    const NAME: &'static str = "ticket-closed";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "The ticket was solved or closed more than the given number of hours ago.";

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

export_condition!(TicketClosed);

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_plugin_sdk::StatusCategory;
    use ferrule_plugin_sdk::testing::at;
    use ferrule_plugin_sdk::types::Verdict;

    const THREE_DAYS: &str = r#"{"older_than_hours": 72}"#;
    const MS: TimeDelta = TimeDelta::milliseconds(1);

    fn verdict(config: &str, closed: Option<&str>, now: Timestamp) -> Verdict {
        let mut ctx = testing::context();
        ctx.event = Event::ScheduleTick;
        ctx.ticket.status = "resolved".into();
        ctx.ticket.status_category = StatusCategory::Solved;
        ctx.ticket.closed_at = closed.map(at);
        ctx.now = now;
        testing::verdict::<TicketClosed>(config, &ctx).unwrap()
    }

    #[test]
    fn planfix_three_days_before_at_and_after_the_boundary() {
        let closed = Some("2026-11-16T12:00:00Z");
        let boundary = at("2026-11-19T12:00:00Z");
        for now in [at("2026-11-16T12:00:00Z"), boundary - MS, boundary] {
            let v = verdict(THREE_DAYS, closed, now);
            assert_eq!(
                (v.matches, v.changes_at),
                (false, Some(boundary + MS)),
                "{now}"
            );
        }
        let v = verdict(THREE_DAYS, closed, boundary + MS);
        assert_eq!((v.matches, v.changes_at), (true, None));
    }

    #[test]
    fn an_open_ticket_never_matches_and_needs_no_wake_up() {
        let v = verdict(THREE_DAYS, None, at("2027-01-01T00:00:00Z"));
        assert_eq!((v.matches, v.changes_at), (false, None));
    }

    #[test]
    fn fractional_hours() {
        let v = verdict(
            r#"{"older_than_hours": 1.25}"#,
            Some("2026-11-16T12:00:00Z"),
            at("2026-11-16T12:00:00Z"),
        );
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-11-16T13:15:00.001Z")))
        );
    }

    #[test]
    fn rejects_meaningless_periods() {
        for bad in [
            r#"{"older_than_hours": 0}"#,
            r#"{"older_than_hours": -72}"#,
            r#"{"older_than_hours": 1e10}"#,
        ] {
            let e = testing::validate_condition::<TicketClosed>(bad).unwrap_err();
            assert!(
                matches!(&e, PluginError::InvalidConfig { path, .. } if path == "older_than_hours"),
                "{bad}: {e:?}"
            );
        }
        assert!(testing::validate_condition::<TicketClosed>("{}").is_err());
        assert!(testing::validate_condition::<TicketClosed>(THREE_DAYS).is_ok());
    }
}
