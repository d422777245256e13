//! `in-status-for` — the ticket is in a status and has been in it for more than N minutes
//! (Planfix: "in progress for 2 h → notify the agent; after 3 h → notify the manager").
//!
//! The time counts from `status_changed_at` (when the ticket entered its current status; the
//! ticket's creation when the host did not send it). In another status the answer is false and
//! only a ticket change can flip it, so there is no hint. In the status, "more than" is strict:
//! true once `now > entered + N min`, at millisecond precision; until then the hint is the first
//! millisecond at which it is true, `entered + N min + 1 ms`. Minutes may be fractional.

use chrono::TimeDelta;
use ferrule_plugin_sdk::prelude::*;

/// `{"status": "in-progress", "longer_than_minutes": 120}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The status name.
    pub status: String,
    /// Minutes in that status (fractional allowed), more than 0.
    pub longer_than_minutes: f64,
}

/// The longest period accepted: 100 years.
const MAX_MINUTES: f64 = 100.0 * 366.0 * 24.0 * 60.0;

/// The moment after which the answer is true, if the ticket is in the status.
fn boundary(config: &Config, ctx: &Context) -> Option<Timestamp> {
    if ctx.ticket.status != config.status.trim() {
        return None;
    }
    let period =
        TimeDelta::try_milliseconds((config.longer_than_minutes * 60_000.0).round() as i64)?;
    let entered = ctx
        .ticket
        .status_changed_at
        .unwrap_or(ctx.ticket.created_at);
    entered.checked_add_signed(period)
}

/// The condition.
pub struct InStatusFor;

impl Condition for InStatusFor {
    type Config = Config;
    const NAME: &'static str = "in-status-for";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "The ticket has been in the given status for more than the given number of minutes.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.status.trim().is_empty() {
            return Err(PluginError::invalid_config("status", "name a status"));
        }
        let m = config.longer_than_minutes;
        if !(m > 0.0 && m <= MAX_MINUTES) {
            return Err(PluginError::invalid_config(
                "longer_than_minutes",
                format!("must be more than 0 and at most {MAX_MINUTES} minutes"),
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

export_condition!(InStatusFor);

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_plugin_sdk::testing::at;
    use ferrule_plugin_sdk::types::Verdict;

    const TWO_HOURS: &str = r#"{"status": "in-progress", "longer_than_minutes": 120}"#;
    const MS: TimeDelta = TimeDelta::milliseconds(1);

    fn verdict(config: &str, status: &str, entered: Option<&str>, now: Timestamp) -> Verdict {
        let mut ctx = testing::context();
        ctx.event = Event::ScheduleTick;
        ctx.ticket.status = status.into();
        ctx.ticket.status_changed_at = entered.map(at);
        ctx.now = now;
        testing::verdict::<InStatusFor>(config, &ctx).unwrap()
    }

    #[test]
    fn planfix_two_hours_in_progress_before_at_and_after_the_boundary() {
        let entered = Some("2026-11-16T10:00:00Z");
        let boundary = at("2026-11-16T12:00:00Z");
        for now in [at("2026-11-16T10:00:00Z"), boundary - MS, boundary] {
            let v = verdict(TWO_HOURS, "in-progress", entered, now);
            assert_eq!(
                (v.matches, v.changes_at),
                (false, Some(boundary + MS)),
                "{now}"
            );
        }
        let v = verdict(TWO_HOURS, "in-progress", entered, boundary + MS);
        assert_eq!((v.matches, v.changes_at), (true, None));
        // The 3-hour rule on the same ticket wakes an hour later.
        let three = r#"{"status": "in-progress", "longer_than_minutes": 180}"#;
        let v = verdict(three, "in-progress", entered, boundary + MS);
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-11-16T13:00:00.001Z")))
        );
    }

    #[test]
    fn another_status_never_matches_and_needs_no_wake_up() {
        let v = verdict(
            TWO_HOURS,
            "waiting-for-customer",
            Some("2026-11-16T10:00:00Z"),
            at("2026-11-17T10:00:00Z"),
        );
        assert_eq!((v.matches, v.changes_at), (false, None));
        let v = verdict(
            TWO_HOURS,
            "waiting-for-customer",
            Some("2026-11-16T10:00:00Z"),
            at("2026-11-16T10:30:00Z"),
        );
        assert_eq!((v.matches, v.changes_at), (false, None));
    }

    #[test]
    fn without_a_status_change_time_counts_from_creation() {
        // The fixture ticket was created 2026-11-16 09:00 UTC.
        let config = r#"{"status": "new", "longer_than_minutes": 30}"#;
        let v = verdict(config, "new", None, at("2026-11-16T09:10:00Z"));
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-11-16T09:30:00.001Z")))
        );
    }

    #[test]
    fn fractional_minutes_and_a_padded_status_name() {
        let config = r#"{"status": " in-progress ", "longer_than_minutes": 0.5}"#;
        let v = verdict(
            config,
            "in-progress",
            Some("2026-11-16T10:00:00Z"),
            at("2026-11-16T10:00:00Z"),
        );
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-11-16T10:00:30.001Z")))
        );
    }

    #[test]
    fn rejects_meaningless_configs() {
        let bad = [
            (r#"{"status": " ", "longer_than_minutes": 10}"#, "status"),
            (
                r#"{"status": "open", "longer_than_minutes": 0}"#,
                "longer_than_minutes",
            ),
            (
                r#"{"status": "open", "longer_than_minutes": -5}"#,
                "longer_than_minutes",
            ),
            (
                r#"{"status": "open", "longer_than_minutes": 1e12}"#,
                "longer_than_minutes",
            ),
        ];
        for (config, at_path) in bad {
            let e = testing::validate_condition::<InStatusFor>(config).unwrap_err();
            assert!(
                matches!(&e, PluginError::InvalidConfig { path, .. } if path == at_path),
                "{config}: {e:?}"
            );
        }
        assert!(testing::validate_condition::<InStatusFor>(r#"{"status": "open"}"#).is_err());
        assert!(
            testing::validate_condition::<InStatusFor>(
                r#"{"is": "open", "longer_than_minutes": 5}"#
            )
            .is_err()
        );
        assert!(testing::validate_condition::<InStatusFor>(TWO_HOURS).is_ok());
    }
}
