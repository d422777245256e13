//! Conversions between the plain contract types (`ferrule-types`) and the component-model values
//! of the bindings, with the output checks the host applies to everything a plugin returns.

use super::bindings::{directory as wd, types as w};
use super::error::RunError;
use ferrule_types as t;

fn ms(time: t::Timestamp) -> i64 {
    time.timestamp_millis()
}

fn time(ms: i64) -> Result<t::Timestamp, RunError> {
    t::Timestamp::from_timestamp_millis(ms)
        .ok_or_else(|| RunError::InvalidOutput(format!("timestamp {ms} is out of range")))
}

/// A context converted once per event and passed by reference to every plugin call.
#[derive(Debug, Clone)]
pub struct PreparedContext(pub(crate) w::Context);

impl PreparedContext {
    /// Convert a context.
    pub fn new(c: &t::Context) -> Self {
        PreparedContext(context(c))
    }
}

fn context(c: &t::Context) -> w::Context {
    w::Context {
        tenant: c.tenant.clone(),
        now: ms(c.now),
        timezone: c.timezone.clone(),
        event: match &c.event {
            t::Event::TicketCreated => w::Event::TicketCreated,
            t::Event::FirstCustomerMessage => w::Event::FirstCustomerMessage,
            t::Event::CustomerMessage => w::Event::CustomerMessage,
            t::Event::AgentMessage => w::Event::AgentMessage,
            t::Event::ReturnCreated => w::Event::ReturnCreated,
            t::Event::TagAdded { tag } => w::Event::TagAdded(tag.clone()),
            t::Event::StatusChanged { from, to } => w::Event::StatusChanged(w::StatusChange {
                from: from.clone(),
                to: to.clone(),
            }),
            t::Event::ScheduleTick => w::Event::ScheduleTick,
        },
        ticket: ticket(&c.ticket),
        latest_message: c.latest_message.as_ref().map(|m| w::Message {
            id: m.id.clone(),
            author: match m.author {
                t::Author::Customer => w::Author::Customer,
                t::Author::Agent => w::Author::Agent,
            },
            body: m.body.clone(),
            sent_at: ms(m.sent_at),
        }),
    }
}

fn ticket(k: &t::Ticket) -> w::Ticket {
    w::Ticket {
        id: k.id.clone(),
        number: k.number,
        subject: k.subject.clone(),
        status: k.status.clone(),
        status_category: match k.status_category {
            t::StatusCategory::New => w::StatusCategory::New,
            t::StatusCategory::Open => w::StatusCategory::Open,
            t::StatusCategory::Pending => w::StatusCategory::Pending,
            t::StatusCategory::Solved => w::StatusCategory::Solved,
            t::StatusCategory::Closed => w::StatusCategory::Closed,
        },
        status_changed_at: ms(k.status_changed_at.unwrap_or(k.created_at)),
        category: k.category.clone(),
        priority: k.priority.clone(),
        ticket_type: k.ticket_type.clone(),
        source: k.source.clone(),
        inbox: k.inbox.clone(),
        inbox_group: k.inbox_group.clone(),
        account: k.account.clone(),
        customer: w::Customer {
            name: k.customer.name.clone(),
            email: k.customer.email.clone(),
            phone: k.customer.phone.clone(),
        },
        assignee: k.assignee.clone(),
        assigned_at: k.assigned_at.map(ms),
        tags: k.tags.clone(),
        language: k.language.clone(),
        created_at: ms(k.created_at),
        updated_at: ms(k.updated_at.unwrap_or(k.created_at)),
        closed_at: k.closed_at.map(ms),
        last_customer_message_at: k.last_customer_message_at.map(ms),
        last_agent_message_at: k.last_agent_message_at.map(ms),
        answered: k.answered,
    }
}

fn calendar(c: t::Calendar) -> wd::Calendar {
    wd::Calendar {
        timezone: c.timezone,
        weekly: c
            .weekly
            .into_iter()
            .map(|day| {
                day.into_iter()
                    .map(|i| wd::Interval {
                        start: i.start,
                        end: i.end,
                    })
                    .collect()
            })
            .collect(),
        holidays: c
            .holidays
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect(),
    }
}

pub(crate) fn agent(a: t::Agent) -> wd::Agent {
    wd::Agent {
        id: a.id,
        name: a.name,
        email: a.email,
        phone: a.phone,
        working_hours: a.working_hours.map(calendar),
    }
}

