//! `event` — what happened to the ticket is one of the listed event kinds.
//!
//! Kinds are the rule-JSON names of event triggers (`ticket_created`, `first_customer_message`,
//! `customer_message`, `agent_message`, `return_created`, `tag_added`, `status_changed`) plus the
//! scheduler's `schedule_tick` (a time-based evaluation). The host raises both
//! `first_customer_message` and `customer_message` for a ticket's first customer message, so
//! `customer_message` means "any customer message". An unknown kind is rejected when the rule is
//! saved. The answer depends on the event only, so there is never a time hint.

use ferrule_plugin_sdk::prelude::*;

/// `{"is": ["first_customer_message", "return_created"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Event kinds that match.
    pub is: Vec<Kind>,
}

/// An event kind, as rule triggers name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The ticket was created.
    TicketCreated,
    /// The customer wrote the ticket's first message.
    FirstCustomerMessage,
    /// The customer wrote a message (any, including the first).
    CustomerMessage,
    /// An agent wrote to the customer.
    AgentMessage,
    /// A return was created for the ticket's order.
    ReturnCreated,
    /// A tag was added.
    TagAdded,
    /// The status changed.
    StatusChanged,
    /// The scheduler is evaluating a time-based rule.
    ScheduleTick,
}

impl Kind {
    fn of(event: &Event) -> Kind {
        match event {
            Event::TicketCreated => Kind::TicketCreated,
            Event::FirstCustomerMessage => Kind::FirstCustomerMessage,
            Event::CustomerMessage => Kind::CustomerMessage,
            Event::AgentMessage => Kind::AgentMessage,
            Event::ReturnCreated => Kind::ReturnCreated,
            Event::TagAdded { .. } => Kind::TagAdded,
            Event::StatusChanged { .. } => Kind::StatusChanged,
            Event::ScheduleTick => Kind::ScheduleTick,
        }
    }
}

/// The condition.
pub struct EventIs;

impl Condition for EventIs {
    type Config = Config;
    const NAME: &'static str = "event";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "What happened to the ticket is one of the listed event kinds.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.is_empty() {
            return Err(PluginError::invalid_config(
                "is",
                "list at least one event kind",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        Ok(config.is.contains(&Kind::of(&ctx.event)))
    }
}

export_condition!(EventIs);

#[cfg(test)]
mod tests {
    use super::*;

    fn with(event: Event) -> Context {
        let mut ctx = testing::context();
        ctx.event = event;
        ctx
    }

    #[test]
    fn matches_the_listed_kinds_only() {
        let config = r#"{"is": ["first_customer_message", "tag_added"]}"#;
        let tag = Event::TagAdded { tag: "vip".into() };
        assert!(testing::evaluate::<EventIs>(config, &with(tag)).unwrap());
        let first = with(Event::FirstCustomerMessage);
        assert!(testing::evaluate::<EventIs>(config, &first).unwrap());
        for other in [
            Event::TicketCreated,
            Event::CustomerMessage,
            Event::AgentMessage,
            Event::ReturnCreated,
            Event::StatusChanged {
                from: "new".into(),
                to: "open".into(),
            },
            Event::ScheduleTick,
        ] {
            let ctx = with(other.clone());
            assert!(
                !testing::evaluate::<EventIs>(config, &ctx).unwrap(),
                "{other:?}"
            );
        }
    }

    #[test]
    fn every_kind_name_is_the_one_the_types_serialise() {
        let events = [
            Event::TicketCreated,
            Event::FirstCustomerMessage,
            Event::CustomerMessage,
            Event::AgentMessage,
            Event::ReturnCreated,
            Event::TagAdded { tag: "x".into() },
            Event::StatusChanged {
                from: "a".into(),
                to: "b".into(),
            },
            Event::ScheduleTick,
        ];
        for event in events {
            let config = format!(r#"{{"is": ["{}"]}}"#, event.kind());
            let v = testing::verdict::<EventIs>(&config, &with(event.clone())).unwrap();
            assert!(v.matches, "{event:?}");
            assert_eq!(v.changes_at, None, "events never change with time");
        }
    }

    #[test]
    fn rejects_unknown_kinds_and_empty_lists() {
        let e = testing::validate_condition::<EventIs>(r#"{"is": ["ticket_created", "reopened"]}"#)
            .unwrap_err();
        assert!(
            matches!(&e, PluginError::InvalidConfig { path, message }
                if path == "is[1]" && message.contains("reopened")),
            "{e:?}"
        );
        // The rule-JSON names, not the WIT's kebab-case ones.
        assert!(testing::validate_condition::<EventIs>(r#"{"is": ["tag-added"]}"#).is_err());
        assert!(testing::validate_condition::<EventIs>(r#"{"is": []}"#).is_err());
        assert!(testing::validate_condition::<EventIs>(r#"{"kinds": ["tag_added"]}"#).is_err());
        assert!(testing::validate_condition::<EventIs>(r#"{"is": ["schedule_tick"]}"#).is_ok());
    }
}
