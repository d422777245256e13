//! What one chain of work on a ticket writes, as data, and how the writer applies it: the ticket
//! (created, or saved with a revision check), its new messages, outgoing items, run records,
//! events and the scheduler's state — all in the chain's savepoint of one group commit.

use super::writer::WriteError;
use super::{NewMessage, Outgoing, Subscription, TicketRow};
use crate::domain::views;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use std::sync::Arc;

/// How the ticket row is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketWrite {
    /// A new ticket (intake): inserted with its id and number handed out in memory; its
    /// customer is found by e-mail or added.
    Insert,
    /// Saved if still at `ticket.revision` (bumps the revision).
    Update,
    /// Not written (the chain changed nothing on it).
    Unchanged,
}

/// A run record, serialised.
#[derive(Debug, Clone)]
pub struct RunText {
    /// The rule.
    pub rule_id: i64,
    /// Its revision that ran.
    pub rule_revision: i64,
    /// The event kind.
    pub event: &'static str,
    /// The record's outcome.
    pub outcome: String,
    /// The record JSON, or its compact form.
    pub record: String,
    /// Whether `record` is the compact form of a not-matched run.
    pub compact: bool,
}

/// An event to store.
#[derive(Debug, Clone)]
pub struct EventText {
    /// Kind.
    pub kind: &'static str,
    /// The event as JSON.
    pub payload: String,
    /// Steps from the outside change.
    pub depth: usize,
    /// When it was processed (None: still to process).
    pub processed_at: Option<i64>,
}

/// Everything a chain writes.
#[derive(Debug, Clone)]
pub struct ChainWrite {
    /// The tenant.
    pub tenant: i64,
    /// The ticket as the chain left it (for `Update`, `revision` is the one it was read at).
    pub ticket: TicketRow,
    /// How the ticket row is written.
    pub mode: TicketWrite,
    /// Messages to add, in order (an intake's inbound message first, then the rules' replies).
    pub messages: Vec<NewMessage>,
    /// Outgoing e-mails, SMS and notifications, with the rule that queued each.
    pub outbox: Vec<(Option<i64>, Outgoing)>,
    /// Run records.
    pub runs: Vec<RunText>,
    /// Events to store.
    pub events: Vec<EventText>,
    /// Stored events the chain processed.
    pub processed: Vec<i64>,
    /// Time rules that fired (recorded at the revision the write leaves).
    pub time_fires: Vec<i64>,
    /// When the scheduler looks next, as the scheduler's chain settled it for the ticket as
    /// the chain leaves it (None: a changed ticket is due now, an unchanged one keeps its time).
    pub due: Option<Option<i64>>,
    /// Whether a written ticket is due for the scheduler now (its tenant has time rules; a
    /// tenant's first time rule makes all its open tickets due).
    pub due_now: bool,
    /// The moment of the write.
    pub now: i64,
    /// For `Insert`: the channel's id of the ticket (unique per tenant and source).
    pub external_id: Option<String>,
    /// Keys of things a channel reports once (an Allegro return): the write is refused as a
    /// duplicate when one was written before.
    pub imports: Vec<String>,
    /// The tenant's webhooks (each gets the notices it subscribes to).
    pub hooks: Arc<[Subscription]>,
    /// The category of the ticket's status (for the ticket in webhook notices).
    pub status_category: String,
}

/// What the write settled.
#[derive(Debug, Clone)]
pub struct Written {
    /// The ticket's customer.
    pub customer_id: i64,
    /// The revision the ticket is at now.
    pub revision: i64,
    /// The ids of the added messages, in order.
    pub message_ids: Vec<i64>,
    /// Whether deliveries were queued (the delivery worker is woken).
    pub deliveries: bool,
}

fn customer(conn: &Connection, tenant: i64, t: &TicketRow) -> Result<i64, WriteError> {
    if let Some(email) = &t.customer_email {
        let found: Option<i64> = conn
            .prepare_cached(
                "SELECT id FROM customers WHERE tenant_id = ?1 AND email = ?2 ORDER BY id LIMIT 1",
            )?
            .query_row(params![tenant, email], |r| r.get(0))
            .optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
    }
    conn.prepare_cached(
        "INSERT INTO customers (tenant_id, name, email, phone) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        tenant,
        t.customer_name,
        t.customer_email,
        t.customer_phone
    ])?;
    Ok(conn.last_insert_rowid())
}