pub(crate) fn inbox(i: t::Inbox) -> wd::Inbox {
    wd::Inbox {
        id: i.id,
        name: i.name,
        group: i.group,
        working_hours: i.working_hours.map(calendar),
    }
}

/// Checks every string a plugin returns against the limit.
pub(crate) struct Output {
    pub max_string_bytes: usize,
}

impl Output {
    fn text(&self, what: &str, s: String) -> Result<String, RunError> {
        if s.len() > self.max_string_bytes {
            return Err(RunError::InvalidOutput(format!(
                "{what} is {} bytes; the limit is {}",
                s.len(),
                self.max_string_bytes
            )));
        }
        Ok(s)
    }

    fn texts(&self, what: &str, list: Vec<String>) -> Result<Vec<String>, RunError> {
        if list.len() > 1000 {
            return Err(RunError::InvalidOutput(format!(
                "{what} has {} entries",
                list.len()
            )));
        }
        list.into_iter().map(|s| self.text(what, s)).collect()
    }

    pub(crate) fn description(&self, d: w::Description) -> Result<t::Description, RunError> {
        let schema_text = self.text("config schema", d.config_schema)?;
        let config_schema = serde_json::from_str(&schema_text)
            .map_err(|e| RunError::InvalidOutput(format!("config schema is not JSON: {e}")))?;
        Ok(t::Description {
            name: self.text("name", d.name)?,
            version: self.text("version", d.version)?,
            kind: match d.kind {
                w::PluginKind::Condition => t::PluginKind::Condition,
                w::PluginKind::Action => t::PluginKind::Action,
            },
            summary: self.text("summary", d.summary)?,
            config_schema,
            capabilities: self.texts("capabilities", d.capabilities)?,
        })
    }

    pub(crate) fn error(&self, e: w::Error) -> Result<t::PluginError, RunError> {
        Ok(match e {
            w::Error::InvalidConfig(c) => t::PluginError::InvalidConfig {
                path: self.text("error path", c.path)?,
                message: self.text("error message", c.message)?,
            },
            w::Error::Unavailable(m) => t::PluginError::Unavailable {
                message: self.text("error message", m)?,
            },
            w::Error::CapabilityDenied(m) => t::PluginError::CapabilityDenied {
                message: self.text("error message", m)?,
            },
            w::Error::Failed(m) => t::PluginError::Failed {
                message: self.text("error message", m)?,
            },
        })
    }

    pub(crate) fn verdict(&self, v: w::Verdict) -> Result<t::Verdict, RunError> {
        Ok(t::Verdict {
            matches: v.matches,
            changes_at: v.changes_at.map(time).transpose()?,
        })
    }

    pub(crate) fn effect(&self, e: w::Effect) -> Result<t::Effect, RunError> {
        Ok(match e {
            w::Effect::SetStatus(status) => t::Effect::SetStatus {
                status: self.text("status", status)?,
            },
            w::Effect::SetCategory(category) => t::Effect::SetCategory {
                category: self.text("category", category)?,
            },
            w::Effect::SetPriority(priority) => t::Effect::SetPriority {
                priority: self.text("priority", priority)?,
            },
            w::Effect::AssignAgent(agent) => t::Effect::AssignAgent {
                agent: self.text("agent", agent)?,
            },
            w::Effect::Unassign => t::Effect::Unassign,
            w::Effect::AddTags(tags) => t::Effect::AddTags {
                tags: self.texts("tags", tags)?,
            },
            w::Effect::RemoveTags(tags) => t::Effect::RemoveTags {
                tags: self.texts("tags", tags)?,
            },
            w::Effect::Reply(r) => t::Effect::Reply {
                body: self.text("reply body", r.body)?,
                subject: r
                    .subject
                    .map(|s| self.text("reply subject", s))
                    .transpose()?,
                language: r
                    .language
                    .map(|s| self.text("reply language", s))
                    .transpose()?,
            },
            w::Effect::SendEmail(m) => t::Effect::SendEmail {
                to: self.text("e-mail recipient", m.to)?,
                subject: self.text("e-mail subject", m.subject)?,
                body: self.text("e-mail body", m.body)?,
            },
            w::Effect::NotifyUser(n) => t::Effect::NotifyUser {
                user: self.text("notified user", n.user)?,
                subject: self.text("notification subject", n.subject)?,
                body: self.text("notification body", n.body)?,
            },
            w::Effect::SendSms(s) => t::Effect::SendSms {
                to: self.text("SMS recipient", s.to)?,
                body: self.text("SMS body", s.body)?,
            },
        })
    }
}
