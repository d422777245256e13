//! Tickets, customers and messages.

use super::{Result, Store, Tx};
// Dynamic SQL here only joins constant column lists; values are always bound.
use sqlx::{AssertSqlSafe, FromRow};

/// A stored ticket with its customer.
#[allow(missing_docs)] // the fields mirror the columns in migrations/sqlite
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct TicketRow {
    pub id: i64,
    pub number: i64,
    pub subject: String,
    pub status: String,
    pub status_changed_at: i64,
    pub category: Option<String>,
    pub priority: Option<String>,
    pub ticket_type: Option<String>,
    pub source: String,
    pub inbox_id: Option<i64>,
    pub account: Option<String>,
    pub customer_id: i64,
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    pub assignee_id: Option<i64>,
    pub assigned_at: Option<i64>,
    /// JSON array of tags.
    pub tags: String,
    pub language: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub last_customer_message_at: Option<i64>,
    pub last_agent_message_at: Option<i64>,
    pub answered: bool,
    /// Bumped by every write; a save expecting another revision is refused.
    pub revision: i64,
}

const TICKET_COLUMNS: &str = "t.id, t.number, t.subject, t.status, t.status_changed_at, t.category, t.priority, \
    t.ticket_type, t.source, t.inbox_id, t.account, t.customer_id, c.name AS customer_name, \
    c.email AS customer_email, c.phone AS customer_phone, t.assignee_id, t.assigned_at, t.tags, t.language, \
    t.created_at, t.updated_at, t.closed_at, t.last_customer_message_at, t.last_agent_message_at, t.answered, t.revision";

/// One ticket by tenant and id.
fn one_ticket_sql() -> String {
    format!(
        "SELECT {TICKET_COLUMNS} FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.tenant_id = ? AND t.id = ?"
    )
}

/// The columns of a message row.
const MESSAGE_COLUMNS: &str =
    "id, ticket_id, author, direction, subject, body, language, rule_id, sent_at";

/// A ticket to create (already validated by the API).
#[allow(missing_docs)] // the fields mirror the columns in migrations/sqlite
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub subject: String,
    pub source: String,
    pub status: String,
    pub assignee_id: Option<i64>,
    pub closed_at: Option<i64>,
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    pub inbox_id: Option<i64>,
    pub account: Option<String>,
    pub ticket_type: Option<String>,
    pub priority: Option<String>,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub language: Option<String>,
    pub created_at: i64,
    /// The channel's id of the ticket (unique per tenant and source).
    pub external_id: Option<String>,
}

/// A message to add.
#[allow(missing_docs)] // the fields mirror the columns in migrations/sqlite
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// `customer` or `agent`.
    pub author: String,
    /// `inbound` (from outside) or `outbound` (sent by the helpdesk).
    pub direction: String,
    pub subject: Option<String>,
    pub body: String,
    pub language: Option<String>,
    /// The rule that wrote it, for automated replies.
    pub rule_id: Option<i64>,
    pub sent_at: i64,
    /// The channel's id of the message (an e-mail's Message-ID): a message is added once.
    pub external_id: Option<String>,
    /// What an e-mail carries besides its text.
    pub mail: Option<Box<MailParts>>,
}

/// The parts of an inbound e-mail kept beside its stripped text.
#[derive(Debug, Clone, Default)]
pub struct MailParts {
    /// The full text, with quoted history and signature.
    pub full_body: String,
    /// Who else was in CC.
    pub cc: Vec<String>,
    /// Attachments.
    pub attachments: Vec<NewAttachment>,
    /// An automatic mail (auto-reply, bounce, list): rules' replies to it are not sent.
    pub auto_generated: bool,
}

/// An attachment to store.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// The bytes; None when over the kept limit.
    pub bytes: Option<Vec<u8>>,
}

impl NewMessage {
    /// A message from the customer or an agent, as the API and the channels add it.
    pub fn new(author: &str, body: String, sent_at: i64) -> NewMessage {
        NewMessage {
            author: author.into(),
            direction: if author == "customer" {
                "inbound"
            } else {
                "outbound"
            }
            .into(),
            subject: None,
            body,
            language: None,
            rule_id: None,
            sent_at,
            external_id: None,
            mail: None,
        }
    }

    /// The message as a row with `id` on `ticket` (0 for one not written yet).
    pub fn stored(&self, id: i64, ticket: i64) -> MessageRow {
        MessageRow {
            id,
            ticket_id: ticket,
            author: self.author.clone(),
            direction: self.direction.clone(),
            subject: self.subject.clone(),
            body: self.body.clone(),
            language: self.language.clone(),
            rule_id: self.rule_id,
            sent_at: self.sent_at,
        }
    }
}

