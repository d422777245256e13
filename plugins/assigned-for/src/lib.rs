//! `assigned-for` — the ticket has an assignee, assigned more than N minutes ago; with
//! `without_agent_reply`, also no agent has written to the customer since the assignment
//! (Planfix: "accepted, but no answer within 15 min → the request becomes unaccepted again").
//!
//! The time counts from `assigned_at`. Without an assignee, or without `assigned_at`, the answer
//! is false and only a ticket change can flip it (no hint). An agent message at or after
//! `assigned_at` counts as a reply (the host does not say which agent wrote; an automation
//! speaking for the team counts too). Once replied the answer is false with no hint. Otherwise
//! "more than" is strict: true once `now > assigned_at + N min`, at millisecond precision; until
//! then the hint is the first millisecond at which it is true, `assigned_at + N min + 1 ms`.
//! Minutes may be fractional.

use chrono::TimeDelta;
use ferrule_plugin_sdk::prelude::*;

/// `{"longer_than_minutes": 15, "without_agent_reply": true}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Minutes since the assignment (fractional allowed), more than 0.
    pub longer_than_minutes: f64,
    /// Also require that no agent has written to the customer since the assignment.
    #[serde(default)]
    pub without_agent_reply: bool,
}

/// The longest period accepted: 100 years.
const MAX_MINUTES: f64 = 100.0 * 366.0 * 24.0 * 60.0;

/// The moment after which the answer is true, if it can become true without a ticket change.
fn boundary(config: &Config, ctx: &Context) -> Option<Timestamp> {
    let ticket = &ctx.ticket;
    ticket.assignee.as_ref()?;
    let assigned = ticket.assigned_at?;
    if config.without_agent_reply && ticket.last_agent_message_at.is_some_and(|t| t >= assigned) {
        return None;
    }
    let period =
        TimeDelta::try_milliseconds((config.longer_than_minutes * 60_000.0).round() as i64)?;
    assigned.checked_add_signed(period)
}

/// The condition.
pub struct AssignedFor;

impl Condition for AssignedFor {
    type Config = Config;
    const NAME: &'static str = "assigned-for";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The ticket has been assigned for more than the given number of minutes (optionally: with no agent reply since).";

    fn validate(config: &Config) -> Result<(), PluginError> {
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

export_condition!(AssignedFor);

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_plugin_sdk::testing::at;
    use ferrule_plugin_sdk::types::Verdict;

    const PLANFIX: &str = r#"{"longer_than_minutes": 15, "without_agent_reply": true}"#;
    const FIFTEEN: &str = r#"{"longer_than_minutes": 15}"#;
    const MS: TimeDelta = TimeDelta::milliseconds(1);

    fn verdict(
        config: &str,
        assigned: Option<&str>,
        agent_wrote: Option<&str>,
        now: Timestamp,
    ) -> Verdict {
        let mut ctx = testing::context();
        ctx.event = Event::ScheduleTick;
        ctx.ticket.assignee = assigned.map(|_| "anna".into());
        ctx.ticket.assigned_at = assigned.map(at);
        ctx.ticket.last_agent_message_at = agent_wrote.map(at);
        ctx.now = now;
        testing::verdict::<AssignedFor>(config, &ctx).unwrap()
    }

    #[test]
    fn planfix_fifteen_minutes_without_a_reply_before_at_and_after() {
        let assigned = Some("2026-11-16T10:00:00Z");
        let boundary = at("2026-11-16T10:15:00Z");
        for config in [PLANFIX, FIFTEEN] {
            for now in [at("2026-11-16T10:00:00Z"), boundary - MS, boundary] {
                let v = verdict(config, assigned, None, now);
                assert_eq!(
                    (v.matches, v.changes_at),
                    (false, Some(boundary + MS)),
                    "{config} {now}"
                );
            }
            let v = verdict(config, assigned, None, boundary + MS);
            assert_eq!((v.matches, v.changes_at), (true, None), "{config}");
        }
    }

    #[test]
    fn an_agent_reply_since_the_assignment_stops_it_for_good() {
        let assigned = Some("2026-11-16T10:00:00Z");
        let later = at("2026-11-16T11:00:00Z");
        // Replied after, or in the same millisecond as, the assignment.
        for wrote in ["2026-11-16T10:05:00Z", "2026-11-16T10:00:00Z"] {
            let v = verdict(PLANFIX, assigned, Some(wrote), at("2026-11-16T10:06:00Z"));
            assert_eq!((v.matches, v.changes_at), (false, None), "{wrote}");
            let v = verdict(PLANFIX, assigned, Some(wrote), later);
            assert_eq!((v.matches, v.changes_at), (false, None), "{wrote}");
            // Without the flag a reply does not matter.
            assert!(verdict(FIFTEEN, assigned, Some(wrote), later).matches);
        }
        // A reply from before the assignment does not count.
        let v = verdict(PLANFIX, assigned, Some("2026-11-16T09:59:59.999Z"), later);
        assert_eq!((v.matches, v.changes_at), (true, None));
        let v = verdict(
            PLANFIX,
            assigned,
            Some("2026-11-16T09:30:00Z"),
            at("2026-11-16T10:01:00Z"),
        );
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-11-16T10:15:00.001Z")))
        );
    }

    #[test]
    fn unassigned_never_matches_and_needs_no_wake_up() {
        let v = verdict(PLANFIX, None, None, at("2026-11-17T10:00:00Z"));
        assert_eq!((v.matches, v.changes_at), (false, None));
        // An assignee without an assignment time cannot be timed.
        let mut ctx = testing::context();
        ctx.ticket.assignee = Some("anna".into());
        ctx.ticket.assigned_at = None;
        let v = testing::verdict::<AssignedFor>(FIFTEEN, &ctx).unwrap();
        assert_eq!((v.matches, v.changes_at), (false, None));
    }

    #[test]
    fn fractional_minutes() {
        let v = verdict(
            r#"{"longer_than_minutes": 1.5}"#,
            Some("2026-11-16T10:00:00Z"),
            None,
            at("2026-11-16T10:00:00Z"),
        );
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-11-16T10:01:30.001Z")))
        );
    }

    #[test]
    fn rejects_meaningless_configs() {
        for bad in [
            r#"{"longer_than_minutes": 0}"#,
            r#"{"longer_than_minutes": -15}"#,
            r#"{"longer_than_minutes": 1e12}"#,
        ] {
            let e = testing::validate_condition::<AssignedFor>(bad).unwrap_err();
            assert!(
                matches!(&e, PluginError::InvalidConfig { path, .. } if path == "longer_than_minutes"),
                "{bad}: {e:?}"
            );
        }
        assert!(
            testing::validate_condition::<AssignedFor>(
                r#"{"longer_than_minutes": 15, "without_agent_reply": "yes"}"#
            )
            .is_err()
        );
        assert!(
            testing::validate_condition::<AssignedFor>(
                r#"{"longer_than_minutes": 15, "without_reply": true}"#
            )
            .is_err()
        );
        assert!(testing::validate_condition::<AssignedFor>(FIFTEEN).is_ok());
        assert!(testing::validate_condition::<AssignedFor>(PLANFIX).is_ok());
    }
}