fn insert_ticket(conn: &Connection, w: &ChainWrite, customer_id: i64) -> Result<(), WriteError> {
    let t = &w.ticket;
    if let Some(external) = &w.external_id {
        let existing: Option<i64> = conn
            .prepare_cached(
                "SELECT id FROM tickets WHERE tenant_id = ?1 AND source = ?2 AND external_id = ?3",
            )?
            .query_row(params![w.tenant, t.source, external], |r| r.get(0))
            .optional()?;
        if let Some(ticket_id) = existing {
            return Err(WriteError::Duplicate {
                ticket_id,
                message_id: None,
            });
        }
    }
    let taken: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM tickets WHERE id = ?1 OR (tenant_id = ?2 AND number = ?3)")?
        .query_row(params![t.id, w.tenant, t.number], |r| r.get(0))
        .optional()?;
    if taken.is_some() {
        return Err(WriteError::IdTaken);
    }
    conn.prepare_cached(
        "INSERT INTO tickets (id, tenant_id, number, subject, status, status_changed_at, category, priority, \
         ticket_type, source, inbox_id, account, customer_id, assignee_id, assigned_at, tags, language, \
         created_at, updated_at, closed_at, last_customer_message_at, last_agent_message_at, answered, \
         revision, due_at, external_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, \
         ?21, ?22, ?23, ?24, ?25, ?26)",
    )?
    .execute(params![
        t.id,
        w.tenant,
        t.number,
        t.subject,
        t.status,
        t.status_changed_at,
        t.category,
        t.priority,
        t.ticket_type,
        t.source,
        t.inbox_id,
        t.account,
        customer_id,
        t.assignee_id,
        t.assigned_at,
        t.tags,
        t.language,
        t.created_at,
        t.updated_at,
        t.closed_at,
        t.last_customer_message_at,
        t.last_agent_message_at,
        t.answered,
        t.revision,
        // A new ticket is due for the scheduler's first look at the time rules.
        w.due_now.then_some(w.now),
        w.external_id,
    ])?;
    conn.prepare_cached("UPDATE tenants SET next_number = MAX(next_number, ?1) WHERE id = ?2")?
        .execute(params![t.number + 1, w.tenant])?;
    Ok(())
}

fn update_ticket(conn: &Connection, w: &ChainWrite) -> Result<(), WriteError> {
    let t = &w.ticket;
    // Every change makes the ticket due for the scheduler's look at its time rules, unless the
    // scheduler's own chain already looked at the changed ticket and settled when.
    let (set_due, due) = match w.due {
        Some(settled) => (true, settled),
        None => (w.due_now, Some(w.now)),
    };
    let done = conn
        .prepare_cached(
            "UPDATE tickets SET subject = ?1, status = ?2, status_changed_at = ?3, category = ?4, priority = ?5, \
             ticket_type = ?6, inbox_id = ?7, account = ?8, assignee_id = ?9, assigned_at = ?10, tags = ?11, \
             language = ?12, updated_at = ?13, closed_at = ?14, last_customer_message_at = ?15, \
             last_agent_message_at = ?16, answered = ?17, revision = revision + 1, due_at = CASE WHEN ?22 THEN ?18 ELSE due_at END \
             WHERE tenant_id = ?19 AND id = ?20 AND revision = ?21",
        )?
        .execute(params![
            t.subject,
            t.status,
            t.status_changed_at,
            t.category,
            t.priority,
            t.ticket_type,
            t.inbox_id,
            t.account,
            t.assignee_id,
            t.assigned_at,
            t.tags,
            t.language,
            t.updated_at,
            t.closed_at,
            t.last_customer_message_at,
            t.last_agent_message_at,
            t.answered,
            due,
            w.tenant,
            t.id,
            t.revision,
            set_due,
        ])?;
    if done == 1 {
        Ok(())
    } else {
        Err(WriteError::Conflict)
    }
}

