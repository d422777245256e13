//! Which parts of the context a condition plugin reads, so that after a rule's effects change
//! the ticket only the leaves whose answer can change are evaluated again; the others keep
//! their answers (conditions are pure functions of the context).
//!
//! The built-in plugins ship with the host and their names cannot be taken by an upload, so
//! their reads are listed here (checked against each plugin's source; a test below keeps the
//! list complete). Every other plugin is taken to read everything.

use crate::store::{MessageRow, TicketRow};

/// A set of context parts, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Parts(u32);

impl Parts {
    /// Nothing.
    pub const NONE: Parts = Parts(0);
    /// Subject.
    pub const SUBJECT: Parts = Parts(1);
    /// Status, its category, when it was entered, `closed_at`.
    pub const STATUS: Parts = Parts(1 << 1);
    /// Category.
    pub const CATEGORY: Parts = Parts(1 << 2);
    /// Priority.
    pub const PRIORITY: Parts = Parts(1 << 3);
    /// Ticket type.
    pub const TICKET_TYPE: Parts = Parts(1 << 4);
    /// Source.
    pub const SOURCE: Parts = Parts(1 << 5);
    /// Inbox and inbox group.
    pub const INBOX: Parts = Parts(1 << 6);
    /// Connected account.
    pub const ACCOUNT: Parts = Parts(1 << 7);
    /// Customer.
    pub const CUSTOMER: Parts = Parts(1 << 8);
    /// Assignee and when assigned.
    pub const ASSIGNEE: Parts = Parts(1 << 9);
    /// Tags.
    pub const TAGS: Parts = Parts(1 << 10);
    /// Language.
    pub const LANGUAGE: Parts = Parts(1 << 11);
    /// Creation time.
    pub const CREATED: Parts = Parts(1 << 12);
    /// Last update time.
    pub const UPDATED: Parts = Parts(1 << 13);
    /// The conversation: latest message, last customer and agent message times, answered.
    pub const CONVERSATION: Parts = Parts(1 << 14);
    /// Everything.
    pub const ALL: Parts = Parts(u32::MAX);

    /// Whether the two sets share a part.
    pub fn meets(self, other: Parts) -> bool {
        self.0 & other.0 != 0
    }
}

impl std::ops::BitOr for Parts {
    type Output = Parts;
    fn bitor(self, other: Parts) -> Parts {
        Parts(self.0 | other.0)
    }
}

impl std::ops::BitOrAssign for Parts {
    fn bitor_assign(&mut self, other: Parts) {
        self.0 |= other.0;
    }
}

/// What a condition plugin reads besides the event, `now`, the time zone and the directory
/// (which do not change within a chain).
pub fn reads(plugin: &str) -> Parts {
    use Parts as P;
    match plugin {
        "source" => P::SOURCE,
        "subject-contains" => P::SUBJECT,
        "message-contains" => P::CONVERSATION | P::SUBJECT,
        "customer-name-contains" | "sender-email" => P::CUSTOMER,
        "working-hours" => P::INBOX | P::ASSIGNEE,
        "day-of-week" | "hour" | "event" => P::NONE,
        "allegro-account" => P::ACCOUNT | P::SOURCE,
        "integration" => P::ACCOUNT,
        "inbox" | "inbox-group" => P::INBOX,
        "status" | "status-set" | "ticket-closed" => P::STATUS,
        "category" => P::CATEGORY,
        "priority" => P::PRIORITY,
        "ticket-type" => P::TICKET_TYPE,
        "tag" | "tag-added" => P::TAGS,
        "assignee" => P::ASSIGNEE,
        "reply-status" => P::CONVERSATION,
        "last-customer-reply" | "last-agent-reply" => P::CONVERSATION | P::CREATED,
        "ticket-created" => P::CREATED,
        "in-status-for" => P::STATUS | P::CREATED,
        "assigned-for" => P::ASSIGNEE | P::CONVERSATION,
        _ => P::ALL,
    }
}

/// The parts that differ between two states of a ticket (and its latest message).
pub fn changed(
    before: &TicketRow,
    after: &TicketRow,
    latest_before: Option<&MessageRow>,
    latest_after: Option<&MessageRow>,
) -> Parts {
    use Parts as P;
    let mut parts = P::NONE;
    let mut mark = |differs: bool, part: Parts| {
        if differs {
            parts |= part;
        }
    };
    mark(before.subject != after.subject, P::SUBJECT);
    mark(
        before.status != after.status
            || before.status_changed_at != after.status_changed_at
            || before.closed_at != after.closed_at,
        P::STATUS,
    );
    mark(before.category != after.category, P::CATEGORY);
    mark(before.priority != after.priority, P::PRIORITY);
    mark(before.ticket_type != after.ticket_type, P::TICKET_TYPE);
    mark(before.source != after.source, P::SOURCE);
    mark(before.inbox_id != after.inbox_id, P::INBOX);
    mark(before.account != after.account, P::ACCOUNT);
    mark(
        before.customer_id != after.customer_id
            || before.customer_name != after.customer_name
            || before.customer_email != after.customer_email
            || before.customer_phone != after.customer_phone,
        P::CUSTOMER,
    );
    mark(
        before.assignee_id != after.assignee_id || before.assigned_at != after.assigned_at,
        P::ASSIGNEE,
    );
    mark(before.tags != after.tags, P::TAGS);
    mark(before.language != after.language, P::LANGUAGE);
    mark(before.created_at != after.created_at, P::CREATED);
    mark(before.updated_at != after.updated_at, P::UPDATED);
    mark(
        before.last_customer_message_at != after.last_customer_message_at
            || before.last_agent_message_at != after.last_agent_message_at
            || before.answered != after.answered
            || latest_before.map(|m| (m.id, &m.body, m.sent_at, &m.author))
                != latest_after.map(|m| (m.id, &m.body, m.sent_at, &m.author)),
        P::CONVERSATION,
    );
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_condition_plugin_has_its_reads_listed() {
        let host = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(host.join("../plugins")).unwrap() {
            let dir = entry.unwrap().path();
            let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap_or_default();
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            if lib.contains("impl Condition for") && reads(&name) == Parts::ALL {
                missing.push(name);
            }
        }
        assert!(missing.is_empty(), "reads() does not list {missing:?}");
    }

    #[test]
    fn an_unknown_plugin_reads_everything() {
        assert_eq!(reads("vendor-crm-lookup"), Parts::ALL);
        assert!(reads("vendor-crm-lookup").meets(Parts::UPDATED));
    }

    #[test]
    fn an_assignment_touches_only_the_assignee() {
        let before = TicketRow {
            id: 1,
            number: 1,
            subject: "Reklamacja".into(),
            status: "new".into(),
            status_changed_at: 0,
            category: None,
            priority: None,
            ticket_type: None,
            source: "email".into(),
            inbox_id: None,
            account: None,
            customer_id: 1,
            customer_name: "Jan".into(),
            customer_email: None,
            customer_phone: None,
            assignee_id: None,
            assigned_at: None,
            tags: "[]".into(),
            language: None,
            created_at: 0,
            updated_at: 0,
            closed_at: None,
            last_customer_message_at: None,
            last_agent_message_at: None,
            answered: false,
            revision: 0,
        };
        let mut after = before.clone();
        after.assignee_id = Some(3);
        after.assigned_at = Some(5);
        after.updated_at += 1;
        let parts = changed(&before, &after, None, None);
        assert!(parts.meets(Parts::ASSIGNEE));
        assert!(!parts.meets(reads("subject-contains") | reads("source") | reads("status")));
        assert!(parts.meets(reads("working-hours")));
    }
}