/// A stored message.
#[allow(missing_docs)] // the fields mirror the columns in migrations/sqlite
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct MessageRow {
    pub id: i64,
    pub ticket_id: i64,
    pub author: String,
    pub direction: String,
    pub subject: Option<String>,
    pub body: String,
    pub language: Option<String>,
    pub rule_id: Option<i64>,
    pub sent_at: i64,
}

/// Something to deliver: a reply to the customer, an e-mail, SMS or notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// `reply`, `email`, `sms` or `notification`.
    pub kind: &'static str,
    /// `smtp`, `sms`, `webhook` or `allegro` (settled when the chain is written).
    pub channel: &'static str,
    /// For a reply: its index among the chain's messages.
    pub message: Option<usize>,
    /// Address, phone number or agent id.
    pub recipient: String,
    /// Subject, when the kind has one.
    pub subject: Option<String>,
    /// Body.
    pub body: String,
}

/// Filters of `GET /tickets`.
#[allow(missing_docs)] // the fields mirror the columns in migrations/sqlite
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub status: Option<String>,
    pub assignee_id: Option<i64>,
    pub tag: Option<String>,
    pub limit: i64,
    /// Tickets with an id below this (paging newest first).
    pub before_id: Option<i64>,
}

impl Store {
    /// One ticket of the tenant, read inside a transaction.
    pub async fn ticket_in(&self, tx: &mut Tx, tenant: i64, id: i64) -> Result<Option<TicketRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(one_ticket_sql()))
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?)
    }

    /// One ticket of the tenant.
    pub async fn ticket(&self, tenant: i64, id: i64) -> Result<Option<TicketRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(one_ticket_sql()))
            .bind(tenant)
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// The tenant's tickets, newest first.
    pub async fn tickets(&self, tenant: i64, f: &TicketFilter) -> Result<Vec<TicketRow>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.tenant_id = ? \
             AND (? IS NULL OR t.status = ?) AND (? IS NULL OR t.assignee_id = ?) \
             AND (? IS NULL OR EXISTS (SELECT 1 FROM json_each(t.tags) WHERE value = ?)) \
             AND (? IS NULL OR t.id < ?) ORDER BY t.id DESC LIMIT ?"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(&f.status)
            .bind(&f.status)
            .bind(f.assignee_id)
            .bind(f.assignee_id)
            .bind(&f.tag)
            .bind(&f.tag)
            .bind(f.before_id)
            .bind(f.before_id)
            .bind(f.limit)
            .fetch_all(self.pool())
            .await?)
    }

    /// A ticket's messages, oldest first.
    pub async fn messages(&self, tenant: i64, ticket: i64) -> Result<Vec<MessageRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE tenant_id = ? AND ticket_id = ? ORDER BY sent_at, id"
        )))
        .bind(tenant)
        .bind(ticket)
        .fetch_all(self.pool())
        .await?)
    }

    /// The latest message of a ticket.
    pub async fn latest_message_of(&self, tenant: i64, ticket: i64) -> Result<Option<MessageRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE tenant_id = ? AND ticket_id = ? ORDER BY sent_at DESC, id DESC LIMIT 1"
        )))
        .bind(tenant)
        .bind(ticket)
        .fetch_optional(self.pool())
        .await?)
    }
}

/// A stored attachment (without its bytes).
#[allow(missing_docs)] // the fields mirror the columns in migrations/sqlite
#[derive(Debug, Clone, FromRow)]
pub struct AttachmentRow {
    pub id: i64,
    pub message_id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    /// Whether the bytes were kept.
    pub stored: bool,
}

impl Store {
    /// The attachments of a ticket's messages.
    pub async fn attachments(&self, tenant: i64, ticket: i64) -> Result<Vec<AttachmentRow>> {
        Ok(sqlx::query_as(
            "SELECT a.id, a.message_id, a.name, a.content_type, a.size, a.bytes IS NOT NULL AS stored \
             FROM attachments a JOIN messages m ON m.id = a.message_id \
             WHERE a.tenant_id = ? AND m.ticket_id = ? ORDER BY a.id",
        )
        .bind(tenant)
        .bind(ticket)
        .fetch_all(self.pool())
        .await?)
    }

    /// An attachment's bytes: (name, type, bytes).
    pub async fn attachment(
        &self,
        tenant: i64,
        ticket: i64,
        id: i64,
    ) -> Result<Option<(String, String, Option<Vec<u8>>)>> {
        Ok(sqlx::query_as(
            "SELECT a.name, a.content_type, a.bytes FROM attachments a JOIN messages m ON m.id = a.message_id \
             WHERE a.tenant_id = ? AND m.ticket_id = ? AND a.id = ?",
        )
        .bind(tenant)
        .bind(ticket)
        .bind(id)
        .fetch_optional(self.pool())
        .await?)
    }
}