/// Apply a chain's writes (inside the writer's savepoint for it).
pub(super) fn apply(conn: &Connection, w: &ChainWrite) -> Result<Written, WriteError> {
    let (tenant, ticket) = (w.tenant, w.ticket.id);
    let mut written = Written {
        customer_id: w.ticket.customer_id,
        revision: w.ticket.revision,
        message_ids: Vec::with_capacity(w.messages.len()),
        deliveries: false,
    };
    match w.mode {
        TicketWrite::Insert => {
            written.customer_id = customer(conn, tenant, &w.ticket)?;
            insert_ticket(conn, w, written.customer_id)?;
        }
        TicketWrite::Update => {
            update_ticket(conn, w)?;
            written.revision += 1;
        }
        TicketWrite::Unchanged => {
            if let Some(due) = w.due {
                // Only if the ticket is still at the revision the scheduler evaluated.
                conn.prepare_cached(
                    "UPDATE tickets SET due_at = ?1 WHERE id = ?2 AND revision = ?3",
                )?
                .execute(params![due, ticket, w.ticket.revision])?;
            }
        }
    }
    for key in &w.imports {
        import_once(conn, w, key)?;
    }
    if !w.messages.is_empty() {
        add_messages(conn, w, &mut written)?;
    }
    if !w.outbox.is_empty() {
        queue_outbox(conn, w, &written)?;
        written.deliveries = true;
    }
    if !w.hooks.is_empty() {
        written.deliveries |= notify_hooks(conn, w, &written)?;
    }
    if !w.runs.is_empty() {
        let mut add = conn.prepare_cached(
            "INSERT INTO runs (tenant_id, rule_id, rule_revision, ticket_id, event, outcome, record, compact, \
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for r in &w.runs {
            add.execute(params![
                tenant,
                r.rule_id,
                r.rule_revision,
                ticket,
                r.event,
                r.outcome,
                r.record,
                r.compact,
                w.now
            ])?;
        }
    }
    if !w.events.is_empty() {
        let mut add = conn.prepare_cached(
            "INSERT INTO events (tenant_id, ticket_id, kind, payload, depth, created_at, processed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for e in &w.events {
            add.execute(params![
                tenant,
                ticket,
                e.kind,
                e.payload,
                e.depth as i64,
                w.now,
                e.processed_at
            ])?;
        }
    }
    if !w.processed.is_empty() {
        let mut mark = conn.prepare_cached(
            "UPDATE events SET processed_at = ?1 WHERE id = ?2 AND processed_at IS NULL",
        )?;
        for id in &w.processed {
            mark.execute(params![w.now, id])?;
        }
    }
    if !w.time_fires.is_empty() {
        let mut fire = conn.prepare_cached(
            "INSERT INTO time_fires (rule_id, ticket_id, ticket_revision, fired_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (ticket_id, rule_id) DO UPDATE SET ticket_revision = excluded.ticket_revision, \
             fired_at = excluded.fired_at",
        )?;
        for rule in &w.time_fires {
            fire.execute(params![rule, ticket, written.revision, w.now])?;
        }
    }
    Ok(written)
}

