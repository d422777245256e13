//! The settings of channels as the API takes them (passwords apart: they are write-only and
//! sealed by the store).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a mail connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    /// Plain text (only for servers on a trusted network).
    None,
    /// Plain connection upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte.
    Tls,
}

/// An IMAP account (the password is kept apart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Imap {
    /// Host name.
    pub host: String,
    /// Port (143, 993).
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub tls: Tls,
    /// User name.
    pub username: String,
    /// Mailbox to read (default `INBOX`).
    #[serde(default = "inbox")]
    pub mailbox: String,
}

fn inbox() -> String {
    "INBOX".into()
}

/// An SMTP server (the password is kept apart).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// Host name.
    pub host: String,
    /// Port (25, 465, 587).
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub tls: Tls,
    /// User name (none: no authentication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Sender address (tenant settings; an inbox sends from its own address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// An inbox's e-mail settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Email {
    /// The inbox's address (replies are sent from it).
    pub address: String,
    /// The mailbox read for new mail.
    #[serde(default)]
    pub imap: Option<Imap>,
    /// The server replies are sent through (default: the tenant's).
    #[serde(default)]
    pub smtp: Option<Smtp>,
    /// Seconds between looks at a mailbox without IMAP IDLE.
    #[serde(default = "poll_seconds")]
    pub poll_seconds: u32,
    /// Addresses never put in CC of a reply.
    #[serde(default)]
    pub no_cc: Vec<String>,
    /// Replies ask the customer to answer the assigned agent rather than the inbox.
    #[serde(default)]
    pub reply_to_agent: bool,
}

fn poll_seconds() -> u32 {
    30
}

/// The SMS gateway (the token is kept apart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sms {
    /// `POST` here with `{id, to, body}`.
    pub endpoint: String,
}

/// The webhook event types.
pub const WEBHOOK_EVENTS: &[&str] = &[
    "ticket.created",
    "ticket.updated",
    "message.created",
    "rule.fired",
    "delivery.requested",
    "delivery.dead",
];
