//! Building the plugins' view of a ticket from stored rows.

use crate::store::{AgentRow, InboxRow, MessageRow, StatusRow, TicketRow};
use ferrule_types as t;

fn time(ms: i64) -> t::Timestamp {
    t::Timestamp::from_timestamp_millis(ms).unwrap_or_default()
}

/// The tenant's directory as plugins see it (ids as strings).
pub fn agent(a: &AgentRow) -> t::Agent {
    t::Agent {
        id: a.id.to_string(),
        name: a.name.clone(),
        email: a.email.clone(),
        phone: a.phone.clone(),
        working_hours: a
            .working_hours
            .as_deref()
            .and_then(|h| serde_json::from_str(h).ok()),
    }
}

/// An inbox as plugins see it.
pub fn inbox(i: &InboxRow) -> t::Inbox {
    t::Inbox {
        id: i.id.to_string(),
        name: i.name.clone(),
        group: i.grp.clone(),
        working_hours: i
            .working_hours
            .as_deref()
            .and_then(|h| serde_json::from_str(h).ok()),
    }
}

/// The category of a status name (`open` when the tenant has no such status).
pub fn category_of(statuses: &[StatusRow], status: &str) -> t::StatusCategory {
    let category = statuses
        .iter()
        .find(|s| s.name == status)
        .map_or("open", |s| s.category.as_str());
    match category {
        "new" => t::StatusCategory::New,
        "pending" => t::StatusCategory::Pending,
        "solved" => t::StatusCategory::Solved,
        "closed" => t::StatusCategory::Closed,
        _ => t::StatusCategory::Open,
    }
}

/// A ticket as plugins see it.
pub fn ticket(row: &TicketRow, statuses: &[StatusRow], inboxes: &[InboxRow]) -> t::Ticket {
    let inbox = row
        .inbox_id
        .and_then(|id| inboxes.iter().find(|i| i.id == id));
    t::Ticket {
        id: row.id.to_string(),
        number: row.number as u64,
        subject: row.subject.clone(),
        status: row.status.clone(),
        status_category: category_of(statuses, &row.status),
        status_changed_at: Some(time(row.status_changed_at)),
        category: row.category.clone(),
        priority: row.priority.clone(),
        ticket_type: row.ticket_type.clone(),
        source: row.source.clone(),
        inbox: row.inbox_id.map(|i| i.to_string()),
        inbox_group: inbox.and_then(|i| i.grp.clone()),
        account: row.account.clone(),
        customer: t::Customer {
            name: row.customer_name.clone(),
            email: row.customer_email.clone(),
            phone: row.customer_phone.clone(),
        },
        assignee: row.assignee_id.map(|a| a.to_string()),
        assigned_at: row.assigned_at.map(time),
        tags: serde_json::from_str(&row.tags).unwrap_or_default(),
        language: row.language.clone(),
        created_at: time(row.created_at),
        updated_at: Some(time(row.updated_at)),
        closed_at: row.closed_at.map(time),
        last_customer_message_at: row.last_customer_message_at.map(time),
        last_agent_message_at: row.last_agent_message_at.map(time),
        answered: row.answered,
    }
}

/// A message as plugins see it.
pub fn message(m: &MessageRow) -> t::Message {
    t::Message {
        id: m.id.to_string(),
        author: if m.author == "customer" {
            t::Author::Customer
        } else {
            t::Author::Agent
        },
        body: m.body.clone(),
        sent_at: time(m.sent_at),
    }
}
