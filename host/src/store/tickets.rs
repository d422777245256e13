//! Tickets, customers and messages.

use super::{Result, Store, Tx, now_ms};
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
    /// Create a ticket (and its customer when no customer of the tenant has that e-mail).
    pub async fn create_ticket(&self, tx: &mut Tx, tenant: i64, t: &NewTicket) -> Result<i64> {
        let existing: Option<i64> = match &t.customer_email {
            Some(email) => sqlx::query_scalar(
                "SELECT id FROM customers WHERE tenant_id = ? AND email = ? ORDER BY id LIMIT 1",
            )
            .bind(tenant)
            .bind(email)
            .fetch_optional(&mut **tx)
            .await?,
            None => None,
        };
        let customer_id = match existing {
            Some(id) => id,
            None => {
                sqlx::query_scalar("INSERT INTO customers (tenant_id, name, email, phone) VALUES (?, ?, ?, ?) RETURNING id")
                    .bind(tenant)
                    .bind(&t.customer_name)
                    .bind(&t.customer_email)
                    .bind(&t.customer_phone)
                    .fetch_one(&mut **tx)
                    .await?
            }
        };
        let number: i64 = sqlx::query_scalar("UPDATE tenants SET next_number = next_number + 1 WHERE id = ? RETURNING next_number - 1")
            .bind(tenant)
            .fetch_one(&mut **tx)
            .await?;
        let id = sqlx::query_scalar(
            "INSERT INTO tickets (tenant_id, number, subject, status, status_changed_at, category, priority, ticket_type, \
             source, inbox_id, account, customer_id, tags, language, created_at, updated_at, due_at, \
             assignee_id, assigned_at, closed_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(tenant)
        .bind(number)
        .bind(&t.subject)
        .bind(&t.status)
        .bind(t.created_at)
        .bind(&t.category)
        .bind(&t.priority)
        .bind(&t.ticket_type)
        .bind(&t.source)
        .bind(t.inbox_id)
        .bind(&t.account)
        .bind(customer_id)
        .bind(serde_json::to_string(&t.tags)?)
        .bind(&t.language)
        .bind(t.created_at)
        .bind(t.created_at)
        // A new ticket is due for the scheduler's first look at the time rules.
        .bind(now_ms())
        .bind(t.assignee_id)
        .bind(t.assignee_id.map(|_| t.created_at))
        .bind(t.closed_at)
        .fetch_one(&mut **tx)
        .await?;
        Ok(id)
    }

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

    /// Write every mutable field of a ticket back, if nobody wrote it since `t` was read
    /// (`t.revision` is still the stored one). Bumps the revision and makes the ticket due for
    /// the scheduler, which re-evaluates time rules after every change. False on a conflict.
    pub async fn save_ticket(&self, tx: &mut Tx, tenant: i64, t: &TicketRow) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE tickets SET subject = ?, status = ?, status_changed_at = ?, category = ?, priority = ?, ticket_type = ?, \
             inbox_id = ?, account = ?, assignee_id = ?, assigned_at = ?, tags = ?, language = ?, updated_at = ?, \
             closed_at = ?, last_customer_message_at = ?, last_agent_message_at = ?, answered = ?, \
             revision = revision + 1, due_at = ? \
             WHERE tenant_id = ? AND id = ? AND revision = ?",
        )
        .bind(&t.subject)
        .bind(&t.status)
        .bind(t.status_changed_at)
        .bind(&t.category)
        .bind(&t.priority)
        .bind(&t.ticket_type)
        .bind(t.inbox_id)
        .bind(&t.account)
        .bind(t.assignee_id)
        .bind(t.assigned_at)
        .bind(&t.tags)
        .bind(&t.language)
        .bind(t.updated_at)
        .bind(t.closed_at)
        .bind(t.last_customer_message_at)
        .bind(t.last_agent_message_at)
        .bind(t.answered)
        .bind(now_ms())
        .bind(tenant)
        .bind(t.id)
        .bind(t.revision)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Add a message to a ticket.
    pub async fn add_message(
        &self,
        tx: &mut Tx,
        tenant: i64,
        ticket: i64,
        m: &NewMessage,
    ) -> Result<MessageRow> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO messages (tenant_id, ticket_id, author, direction, subject, body, language, rule_id, sent_at, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(tenant)
        .bind(ticket)
        .bind(&m.author)
        .bind(&m.direction)
        .bind(&m.subject)
        .bind(&m.body)
        .bind(&m.language)
        .bind(m.rule_id)
        .bind(m.sent_at)
        .bind(now_ms())
        .fetch_one(&mut **tx)
        .await?;
        Ok(MessageRow {
            id,
            ticket_id: ticket,
            author: m.author.clone(),
            direction: m.direction.clone(),
            subject: m.subject.clone(),
            body: m.body.clone(),
            language: m.language.clone(),
            rule_id: m.rule_id,
            sent_at: m.sent_at,
        })
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
    pub async fn latest_message(
        &self,
        tx: &mut Tx,
        tenant: i64,
        ticket: i64,
    ) -> Result<Option<MessageRow>> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE tenant_id = ? AND ticket_id = ? ORDER BY sent_at DESC, id DESC LIMIT 1"
        )))
        .bind(tenant)
        .bind(ticket)
        .fetch_optional(&mut **tx)
        .await?)
    }

    /// Queue an outgoing e-mail, SMS or notification.
    pub async fn add_outbox(
        &self,
        tx: &mut Tx,
        tenant: i64,
        ticket: i64,
        rule: Option<i64>,
        o: &Outgoing,
    ) -> Result<()> {
        sqlx::query("INSERT INTO outbox (tenant_id, ticket_id, rule_id, kind, recipient, subject, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(tenant)
            .bind(ticket)
            .bind(rule)
            .bind(o.kind)
            .bind(&o.recipient)
            .bind(&o.subject)
            .bind(&o.body)
            .bind(now_ms())
            .execute(&mut **tx)
            .await?;
        Ok(())
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