fn import_once(conn: &Connection, w: &ChainWrite, key: &str) -> Result<(), WriteError> {
    let existing: Option<i64> = conn
        .prepare_cached("SELECT ticket_id FROM imports WHERE tenant_id = ?1 AND key = ?2")?
        .query_row(params![w.tenant, key], |r| r.get(0))
        .optional()?;
    if let Some(ticket_id) = existing {
        return Err(WriteError::Duplicate {
            ticket_id,
            message_id: None,
        });
    }
    conn.prepare_cached(
        "INSERT INTO imports (tenant_id, key, ticket_id, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![w.tenant, key, w.ticket.id, w.now])?;
    Ok(())
}

fn add_messages(
    conn: &Connection,
    w: &ChainWrite,
    written: &mut Written,
) -> Result<(), WriteError> {
    let (tenant, ticket) = (w.tenant, w.ticket.id);
    let mut add = conn.prepare_cached(
        "INSERT INTO messages (tenant_id, ticket_id, author, direction, subject, body, language, rule_id, \
         sent_at, created_at, external_id, source, full_body, cc, auto_generated) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    for m in &w.messages {
        if let Some(external) = &m.external_id {
            let existing: Option<(i64, i64)> = conn
                .prepare_cached(
                    "SELECT ticket_id, id FROM messages WHERE tenant_id = ?1 AND source = ?2 AND external_id = ?3",
                )?
                .query_row(params![tenant, w.ticket.source, external], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            if let Some((ticket_id, id)) = existing {
                return Err(WriteError::Duplicate {
                    ticket_id,
                    message_id: Some(id),
                });
            }
        }
        let mail = m.mail.as_deref();
        add.execute(params![
            tenant,
            ticket,
            m.author,
            m.direction,
            m.subject,
            m.body,
            m.language,
            m.rule_id,
            m.sent_at,
            w.now,
            m.external_id,
            w.ticket.source,
            mail.map(|x| x.full_body.as_str()),
            mail.filter(|x| !x.cc.is_empty())
                .map(|x| serde_json::to_string(&x.cc).unwrap_or_default()),
            mail.is_some_and(|x| x.auto_generated),
        ])?;
        let id = conn.last_insert_rowid();
        written.message_ids.push(id);
        if let Some(mail) = mail {
            let mut attach = conn.prepare_cached(
                "INSERT INTO attachments (tenant_id, message_id, name, content_type, size, bytes) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for a in &mail.attachments {
                attach.execute(params![tenant, id, a.name, a.content_type, a.size, a.bytes])?;
            }
        }
    }
    Ok(())
}

/// The rules' outgoing items become deliveries, due now. A reply on a ticket without a built-in
/// connector goes to every webhook subscribed to `delivery.requested` (dead when there is none,
/// so it is visible rather than lost).
fn queue_outbox(conn: &Connection, w: &ChainWrite, written: &Written) -> Result<(), WriteError> {
    let mut add = conn.prepare_cached(
        "INSERT INTO outbox (tenant_id, ticket_id, rule_id, kind, recipient, subject, body, created_at, \
         channel, state, next_attempt_at, message_ref, webhook_id, payload, last_error) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    for (rule, o) in &w.outbox {
        let message_ref = o.message.and_then(|i| written.message_ids.get(i).copied());
        if o.channel != "webhook" {
            add.execute(params![
                w.tenant,
                w.ticket.id,
                rule,
                o.kind,
                o.recipient,
                o.subject,
                o.body,
                w.now,
                o.channel,
                "pending",
                w.now,
                message_ref,
                None::<i64>,
                None::<String>,
                None::<String>,
            ])?;
            continue;
        }
        let message = message_ref.and_then(|id| {
            let i = o.message?;
            Some(views::message(&w.messages[i].stored(id, w.ticket.id)))
        });
        let data = json!({
            "ticket": views::ticket(&w.ticket, &w.status_category),
            "message": message,
            "channel": w.ticket.source,
            "to": {"name": w.ticket.customer_name, "email": w.ticket.customer_email, "phone": w.ticket.customer_phone},
        });
        let payload = notice("delivery.requested", w.now, data);
        let hooks: Vec<&Subscription> = w
            .hooks
            .iter()
            .filter(|h| h.wants("delivery.requested"))
            .collect();
        if hooks.is_empty() {
            add.execute(params![
                w.tenant,
                w.ticket.id,
                rule,
                o.kind,
                o.recipient,
                o.subject,
                o.body,
                w.now,
                "webhook",
                "dead",
                None::<i64>,
                message_ref,
                None::<i64>,
                payload,
                format!(
                    "the ticket's source `{}` has no built-in connector and no webhook subscribes to \
                     `delivery.requested` (POST /webhooks)",
                    w.ticket.source
                ),
            ])?;
        }
        for hook in hooks {
            add.execute(params![
                w.tenant,
                w.ticket.id,
                rule,
                o.kind,
                hook.url,
                o.subject,
                o.body,
                w.now,
                "webhook",
                "pending",
                w.now,
                message_ref,
                hook.id,
                payload,
                None::<String>,
            ])?;
        }
    }
    Ok(())
}

/// A webhook body: `{type, timestamp, data}`.
pub(super) fn notice(kind: &str, now: i64, data: serde_json::Value) -> String {
    json!({"type": kind, "timestamp": views::time(now), "data": data}).to_string()
}

/// Queue the notices of this write for the webhooks that subscribe to them. Whether any was
/// queued.
fn notify_hooks(conn: &Connection, w: &ChainWrite, written: &Written) -> Result<bool, WriteError> {
    let mut notices: Vec<(&str, serde_json::Value)> = Vec::new();
    let wants = |kind: &str| w.hooks.iter().any(|h| h.wants(kind));
    let ticket = || views::ticket(&w.ticket, &w.status_category);
    match w.mode {
        TicketWrite::Insert if wants("ticket.created") => {
            notices.push(("ticket.created", json!({"ticket": ticket()})))
        }
        TicketWrite::Update if wants("ticket.updated") => {
            notices.push(("ticket.updated", json!({"ticket": ticket()})))
        }
        _ => {}
    }
    if wants("message.created") {
        for (m, id) in w.messages.iter().zip(&written.message_ids) {
            notices.push((
                "message.created",
                json!({"ticket_id": w.ticket.id, "message": views::message(&m.stored(*id, w.ticket.id))}),
            ));
        }
    }
    if wants("rule.fired") {
        for r in w.runs.iter().filter(|r| r.outcome == "fired") {
            notices.push((
                "rule.fired",
                json!({"ticket_id": w.ticket.id, "rule_id": r.rule_id, "rule_revision": r.rule_revision,
                       "event": r.event}),
            ));
        }
    }
    if notices.is_empty() {
        return Ok(false);
    }
    let mut add = conn.prepare_cached(
        "INSERT INTO outbox (tenant_id, ticket_id, kind, recipient, body, created_at, channel, state, \
         next_attempt_at, webhook_id, payload) \
         VALUES (?1, ?2, 'webhook', ?3, ?4, ?5, 'webhook', 'pending', ?5, ?6, ?7)",
    )?;
    let mut queued = false;
    for (kind, data) in notices {
        let payload = notice(kind, w.now, data);
        for hook in w.hooks.iter().filter(|h| h.wants(kind)) {
            add.execute(params![
                w.tenant,
                w.ticket.id,
                hook.url,
                kind,
                w.now,
                hook.id,
                payload
            ])?;
            queued = true;
        }
    }
    Ok(queued)
}
