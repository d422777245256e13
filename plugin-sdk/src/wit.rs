//! The component-model side: wit-bindgen bindings of the two worlds and the conversions between
//! their values and the SDK's plain types. Only compiled for wasm32.
#![allow(missing_docs)]

use crate::{Action, Condition};
use ferrule_types as t;
use std::marker::PhantomData;

pub mod condition {
    wit_bindgen::generate!({
        path: "../wit",
        world: "ferrule:plugin/condition",
        pub_export_macro: true,
        default_bindings_module: "ferrule_plugin_sdk::wit::condition",
    });
}

pub mod action {
    wit_bindgen::generate!({
        path: "../wit",
        world: "ferrule:plugin/action",
        pub_export_macro: true,
        default_bindings_module: "ferrule_plugin_sdk::wit::action",
        with: {
            "ferrule:plugin/types@0.1.1": super::condition::ferrule::plugin::types,
            "ferrule:plugin/log@0.1.1": super::condition::ferrule::plugin::log,
            "ferrule:plugin/directory@0.1.1": super::condition::ferrule::plugin::directory,
        },
        generate_all,
    });
}

use condition::ferrule::plugin::directory as wd;
use condition::ferrule::plugin::types as w;

/// The exported condition interface over any [`Condition`].
pub struct ConditionExport<C>(PhantomData<C>);

impl<C: Condition> condition::exports::ferrule::plugin::condition_plugin::Guest
    for ConditionExport<C>
{
    fn describe() -> w::Description {
        description(crate::condition::run::describe::<C>())
    }

    fn validate(config: String) -> Result<(), w::Error> {
        crate::condition::run::validate::<C>(&config).map_err(error)
    }

    fn evaluate(context: w::Context, configs: Vec<String>) -> Vec<Result<w::Verdict, w::Error>> {
        let ctx = context_from(context);
        configs
            .iter()
            .map(|config| {
                crate::condition::run::evaluate::<C>(config, &ctx)
                    .map(|v| w::Verdict {
                        matches: v.matches,
                        changes_at: v.changes_at.map(|t| t.timestamp_millis()),
                    })
                    .map_err(error)
            })
            .collect()
    }
}

/// The exported action interface over any [`Action`].
pub struct ActionExport<A>(PhantomData<A>);

impl<A: Action> action::exports::ferrule::plugin::action_plugin::Guest for ActionExport<A> {
    fn describe() -> w::Description {
        description(crate::action::run::describe::<A>())
    }

    fn validate(config: String) -> Result<(), w::Error> {
        crate::action::run::validate::<A>(&config).map_err(error)
    }

    fn execute(config: String, context: w::Context) -> Result<Vec<w::Effect>, w::Error> {
        let ctx = context_from(context);
        crate::action::run::execute::<A>(&config, &ctx)
            .map(|effects| effects.into_iter().map(effect).collect())
            .map_err(error)
    }
}

pub(crate) fn lookup_agent(id: &str) -> Option<t::Agent> {
    wd::find_agent(id).map(|a| t::Agent {
        id: a.id,
        name: a.name,
        email: a.email,
        phone: a.phone,
        working_hours: a.working_hours.map(calendar),
    })
}

pub(crate) fn lookup_inbox(id: &str) -> Option<t::Inbox> {
    wd::find_inbox(id).map(|i| t::Inbox {
        id: i.id,
        name: i.name,
        group: i.group,
        working_hours: i.working_hours.map(calendar),
    })
}

fn calendar(c: wd::Calendar) -> t::Calendar {
    let mut weekly: [Vec<t::Interval>; 7] = Default::default();
    for (day, intervals) in weekly.iter_mut().zip(c.weekly) {
        *day = intervals
            .into_iter()
            .map(|i| t::Interval {
                start: i.start,
                end: i.end,
            })
            .collect();
    }
    t::Calendar {
        timezone: c.timezone,
        weekly,
        // The host sends dates it parsed itself; a bad one cannot occur, so it is skipped.
        holidays: c.holidays.iter().filter_map(|d| d.parse().ok()).collect(),
    }
}

fn time(ms: i64) -> t::Timestamp {
    t::Timestamp::from_timestamp_millis(ms).unwrap_or_default()
}

