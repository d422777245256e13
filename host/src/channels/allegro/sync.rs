//! One sync pass of an account: message-center threads (changed since the last complete pass),
//! post-purchase issues (whose chat grew or whose type flipped) and customer returns (created
//! since the newest one imported). Everything is imported through the engine's idempotent
//! intake (`external_id`), so a pass cut off anywhere — a crash, a 429 storm, garbage — is
//! simply done again, and nothing is imported twice.

use super::shapes::{self, ChatMessage, CustomerReturn, Issue, Message, Thread};
use super::{Allegro, BETA, Failure, PUBLIC};
use crate::engine::{Engine, EngineError};
use crate::store::{
    AccountRow, MailParts, NewAttachment, NewMessage, NewTicket, SyncCounts, Tenant, now_ms,
};
use ferrule_types::Event;

/// Threads per page (Allegro's maximum).
const THREADS_PAGE: usize = 20;
/// Messages per page (Allegro's maximum).
const MESSAGES_PAGE: usize = 20;
/// Issues and chat messages per page (Allegro's maximum).
const ISSUES_PAGE: usize = 100;
/// Returns per page.
const RETURNS_PAGE: usize = 100;

/// Sources of Allegro tickets.
pub const MESSAGES: &str = "allegro-messages";
/// Post-purchase issues.
pub const DISCUSSIONS: &str = "allegro-discussions";

/// What a pass needs.
pub struct Pass<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// The client.
    pub allegro: &'a Allegro,
    /// The tenant.
    pub tenant: &'a Tenant,
    /// The account (connected).
    pub account: &'a AccountRow,
}

/// What a part of a pass did.
#[derive(Debug, Default)]
struct Part {
    counts: SyncCounts,
    error: Option<Failure>,
}

fn ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.timestamp_millis())
}

fn db(e: impl std::fmt::Display) -> Failure {
    Failure::Transient(format!("database: {e}"))
}

fn first_line(text: &str, chars: usize) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut out: String = line.chars().take(chars).collect();
    if line.chars().count() > chars {
        out.push('…');
    }
    out
}

