//! `ticket-created` — the ticket was created more than N hours ago (seed 001's "ticket was
//! created (time since)", Thulium's "created more than N hours ago").
//!
//! "More than" is strict: true once `now > created_at + N h`, at millisecond precision. Until
//! then the hint is the first millisecond at which it is true, `created_at + N h + 1 ms`; once
//! true it stays true, so there is no hint. Hours may be fractional (`0.5` = 30 minutes, Planfix's
//! "nobody accepted a new request within 30 min" with `assignee` unassigned).

use chrono::TimeDelta;
use ferrule_plugin_sdk::prelude::*;

/// `{"older_than_hours": 24}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Hours since the ticket was created (fractional allowed), more than 0.
    pub older_than_hours: f64,
}

/// The longest period accepted: 100 years.
const MAX_HOURS: f64 = 100.0 * 366.0 * 24.0;

/// The moment after which the answer is true.
fn boundary(config: &Config, ctx: &Context) -> Option<Timestamp> {
    let period =
        TimeDelta::try_milliseconds((config.older_than_hours * 3_600_000.0).round() as i64)?;
    ctx.ticket.created_at.checked_add_signed(period)
}

/// The condition.
pub struct TicketCreated;

impl Condition for TicketCreated {
    type Config = Config;
    const NAME: &'static str = "ticket-created";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The ticket was created more than the given number of hours ago.";

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

export_condition!(TicketCreated);

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_plugin_sdk::testing::at;
    use ferrule_plugin_sdk::types::Verdict;

    const MS: TimeDelta = TimeDelta::milliseconds(1);

    /// The fixture ticket was created 2026-11-16 09:00 UTC.
    fn verdict(config: &str, now: Timestamp) -> Verdict {
        let mut ctx = testing::context();
        ctx.event = Event::ScheduleTick;
        ctx.now = now;
        testing::verdict::<TicketCreated>(config, &ctx).unwrap()
    }

    #[test]
    fn twenty_four_hours_before_at_and_after_the_boundary() {
        let config = r#"{"older_than_hours": 24}"#;
        let boundary = at("2026-11-17T09:00:00Z");
        for now in [at("2026-11-16T10:00:00Z"), boundary - MS, boundary] {
            let v = verdict(config, now);
            assert_eq!(
                (v.matches, v.changes_at),
                (false, Some(boundary + MS)),
                "{now}"
            );
        }
        for now in [boundary + MS, at("2027-01-01T00:00:00Z")] {
            let v = verdict(config, now);
            assert_eq!((v.matches, v.changes_at), (true, None), "{now}");
        }
    }

    #[test]
    fn half_an_hour_for_planfix() {
        let v = verdict(r#"{"older_than_hours": 0.5}"#, at("2026-11-16T09:10:00Z"));
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-11-16T09:30:00.001Z")))
        );
        assert!(verdict(r#"{"older_than_hours": 0.5}"#, at("2026-11-16T09:31:00Z")).matches);
    }

    #[test]
    fn a_creation_time_in_the_future_waits() {
        let mut ctx = testing::context();
        ctx.now = at("2026-11-16T08:00:00Z"); // an hour before creation
        let v = testing::verdict::<TicketCreated>(r#"{"older_than_hours": 1}"#, &ctx).unwrap();
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-11-16T10:00:00.001Z")))
        );
    }

    #[test]
    fn rejects_meaningless_periods() {
        for bad in [
            r#"{"older_than_hours": 0}"#,
            r#"{"older_than_hours": -24}"#,
            r#"{"older_than_hours": 1e10}"#,
        ] {
            let e = testing::validate_condition::<TicketCreated>(bad).unwrap_err();
            assert!(
                matches!(&e, PluginError::InvalidConfig { path, .. } if path == "older_than_hours"),
                "{bad}: {e:?}"
            );
        }
        assert!(
            testing::validate_condition::<TicketCreated>(r#"{"older_than_minutes": 30}"#).is_err()
        );
        assert!(
            testing::validate_condition::<TicketCreated>(r#"{"older_than_hours": 24}"#).is_ok()
        );
    }
}
