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
}

impl NewMessage {
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

/// An outgoing e-mail, SMS or notification waiting for a delivery channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// `email`, `sms` or `notification`.
    pub kind: &'static str,
    /// Address, phone number or agent id.
    pub recipient: String,
    /// Subject, when the kind has one.
    pub subject: Option<String>,
    /// Body.
    pub body: String,
}

/// A stored outgoing message.
#[allow(missing_docs)] // the fields mirror the columns in migrations/sqlite
#[derive(Debug, Clone, FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub ticket_id: i64,
    pub rule_id: Option<i64>,
    pub kind: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub created_at: i64,
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

    /// A ticket's outgoing e-mails, SMS and notifications, oldest first.
    pub async fn outbox(&self, tenant: i64, ticket: i64) -> Result<Vec<OutboxRow>> {
        Ok(sqlx::query_as(
            "SELECT id, ticket_id, rule_id, kind, recipient, subject, body, created_at FROM outbox \
             WHERE tenant_id = ? AND ticket_id = ? ORDER BY id",
        )
        .bind(tenant)
        .bind(ticket)
        .fetch_all(self.pool())
        .await?)
    }
}
