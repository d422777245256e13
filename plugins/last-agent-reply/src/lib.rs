//! `last-agent-reply` — the agents' last message to the customer is older than N hours.
//!
//! When no agent has written yet, the team counts as silent since the ticket was created: the
//! clock starts at `created_at`. So `{"older_than_hours": 24}` alone is seed 001's "unanswered
//! for 24 h" reminder, and a ticket nobody answered does not escape the rule. (With
//! `reply-status` `{"answered": false}` added, it also requires the customer's latest message to
//! be unanswered.)
//!
//! "Older than" is strict: true once `now > since + N h`, at millisecond precision. Until then
//! the hint is the first millisecond at which it is true, `since + N h + 1 ms`; once true it stays
//! true until the ticket changes (an agent writes), so there is no hint. Hours may be fractional.

use chrono::TimeDelta;
use ferrule_plugin_sdk::prelude::*;

/// `{"older_than_hours": 24}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Hours since the last agent message, or since the ticket was created when no agent has
    /// written yet (fractional allowed), more than 0.
    pub older_than_hours: f64,
}

/// The longest period accepted: 100 years.
const MAX_HOURS: f64 = 100.0 * 366.0 * 24.0;

/// The moment after which the answer is true.
fn boundary(config: &Config, ctx: &Context) -> Option<Timestamp> {
    let period =
        TimeDelta::try_milliseconds((config.older_than_hours * 3_600_000.0).round() as i64)?;
    let since = ctx
        .ticket
        .last_agent_message_at
        .unwrap_or(ctx.ticket.created_at);
    since.checked_add_signed(period)
}

/// The condition.
pub struct LastAgentReply;

impl Condition for LastAgentReply {
    type Config = Config;
    const NAME: &'static str = "last-agent-reply";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "No agent has written to the customer for more than the given number of hours (counting from the ticket's creation when no agent has written yet).";

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

export_condition!(LastAgentReply);

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_plugin_sdk::testing::at;
    use ferrule_plugin_sdk::types::Verdict;

    const DAY: &str = r#"{"older_than_hours": 24}"#;
    const MS: TimeDelta = TimeDelta::milliseconds(1);

    /// The fixture ticket was created 2026-11-16 09:00 UTC.
    fn verdict(config: &str, last_agent: Option<&str>, now: Timestamp) -> Verdict {
        let mut ctx = testing::context();
        ctx.event = Event::ScheduleTick;
        ctx.ticket.last_agent_message_at = last_agent.map(at);
        ctx.now = now;
        testing::verdict::<LastAgentReply>(config, &ctx).unwrap()
    }

    #[test]
    fn counts_from_the_last_agent_message() {
        let last = Some("2026-11-17T12:00:00Z");
        let boundary = at("2026-11-18T12:00:00Z");
        let v = verdict(DAY, last, at("2026-11-17T13:00:00Z"));
        assert_eq!((v.matches, v.changes_at), (false, Some(boundary + MS)));
        let v = verdict(DAY, last, boundary - MS);
        assert_eq!((v.matches, v.changes_at), (false, Some(boundary + MS)));
        let v = verdict(DAY, last, boundary);
        assert_eq!((v.matches, v.changes_at), (false, Some(boundary + MS)));
        let v = verdict(DAY, last, boundary + MS);
        assert_eq!((v.matches, v.changes_at), (true, None));
    }

    #[test]
    fn without_an_agent_message_counts_from_the_tickets_creation() {
        // Seed 001: nobody answered a ticket created 2026-11-16 09:00 for 24 h.
        let boundary = at("2026-11-17T09:00:00Z");
        let v = verdict(DAY, None, at("2026-11-16T10:00:00Z"));
        assert_eq!((v.matches, v.changes_at), (false, Some(boundary + MS)));
        let v = verdict(DAY, None, boundary);
        assert_eq!((v.matches, v.changes_at), (false, Some(boundary + MS)));
        let v = verdict(DAY, None, boundary + MS);
        assert_eq!((v.matches, v.changes_at), (true, None));
    }

    #[test]
    fn fractional_hours() {
        let v = verdict(
            r#"{"older_than_hours": 0.25}"#,
            Some("2026-11-16T09:50:00Z"),
            at("2026-11-16T10:00:00Z"),
        );
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-11-16T10:05:00.001Z")))
        );
    }

    #[test]
    fn rejects_meaningless_periods() {
        for bad in [
            r#"{"older_than_hours": 0}"#,
            r#"{"older_than_hours": -1}"#,
            r#"{"older_than_hours": 1e12}"#,
        ] {
            let e = testing::validate_condition::<LastAgentReply>(bad).unwrap_err();
            assert!(
                matches!(&e, PluginError::InvalidConfig { path, .. } if path == "older_than_hours"),
                "{bad}: {e:?}"
            );
        }
        assert!(
            testing::validate_condition::<LastAgentReply>(r#"{"older_than_hours": 24, "x": 1}"#)
                .is_err()
        );
        assert!(testing::validate_condition::<LastAgentReply>(DAY).is_ok());
    }
}