impl Pass<'_> {
    /// Run the pass: (what it imported, the first failure of each part).
    pub async fn run(&self) -> (SyncCounts, Vec<Failure>) {
        let mut total = SyncCounts::default();
        let mut errors = Vec::new();
        for part in [
            self.threads().await,
            self.issues().await,
            self.returns().await,
        ] {
            total.messages += part.counts.messages;
            total.issues += part.counts.issues;
            total.returns += part.counts.returns;
            total.calls += part.counts.calls;
            errors.extend(part.error);
        }
        (total, errors)
    }

    fn store(&self) -> &crate::store::Store {
        self.engine.store()
    }

    fn login(&self) -> String {
        self.account.login.clone().unwrap_or_default()
    }

    // --- message center ---

    async fn threads(&self) -> Part {
        let mut part = Part::default();
        let mark = self.account.threads_mark.as_deref().and_then(ms);
        let mut newest: Option<String> = None;
        let mut offset = 0;
        let mut complete = true;
        'pages: loop {
            let path = format!("/messaging/threads?limit={THREADS_PAGE}&offset={offset}");
            let page: shapes::ThreadsPage = match self
                .allegro
                .get(self.account, &path, PUBLIC, &mut part.counts.calls)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    part.error = Some(e);
                    complete = false;
                    break;
                }
            };
            let count = page.threads.len();
            if newest.is_none() {
                newest = page
                    .threads
                    .iter()
                    .find_map(|t| t.last_message_date_time.clone());
            }
            // Threads come newest change first: one older than the last complete pass's
            // newest, and all after it, are unchanged.
            let mut reached_mark = false;
            let wanted: Vec<&Thread> = page
                .threads
                .iter()
                .filter(|t| {
                    let at = t.last_message_date_time.as_deref().and_then(ms);
                    if let (Some(mark), Some(at)) = (mark, at)
                        && at < mark
                    {
                        reached_mark = true;
                        return false;
                    }
                    !reached_mark
                })
                .collect();
            // A page's threads at once (20: few enough for Allegro's budget and the engine).
            let results: Vec<(SyncCounts, Option<Option<Failure>>)> =
                futures_util::future::join_all(wanted.into_iter().map(|t| self.thread(t))).await;
            for (counts, outcome) in results {
                part.counts.messages += counts.messages;
                part.counts.calls += counts.calls;
                if outcome.is_some() {
                    complete = false;
                }
                if let Some(Some(e)) = outcome {
                    part.error.get_or_insert(e);
                    if matches!(part.error, Some(Failure::Account(_))) {
                        break 'pages;
                    }
                }
            }
            if reached_mark || count < THREADS_PAGE {
                break;
            }
            offset += THREADS_PAGE;
        }
        if complete && let Some(newest) = newest {
            let _ = self
                .store()
                .set_threads_mark(self.account.id, &newest)
                .await;
        }
        part
    }

    /// Import what is new in one thread: (counts, failure). A thread left for the next pass
    /// (see `deferred` below) counts as a failure without words, so the pass is not complete.
    async fn thread(&self, t: &Thread) -> (SyncCounts, Option<Option<Failure>>) {
        let mut counts = SyncCounts::default();
        let result = self.thread_inner(t, &mut counts).await;
        let outcome = match result {
            Ok(true) => None,
            Ok(false) => Some(None),
            Err(e) => Some(Some(e)),
        };
        (counts, outcome)
    }

    /// Whether the thread was read to its end.
    async fn thread_inner(&self, t: &Thread, counts: &mut SyncCounts) -> Result<bool, Failure> {
        let store = self.store();
        let account = self.account.id;
        let stored = store.allegro_thread(account, &t.id).await.map_err(db)?;
        let (mut ticket, mark) = stored.unwrap_or_default();
        if mark.is_some() && mark == t.last_message_date_time {
            return Ok(true);
        }
        // Messages after the mark (a second earlier: equal timestamps are deduplicated).
        let after = mark
            .as_deref()
            .and_then(ms)
            .and_then(|m| chrono::DateTime::from_timestamp_millis(m - 1000))
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        let mut messages: Vec<Message> = Vec::new();
        let mut offset = 0;
        loop {
            let mut path = format!(
                "/messaging/threads/{}/messages?limit={MESSAGES_PAGE}&offset={offset}",
                encode(&t.id)
            );
            if let Some(after) = &after {
                path.push_str(&format!("&after={}", encode(after)));
            }
            let page: shapes::MessagesPage = self
                .allegro
                .get(self.account, &path, PUBLIC, &mut counts.calls)
                .await?;
            let n = page.messages.len();
            messages.extend(page.messages);
            if n < MESSAGES_PAGE {
                break;
            }
            offset += MESSAGES_PAGE;
        }
        messages.sort_by_key(|m| (ms(&m.created_at).unwrap_or(0), m.id.clone()));
        if ticket.is_none() {
            ticket = store
                .ticket_by_external(self.tenant.id, MESSAGES, &t.id)
                .await
                .map_err(db)?;
        }
        let buyer = t
            .interlocutor
            .as_ref()
            .and_then(|i| i.login.clone())
            .or_else(|| {
                messages
                    .iter()
                    .find(|m| m.author.is_interlocutor)
                    .and_then(|m| m.author.login.clone())
            })
            .unwrap_or_else(|| "kupujący".into());
        let mut deferred = false;
        for m in &messages {
            if store
                .message_by_external(self.tenant.id, MESSAGES, &m.id)
                .await
                .map_err(db)?
                .is_some()
            {
                continue;
            }
            let customer = m.author.is_interlocutor;
            if !customer
                && let Some(id) = ticket
                && store
                    .allegro_reply_pending(self.tenant.id, id)
                    .await
                    .map_err(db)?
            {
                // Perhaps ferrule's own reply, whose delivery has not recorded its id yet:
                // read the thread again next pass rather than import it twice.
                deferred = true;
                break;
            }
            let message = thread_message(m);
            let id = self
                .put(ticket, message, || NewTicket {
                    subject: m
                        .subject
                        .clone()
                        .filter(|s| !s.trim().is_empty())
                        .unwrap_or_else(|| {
                            let line = first_line(m.text.as_deref().unwrap_or(""), 80);
                            if line.is_empty() {
                                format!("Wiadomość od {buyer}")
                            } else {
                                line
                            }
                        }),
                    external_id: Some(t.id.clone()),
                    ..self.new_ticket(MESSAGES, &buyer, None, ms(&m.created_at))
                })
                .await?;
            if ticket.is_none() {
                store
                    .save_allegro_thread(account, &t.id, Some(id), None)
                    .await
                    .map_err(db)?;
            }
            ticket = Some(id);
            counts.messages += 1;
            if let Some(order) = m.relates_to.as_ref().and_then(|r| r.order.as_ref()) {
                store
                    .link_order(account, &order.id, id, &buyer)
                    .await
                    .map_err(db)?;
            }
        }
        if !deferred {
            store
                .save_allegro_thread(account, &t.id, ticket, t.last_message_date_time.as_deref())
                .await
                .map_err(db)?;
        }
        Ok(!deferred)
    }

    fn new_ticket(
        &self,
        source: &str,
        buyer: &str,
        email: Option<String>,
        at: Option<i64>,
    ) -> NewTicket {
        NewTicket {
            subject: String::new(),
            source: source.into(),
            status: "new".into(),
            assignee_id: None,
            closed_at: None,
            customer_name: buyer.to_owned(),
            customer_email: email,
            customer_phone: None,
            inbox_id: None,
            account: Some(self.login()),
            ticket_type: None,
            priority: None,
            category: None,
            tags: Vec::new(),
            language: None,
            created_at: at.unwrap_or_else(now_ms).min(now_ms()),
            external_id: None,
        }
    }

    /// Add `message` to `ticket`, or start the ticket (from `new`) with it: the ticket's id.
    /// A message seen before is no error.
    async fn put(
        &self,
        ticket: Option<i64>,
        message: NewMessage,
        new: impl FnOnce() -> NewTicket,
    ) -> Result<i64, Failure> {
        let engine = self.engine;
        if let Some(id) = ticket {
            return match engine.add_message(self.tenant, id, message.clone()).await {
                Ok(Some(_)) => Ok(id),
                Err(EngineError::Duplicate { ticket_id, .. }) => Ok(ticket_id),
                // The ticket was deleted: the conversation starts a new one.
                Ok(None) => self.start(message, new()).await,
                Err(e) => Err(db(e)),
            };
        }
        self.start(message, new()).await
    }

    async fn start(&self, message: NewMessage, new: NewTicket) -> Result<i64, Failure> {
        let engine = self.engine;
        let customer = message.author == "customer";
        let first = customer.then(|| message.clone());
        match engine.create_ticket(self.tenant, &new, first).await {
            Ok(created) => {
                let id = created.ticket.id;
                if !customer {
                    // Started by the seller: the ticket first, then the seller's message.
                    match engine.add_message(self.tenant, id, message).await {
                        Ok(_) | Err(EngineError::Duplicate { .. }) => {}
                        Err(e) => return Err(db(e)),
                    }
                }
                Ok(id)
            }
            // The ticket exists (imported before a crash): the message goes onto it.
            Err(EngineError::Duplicate { ticket_id, .. }) => {
                match engine.add_message(self.tenant, ticket_id, message).await {
                    Ok(_) | Err(EngineError::Duplicate { .. }) => Ok(ticket_id),
                    Err(e) => Err(db(e)),
                }
            }
            Err(e) => Err(db(e)),
        }
    }

    // --- post-purchase issues ---

    async fn issues(&self) -> Part {
        let mut part = Part::default();
        let mut offset = 0;
        loop {
            let path = format!("/sale/issues?limit={ISSUES_PAGE}&offset={offset}");
            let page: shapes::IssuesPage = match self
                .allegro
                .get(self.account, &path, BETA, &mut part.counts.calls)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    part.error = Some(e);
                    break;
                }
            };
            let count = page.issues.len();
            for issue in &page.issues {
                if let Err(e) = self.issue(issue, &mut part.counts).await {
                    let account = matches!(e, Failure::Account(_));
                    part.error.get_or_insert(e);
                    if account {
                        return part;
                    }
                }
            }
            if count < ISSUES_PAGE {
                break;
            }
            offset += ISSUES_PAGE;
        }
        part
    }

    async fn issue(&self, issue: &Issue, counts: &mut SyncCounts) -> Result<(), Failure> {
        let store = self.store();
        let account = self.account.id;
        let kind = issue.kind.to_lowercase();
        let chat = issue.chat.as_ref();
        let mark = format!(
            "{}|{}",
            chat.and_then(|c| c.messages_count).unwrap_or(-1),
            chat.and_then(|c| c.last_message.as_ref())
                .and_then(|l| l.created_at.clone())
                .unwrap_or_default()
        );
        let stored = store.allegro_issue(account, &issue.id).await.map_err(db)?;
        if let Some((Some(_), Some(k), Some(m))) = &stored
            && *k == kind
            && *m == mark
        {
            return Ok(());
        }
        let mut messages: Vec<ChatMessage> = Vec::new();
        let mut offset = 0;
        loop {
            let path = format!(
                "/sale/issues/{}/chat?limit={ISSUES_PAGE}&offset={offset}",
                encode(&issue.id)
            );
            let page: shapes::ChatPage = self
                .allegro
                .get(self.account, &path, BETA, &mut counts.calls)
                .await?;
            let n = page.chat.len();
            messages.extend(page.chat);
            if n < ISSUES_PAGE {
                break;
            }
            offset += ISSUES_PAGE;
        }
        messages.sort_by_key(|m| (ms(&m.created_at).unwrap_or(0), m.id.clone()));
        let mut ticket = match &stored {
            Some((Some(t), _, _)) => Some(*t),
            _ => store
                .ticket_by_external(self.tenant.id, DISCUSSIONS, &issue.id)
                .await
                .map_err(db)?,
        };
        let buyer = issue
            .buyer
            .as_ref()
            .and_then(|b| b.login.clone())
            .unwrap_or_else(|| "kupujący".into());
        let subject = issue
            .subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| {
                format!(
                    "Dyskusja {}",
                    issue
                        .reference_number
                        .clone()
                        .unwrap_or_else(|| issue.id.clone())
                )
            });
        let new = || NewTicket {
            subject: subject.clone(),
            ticket_type: Some(kind.clone()),
            external_id: Some(issue.id.clone()),
            ..self.new_ticket(
                DISCUSSIONS,
                &buyer,
                None,
                issue.opened_date.as_deref().and_then(ms),
            )
        };
        if ticket.is_none() && messages.is_empty() {
            ticket = Some(self.start_empty(new()).await?);
            counts.issues += 1;
        }
        let mut deferred = false;
        for m in &messages {
            if store
                .message_by_external(self.tenant.id, DISCUSSIONS, &m.id)
                .await
                .map_err(db)?
                .is_some()
            {
                continue;
            }
            let seller = m.author.role == "SELLER";
            if seller
                && let Some(id) = ticket
                && store
                    .allegro_reply_pending(self.tenant.id, id)
                    .await
                    .map_err(db)?
            {
                deferred = true;
                break;
            }
            let started = ticket.is_none();
            let id = self.put(ticket, chat_message(m), new).await?;
            if started {
                counts.issues += 1;
            }
            ticket = Some(id);
            counts.messages += 1;
        }
        let Some(id) = ticket else {
            return Ok(());
        };
        // A discussion may become a claim: the ticket's type follows.
        if let Ok(Some(row)) = store.ticket(self.tenant.id, id).await
            && row.ticket_type.as_deref() != Some(kind.as_str())
        {
            let kind = kind.clone();
            self.engine
                .change_ticket(self.tenant, id, move |t| {
                    t.ticket_type = Some(kind.clone());
                    t.updated_at = now_ms();
                    crate::engine::Change::default()
                })
                .await
                .map_err(db)?;
        }
        if let Some(order) = &issue.checkout_form {
            store
                .link_order(account, &order.id, id, &buyer)
                .await
                .map_err(db)?;
        }
        let mark = if deferred { String::new() } else { mark };
        store
            .save_allegro_issue(account, &issue.id, id, &kind, &mark)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn start_empty(&self, new: NewTicket) -> Result<i64, Failure> {
        match self.engine.create_ticket(self.tenant, &new, None).await {
            Ok(c) => Ok(c.ticket.id),
            Err(EngineError::Duplicate { ticket_id, .. }) => Ok(ticket_id),
            Err(e) => Err(db(e)),
        }
    }

    // --- customer returns ---

    async fn returns(&self) -> Part {
        let mut part = Part::default();
        let mut mark = self.account.returns_mark.clone();
        let since = mark.clone();
        let mut offset = 0;
        loop {
            let mut path = format!("/order/customer-returns?limit={RETURNS_PAGE}&offset={offset}");
            if let Some(since) = &since {
                path.push_str(&format!("&createdAt.gte={}", encode(since)));
            }
            let page: shapes::ReturnsPage = match self
                .allegro
                .get(self.account, &path, BETA, &mut part.counts.calls)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    part.error = Some(e);
                    break;
                }
            };
            let count = page.customer_returns.len();
            let mut failed = false;
            for r in &page.customer_returns {
                match self.customer_return(r).await {
                    Ok(added) => {
                        part.counts.returns += i64::from(added);
                        // Oldest first: the mark moves only over what is imported.
                        if !failed && ms(&r.created_at) > mark.as_deref().and_then(ms) {
                            mark = Some(r.created_at.clone());
                        }
                    }
                    Err(e) => {
                        failed = true;
                        part.error.get_or_insert(e);
                    }
                }
            }
            if failed || count < RETURNS_PAGE {
                break;
            }
            offset += RETURNS_PAGE;
        }
        if let Some(mark) = mark
            && Some(&mark) != since.as_ref()
        {
            let _ = self.store().set_returns_mark(self.account.id, &mark).await;
        }
        part
    }

    /// Raise `return_created` on the ticket of the return's order, or start a ticket of type
    /// `return`; whether it was new.
    async fn customer_return(&self, r: &CustomerReturn) -> Result<bool, Failure> {
        let store = self.store();
        let key = format!("allegro-return:{}", r.id);
        if store.import_known(self.tenant.id, &key).await.map_err(db)? {
            return Ok(false);
        }
        let buyer = r
            .buyer
            .as_ref()
            .and_then(|b| b.login.clone())
            .unwrap_or_else(|| "kupujący".into());
        if let Some(ticket) = store
            .order_ticket(self.account.id, &r.order_id)
            .await
            .map_err(db)?
        {
            match self
                .engine
                .report_event_once(self.tenant, ticket, Event::ReturnCreated, Some(key.clone()))
                .await
            {
                Ok(Some(_)) => return Ok(true),
                Err(EngineError::Duplicate { .. }) => return Ok(false),
                Ok(None) => {} // the ticket is gone: a new one below
                Err(e) => return Err(db(e)),
            }
        }
        let reference = r.reference_number.clone().unwrap_or_else(|| r.id.clone());
        let new = NewTicket {
            subject: format!("Zwrot {reference}"),
            ticket_type: Some("return".into()),
            external_id: Some(format!("return:{}", r.id)),
            ..self.new_ticket(
                MESSAGES,
                &buyer,
                r.buyer.as_ref().and_then(|b| b.email.clone()),
                ms(&r.created_at),
            )
        };
        let mut message = NewMessage::new("customer", return_text(r, &reference), new.created_at);
        message.external_id = Some(format!("return:{}", r.id));
        let id = match self
            .engine
            .create_ticket_with(
                self.tenant,
                &new,
                Some(message),
                &[Event::ReturnCreated],
                vec![key],
            )
            .await
        {
            Ok(c) => c.ticket.id,
            Err(EngineError::Duplicate { .. }) => return Ok(false),
            Err(e) => return Err(db(e)),
        };
        store
            .link_order(self.account.id, &r.order_id, id, &buyer)
            .await
            .map_err(db)?;
        Ok(true)
    }
}

