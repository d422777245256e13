//! Fixtures and helpers for testing plugin logic natively with `cargo test`.
//!
//! ```
//! use ferrule_plugin_sdk::testing;
//!
//! let mut ctx = testing::context();
//! ctx.ticket.subject = "Zwrot towaru".into();
//! ctx.ticket.tags.push("vip".into());
//! assert_eq!(ctx.ticket.source, "email");
//! ```
//!
//! To run the built component in the real sandbox, use `ferrule_host::testing` (see the README).

use crate::{Action, Condition};
use ferrule_types::{
    Agent, Author, Calendar, Context, Customer, Effect, Event, Inbox, Message, PluginError,
    StatusCategory, Ticket, Timestamp, Verdict,
};
use std::cell::RefCell;

/// A timestamp from RFC 3339 text (`2026-11-16T10:00:00Z`). Panics on bad text: for tests.
pub fn at(rfc3339: &str) -> Timestamp {
    rfc3339
        .parse()
        .unwrap_or_else(|e| panic!("`{rfc3339}` is not RFC 3339: {e}"))
}

/// A new e-mail ticket from a Polish customer, created at 2026-11-16 09:00 UTC, status `new`.
pub fn ticket() -> Ticket {
    let created = at("2026-11-16T09:00:00Z");
    Ticket {
        id: "t-1".into(),
        number: 1042,
        subject: "Zamówienie 1042 nie dotarło".into(),
        status: "new".into(),
        status_category: StatusCategory::New,
        status_changed_at: Some(created),
        category: None,
        priority: Some("normal".into()),
        ticket_type: None,
        source: "email".into(),
        inbox: None,
        inbox_group: None,
        account: None,
        customer: Customer {
            name: "Jan Kowalski".into(),
            email: Some("jan.kowalski@example.pl".into()),
            phone: Some("+48600100200".into()),
        },
        assignee: None,
        assigned_at: None,
        tags: Vec::new(),
        language: Some("pl".into()),
        created_at: created,
        updated_at: Some(created),
        closed_at: None,
        last_customer_message_at: Some(created),
        last_agent_message_at: None,
        answered: false,
    }
}

/// The `ticket_created` event of [`ticket()`] at 2026-11-16 10:00 UTC (a Monday), tenant time
/// zone `Europe/Warsaw`, with the customer's first message.
pub fn context() -> Context {
    let ticket = ticket();
    Context {
        tenant: "tenant-1".into(),
        now: at("2026-11-16T10:00:00Z"),
        timezone: "Europe/Warsaw".into(),
        event: Event::TicketCreated,
        latest_message: Some(Message {
            id: "m-1".into(),
            author: Author::Customer,
            body: "Dzień dobry, paczka z zamówienia 1042 nie dotarła. Proszę o pomoc.".into(),
            sent_at: ticket.created_at,
        }),
        ticket,
    }
}

/// A context parsed from JSON in the shape `ferrule plugin run --context` reads.
pub fn context_from_json(json: &str) -> Context {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bad context fixture: {e}"))
}

/// Evaluate a condition natively: parse `config` (JSON) as the host would, then evaluate.
pub fn evaluate<C: Condition>(config: &str, ctx: &Context) -> Result<bool, PluginError> {
    verdict::<C>(config, ctx).map(|v| v.matches)
}

/// Like [`evaluate`], with the due-time hint.
pub fn verdict<C: Condition>(config: &str, ctx: &Context) -> Result<Verdict, PluginError> {
    crate::condition::run::evaluate::<C>(config, ctx)
}

/// Validate a condition config as the host does when a rule is saved.
pub fn validate_condition<C: Condition>(config: &str) -> Result<(), PluginError> {
    crate::condition::run::validate::<C>(config)
}

/// Run an action natively.
pub fn execute<A: Action>(config: &str, ctx: &Context) -> Result<Vec<Effect>, PluginError> {
    crate::action::run::execute::<A>(config, ctx)
}

/// Validate an action config as the host does when a rule is saved.
pub fn validate_action<A: Action>(config: &str) -> Result<(), PluginError> {
    crate::action::run::validate::<A>(config)
}

/// A tenant directory for native tests; [`Directory::install`] makes it what
/// [`crate::directory`] sees on this thread.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    agents: Vec<Agent>,
    inboxes: Vec<Inbox>,
}

thread_local! {
    static DIRECTORY: RefCell<Directory> = RefCell::new(Directory::default());
}

impl Directory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an agent with an id and a name.
    pub fn agent(mut self, id: &str, name: &str) -> Self {
        self.agents.push(Agent {
            id: id.into(),
            name: name.into(),
            email: None,
            phone: None,
            working_hours: None,
        });
        self
    }

    /// Add an agent with working hours (calendar JSON, see [`Calendar`]).
    pub fn agent_with_hours(mut self, id: &str, name: &str, calendar_json: &str) -> Self {
        self = self.agent(id, name);
        if let Some(a) = self.agents.last_mut() {
            a.working_hours = Some(calendar(calendar_json));
        }
        self
    }

    /// Add an inbox; `calendar_json` gives its working hours.
    pub fn inbox(mut self, id: &str, name: &str, calendar_json: Option<&str>) -> Self {
        self.inboxes.push(Inbox {
            id: id.into(),
            name: name.into(),
            group: None,
            working_hours: calendar_json.map(calendar),
        });
        self
    }

    /// Make this the directory of the current thread.
    pub fn install(self) {
        DIRECTORY.with(|d| *d.borrow_mut() = self);
    }
}

fn calendar(json: &str) -> Calendar {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bad calendar fixture: {e}"))
}

/// The secrets `secrets::get` answers with in native tests (the host's installation secrets in
/// the component).
#[derive(Debug, Clone, Default)]
pub struct Secrets(std::collections::BTreeMap<String, String>);

thread_local! {
    static SECRETS: RefCell<Secrets> = RefCell::new(Secrets::default());
}

impl Secrets {
    /// No secrets.
    pub fn new() -> Self {
        Self::default()
    }

    /// With a secret.
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Make these the secrets of this thread's calls.
    pub fn install(self) {
        SECRETS.with(|s| *s.borrow_mut() = self);
    }
}

#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(crate) fn secret(name: &str) -> Option<String> {
    SECRETS.with(|s| s.borrow().0.get(name).cloned())
}

#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(crate) fn directory_agent(id: &str) -> Option<Agent> {
    DIRECTORY.with(|d| d.borrow().agents.iter().find(|a| a.id == id).cloned())
}

#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(crate) fn directory_inbox(id: &str) -> Option<Inbox> {
    DIRECTORY.with(|d| d.borrow().inboxes.iter().find(|i| i.id == id).cloned())
}
