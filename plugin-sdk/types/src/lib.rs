//! The plain data of the ferrule plugin contract and its JSON shape.
//!
//! These types mirror the records of `wit/plugin.wit`. The SDK converts the component-model values
//! into them on the guest side, the host converts them into component-model values, and both use
//! this JSON shape for fixtures (`ferrule plugin run --context X.json`) and the REST API.
#![deny(missing_docs)]

mod calendar;
mod directory;

pub use calendar::{Calendar, CalendarError, Interval, Weekday};
pub use directory::{Agent, Inbox};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A moment in time, UTC; RFC 3339 in JSON.
pub type Timestamp = DateTime<Utc>;

/// The customer a ticket belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// Display name.
    pub name: String,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// The category every status belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StatusCategory {
    /// Not yet looked at.
    #[default]
    New,
    /// Being worked on.
    Open,
    /// Waiting for someone outside the team.
    Pending,
    /// Resolved, may be reopened.
    Solved,
    /// Closed for good.
    Closed,
}

/// A ticket as the rules see it. See `wit/plugin.wit` for each field's meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    /// Host id.
    pub id: String,
    /// Number shown to people.
    pub number: u64,
    /// Subject line.
    pub subject: String,
    /// Status name.
    pub status: String,
    /// Category of the status.
    #[serde(default)]
    pub status_category: StatusCategory,
    /// When the ticket entered its status (defaults to `created_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_changed_at: Option<Timestamp>,
    /// Category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Ticket type.
    #[serde(
        default,
        rename = "type",
        alias = "ticket_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub ticket_type: Option<String>,
    /// Channel.
    pub source: String,
    /// Inbox id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox: Option<String>,
    /// Inbox group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox_group: Option<String>,
    /// Connected account of the channel (e.g. Allegro login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Customer.
    pub customer: Customer,
    /// Assigned agent id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// When the assignee was assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_at: Option<Timestamp>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Conversation language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change (defaults to `created_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
    /// When it entered a solved/closed status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    /// Last customer message time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_customer_message_at: Option<Timestamp>,
    /// Last agent message time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_agent_message_at: Option<Timestamp>,
    /// Whether the customer's latest message has an answer.
    #[serde(default)]
    pub answered: bool,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The customer.
    Customer,
    /// An agent or an automation.
    Agent,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// Host id.
    #[serde(default)]
    pub id: String,
    /// Who wrote it.
    pub author: Author,
    /// Plain-text body.
    pub body: String,
    /// When it was sent.
    pub sent_at: Timestamp,
}

/// What happened to the ticket. JSON: `{"kind": "tag_added", "tag": "vip"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// The ticket was created.
    TicketCreated,
    /// The customer's first message.
    FirstCustomerMessage,
    /// Any customer message.
    CustomerMessage,
    /// An agent message to the customer.
    AgentMessage,
    /// A return was created.
    ReturnCreated,
    /// A tag was added.
    TagAdded {
        /// The tag.
        tag: String,
    },
    /// The status changed.
    StatusChanged {
        /// Before.
        from: String,
        /// After.
        to: String,
    },
    /// A time-based evaluation.
    ScheduleTick,
}

impl Event {
    /// The event's kind as used in rule triggers (`ticket_created`, `tag_added`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::TicketCreated => "ticket_created",
            Event::FirstCustomerMessage => "first_customer_message",
            Event::CustomerMessage => "customer_message",
            Event::AgentMessage => "agent_message",
            Event::ReturnCreated => "return_created",
            Event::TagAdded { .. } => "tag_added",
            Event::StatusChanged { .. } => "status_changed",
            Event::ScheduleTick => "schedule_tick",
        }
    }
}

/// Everything a plugin may base its decision on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Tenant id.
    #[serde(default)]
    pub tenant: String,
    /// Moment of evaluation.
    pub now: Timestamp,
    /// Tenant's IANA time zone.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// What happened.
    pub event: Event,
    /// The ticket.
    pub ticket: Ticket,
    /// Latest message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_message: Option<Message>,
}

fn default_timezone() -> String {
    "UTC".to_owned()
}

/// A change an action asks the host to make. JSON: `{"type": "set_status", "status": "open"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// Set the status.
    SetStatus {
        /// Status name.
        status: String,
    },
    /// Set the category.
    SetCategory {
        /// Category.
        category: String,
    },
    /// Set the priority.
    SetPriority {
        /// Priority.
        priority: String,
    },
    /// Assign an agent.
    AssignAgent {
        /// Agent id.
        agent: String,
    },
    /// Remove the assignee.
    Unassign,
    /// Add tags.
    AddTags {
        /// Tags.
        tags: Vec<String>,
    },
    /// Remove tags.
    RemoveTags {
        /// Tags.
        tags: Vec<String>,
    },
    /// Reply to the customer in the ticket.
    Reply {
        /// Body.
        body: String,
        /// Subject.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        /// Language of the body.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
    },
    /// E-mail an address.
    SendEmail {
        /// Recipient.
        to: String,
        /// Subject.
        subject: String,
        /// Body.
        body: String,
    },
    /// Notify a helpdesk user.
    NotifyUser {
        /// Agent id or `assignee`.
        user: String,
        /// Subject.
        subject: String,
        /// Body.
        body: String,
    },
    /// Send an SMS.
    SendSms {
        /// Phone number.
        to: String,
        /// Body.
        body: String,
    },
}

/// A failure a plugin reports. JSON: `{"kind": "invalid_config", "path": "phrases", "message": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PluginError {
    /// The config is wrong.
    InvalidConfig {
        /// JSON path of the wrong value; empty for the whole config.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// An outside service failed.
    Unavailable {
        /// Details.
        message: String,
    },
    /// A capability was not granted.
    CapabilityDenied {
        /// Details.
        message: String,
    },
    /// Anything else.
    Failed {
        /// Details.
        message: String,
    },
}

impl PluginError {
    /// An invalid-config error at `path`.
    pub fn invalid_config(path: impl Into<String>, message: impl Into<String>) -> Self {
        PluginError::InvalidConfig {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A generic failure.
    pub fn failed(message: impl Into<String>) -> Self {
        PluginError::Failed {
            message: message.into(),
        }
    }

    /// An outside service failed.
    pub fn unavailable(message: impl Into<String>) -> Self {
        PluginError::Unavailable {
            message: message.into(),
        }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginError::InvalidConfig { path, message } if path.is_empty() => {
                write!(f, "invalid config: {message}")
            }
            PluginError::InvalidConfig { path, message } => {
                write!(f, "invalid config at `{path}`: {message}")
            }
            PluginError::Unavailable { message } => write!(f, "service unavailable: {message}"),
            PluginError::CapabilityDenied { message } => write!(f, "capability denied: {message}"),
            PluginError::Failed { message } => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for PluginError {}

/// Condition or action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginKind {
    /// A condition.
    Condition,
    /// An action.
    Action,
}

/// What a plugin is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// Unique name.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// Kind.
    pub kind: PluginKind,
    /// One sentence for admins.
    pub summary: String,
    /// JSON Schema of the config.
    pub config_schema: serde_json::Value,
    /// Capabilities asked for.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// A condition's answer for one config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Whether the condition holds.
    pub matches: bool,
    /// When the answer may change without a ticket change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes_at: Option<Timestamp>,
}
