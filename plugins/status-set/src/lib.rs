//! `status-set` — the event is "the status changed" and the new status is one of the listed
//! statuses (seed 001's "status was set"). Any other event, including a schedule tick, does not
//! match; "the ticket is in a status" is the `status` condition. No time hint.

use ferrule_plugin_sdk::prelude::*;

/// `{"is": ["resolved", "closed"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Status names; the change to any of them matches.
    pub is: Vec<String>,
}

/// The condition.
pub struct StatusSet;

impl Condition for StatusSet {
    type Config = Config;
    const NAME: &'static str = "status-set";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "The ticket's status was just changed to one of the listed statuses.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.is_empty() {
            return Err(PluginError::invalid_config(
                "is",
                "list at least one status",
            ));
        }
        if let Some(i) = config.is.iter().position(|s| s.trim().is_empty()) {
            return Err(PluginError::invalid_config(
                format!("is[{i}]"),
                "a status cannot be empty",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let Event::StatusChanged { to, .. } = &ctx.event else {
            return Ok(false);
        };
        Ok(config.is.iter().any(|s| s.trim() == to))
    }
}

export_condition!(StatusSet);

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(from: &str, to: &str) -> Context {
        let mut ctx = testing::context();
        ctx.event = Event::StatusChanged {
            from: from.into(),
            to: to.into(),
        };
        ctx.ticket.status = to.into();
        ctx
    }

    #[test]
    fn matches_the_new_status_not_the_old_one() {
        let config = r#"{"is": ["resolved"]}"#;
        assert!(testing::evaluate::<StatusSet>(config, &changed("open", "resolved")).unwrap());
        assert!(!testing::evaluate::<StatusSet>(config, &changed("resolved", "open")).unwrap());
        let v = testing::verdict::<StatusSet>(config, &changed("open", "resolved")).unwrap();
        assert_eq!(v.changes_at, None);
    }

    #[test]
    fn other_events_never_match_even_in_that_status() {
        let mut ctx = testing::context();
        ctx.ticket.status = "resolved".into();
        for event in [
            Event::ScheduleTick,
            Event::AgentMessage,
            Event::TagAdded {
                tag: "resolved".into(),
            },
        ] {
            ctx.event = event;
            assert!(!testing::evaluate::<StatusSet>(r#"{"is": ["resolved"]}"#, &ctx).unwrap());
        }
    }

    #[test]
    fn rejects_empty_lists_and_blank_statuses() {
        assert!(testing::validate_condition::<StatusSet>(r#"{"is": []}"#).is_err());
        let e = testing::validate_condition::<StatusSet>(r#"{"is": [""]}"#).unwrap_err();
        assert!(
            matches!(&e, PluginError::InvalidConfig { path, .. } if path == "is[0]"),
            "{e:?}"
        );
        assert!(testing::validate_condition::<StatusSet>(r#"{"to": ["open"]}"#).is_err());
        assert!(testing::validate_condition::<StatusSet>(r#"{"is": ["open"]}"#).is_ok());
    }
}
