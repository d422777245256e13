//! Tickets and messages as JSON: the shapes the API answers with and webhooks carry, in one
//! place so an integration sees the same object both ways.

use crate::store::{MessageRow, TicketRow};
use serde_json::{Value, json};

/// Milliseconds → RFC 3339 text (UTC).
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Optional milliseconds → optional text.
pub fn time_opt(ms: Option<i64>) -> Option<String> {
    ms.map(time)
}

/// A ticket.
pub fn ticket(t: &TicketRow, status_category: &str) -> Value {
    json!({
        "id": t.id, "number": t.number, "subject": t.subject, "status": t.status, "status_category": status_category,
        "status_changed_at": time(t.status_changed_at), "category": t.category, "priority": t.priority,
        "type": t.ticket_type, "source": t.source, "inbox": t.inbox_id, "account": t.account,
        "customer": {"id": t.customer_id, "name": t.customer_name, "email": t.customer_email, "phone": t.customer_phone},
        "assignee": t.assignee_id, "assigned_at": time_opt(t.assigned_at),
        "tags": serde_json::from_str::<Value>(&t.tags).unwrap_or_else(|_| json!([])), "language": t.language,
        "created_at": time(t.created_at), "updated_at": time(t.updated_at),
        "closed_at": time_opt(t.closed_at),
        "last_customer_message_at": time_opt(t.last_customer_message_at),
        "last_agent_message_at": time_opt(t.last_agent_message_at), "answered": t.answered,
    })
}

/// A message (without its attachments and delivery, which the API adds).
pub fn message(m: &MessageRow) -> Value {
    json!({"id": m.id, "ticket_id": m.ticket_id, "author": m.author, "direction": m.direction, "subject": m.subject,
           "body": m.body, "language": m.language, "rule_id": m.rule_id, "sent_at": time(m.sent_at)})
}