/// What the buyer sent back and why, as the first message of a return's ticket.
fn return_text(r: &CustomerReturn, reference: &str) -> String {
    let mut text = format!("Zwrot {reference} do zamówienia {}:", r.order_id);
    for item in r.items.iter().flatten() {
        text.push_str(&format!(
            "\n- {} × {}",
            item.name.as_deref().unwrap_or("?"),
            item.quantity.unwrap_or(1)
        ));
        if let Some(reason) = &item.reason {
            if let Some(kind) = &reason.kind {
                text.push_str(&format!(" ({kind})"));
            }
            if let Some(comment) = reason
                .user_comment
                .as_deref()
                .filter(|c| !c.trim().is_empty())
            {
                text.push_str(&format!(": {comment}"));
            }
        }
    }
    text
}

fn parts(text: &str, attachments: Vec<NewAttachment>) -> Option<Box<MailParts>> {
    (!attachments.is_empty()).then(|| {
        Box::new(MailParts {
            full_body: text.to_owned(),
            cc: Vec::new(),
            attachments,
            auto_generated: false,
        })
    })
}

fn thread_message(m: &Message) -> NewMessage {
    let author = if m.author.is_interlocutor {
        "customer"
    } else {
        "agent"
    };
    let text = m.text.clone().unwrap_or_default();
    let attachments = m
        .attachments
        .iter()
        .flatten()
        .map(|a| NewAttachment {
            name: a.file_name.clone(),
            content_type: a
                .mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            size: 0,
            bytes: None,
        })
        .collect();
    let mut message = NewMessage::new(
        author,
        text.clone(),
        ms(&m.created_at).unwrap_or_else(now_ms).min(now_ms()),
    );
    if author == "agent" {
        message.direction = "outbound".into();
    }
    message.subject = m.subject.clone().filter(|s| !s.trim().is_empty());
    message.external_id = Some(m.id.clone());
    message.mail = parts(&text, attachments);
    message
}

fn chat_message(m: &ChatMessage) -> NewMessage {
    let text = m.text.clone().unwrap_or_default();
    // Allegro's own staff (ADMIN), the system and fulfilment speak to the seller: the seller
    // answers them, so they count as the other side, marked.
    let (author, body) = match m.author.role.as_str() {
        "BUYER" => ("customer", text.clone()),
        "SELLER" => ("agent", text.clone()),
        role => (
            "customer",
            format!("[Allegro {}] {text}", role.to_lowercase()),
        ),
    };
    let attachments = m
        .attachments
        .iter()
        .flatten()
        .map(|a| NewAttachment {
            name: a.file_name.clone(),
            content_type: "application/octet-stream".into(),
            size: 0,
            bytes: None,
        })
        .collect();
    let mut message = NewMessage::new(
        author,
        body,
        ms(&m.created_at).unwrap_or_else(now_ms).min(now_ms()),
    );
    if author == "agent" {
        message.direction = "outbound".into();
    }
    message.external_id = Some(m.id.clone());
    message.mail = parts(&text, attachments);
    message
}

/// A path or query value, percent-encoded.
pub fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