fn context_from(c: w::Context) -> t::Context {
    t::Context {
        tenant: c.tenant,
        now: time(c.now),
        timezone: c.timezone,
        event: match c.event {
            w::Event::TicketCreated => t::Event::TicketCreated,
            w::Event::FirstCustomerMessage => t::Event::FirstCustomerMessage,
            w::Event::CustomerMessage => t::Event::CustomerMessage,
            w::Event::AgentMessage => t::Event::AgentMessage,
            w::Event::ReturnCreated => t::Event::ReturnCreated,
            w::Event::TagAdded(tag) => t::Event::TagAdded { tag },
            w::Event::StatusChanged(s) => t::Event::StatusChanged {
                from: s.from,
                to: s.to,
            },
            w::Event::ScheduleTick => t::Event::ScheduleTick,
        },
        ticket: ticket(c.ticket),
        latest_message: c.latest_message.map(|m| t::Message {
            id: m.id,
            author: match m.author {
                w::Author::Customer => t::Author::Customer,
                w::Author::Agent => t::Author::Agent,
            },
            body: m.body,
            sent_at: time(m.sent_at),
        }),
    }
}

fn ticket(k: w::Ticket) -> t::Ticket {
    t::Ticket {
        id: k.id,
        number: k.number,
        subject: k.subject,
        status: k.status,
        status_category: match k.status_category {
            w::StatusCategory::New => t::StatusCategory::New,
            w::StatusCategory::Open => t::StatusCategory::Open,
            w::StatusCategory::Pending => t::StatusCategory::Pending,
            w::StatusCategory::Solved => t::StatusCategory::Solved,
            w::StatusCategory::Closed => t::StatusCategory::Closed,
        },
        status_changed_at: Some(time(k.status_changed_at)),
        category: k.category,
        priority: k.priority,
        ticket_type: k.ticket_type,
        source: k.source,
        inbox: k.inbox,
        inbox_group: k.inbox_group,
        account: k.account,
        customer: t::Customer {
            name: k.customer.name,
            email: k.customer.email,
            phone: k.customer.phone,
        },
        assignee: k.assignee,
        assigned_at: k.assigned_at.map(time),
        tags: k.tags,
        language: k.language,
        created_at: time(k.created_at),
        updated_at: Some(time(k.updated_at)),
        closed_at: k.closed_at.map(time),
        last_customer_message_at: k.last_customer_message_at.map(time),
        last_agent_message_at: k.last_agent_message_at.map(time),
        answered: k.answered,
    }
}

fn description(d: t::Description) -> w::Description {
    w::Description {
        name: d.name,
        version: d.version,
        kind: match d.kind {
            t::PluginKind::Condition => w::PluginKind::Condition,
            t::PluginKind::Action => w::PluginKind::Action,
        },
        summary: d.summary,
        config_schema: d.config_schema.to_string(),
        capabilities: d.capabilities,
    }
}

fn error(e: t::PluginError) -> w::Error {
    match e {
        t::PluginError::InvalidConfig { path, message } => {
            w::Error::InvalidConfig(w::ConfigError { path, message })
        }
        t::PluginError::Unavailable { message } => w::Error::Unavailable(message),
        t::PluginError::CapabilityDenied { message } => w::Error::CapabilityDenied(message),
        t::PluginError::Failed { message } => w::Error::Failed(message),
    }
}

fn effect(e: t::Effect) -> w::Effect {
    match e {
        t::Effect::SetStatus { status } => w::Effect::SetStatus(status),
        t::Effect::SetCategory { category } => w::Effect::SetCategory(category),
        t::Effect::SetPriority { priority } => w::Effect::SetPriority(priority),
        t::Effect::AssignAgent { agent } => w::Effect::AssignAgent(agent),
        t::Effect::Unassign => w::Effect::Unassign,
        t::Effect::AddTags { tags } => w::Effect::AddTags(tags),
        t::Effect::RemoveTags { tags } => w::Effect::RemoveTags(tags),
        t::Effect::Reply {
            body,
            subject,
            language,
        } => w::Effect::Reply(w::Reply {
            body,
            subject,
            language,
        }),
        t::Effect::SendEmail { to, subject, body } => {
            w::Effect::SendEmail(w::Email { to, subject, body })
        }
        t::Effect::NotifyUser {
            user,
            subject,
            body,
        } => w::Effect::NotifyUser(w::Notification {
            user,
            subject,
            body,
        }),
        t::Effect::SendSms { to, body } => w::Effect::SendSms(w::Sms { to, body }),
    }
}
