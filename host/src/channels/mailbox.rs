//! Mailbox workers: one per inbox with an IMAP account. Each reads new mail (IMAP IDLE where the
//! server has it, else every `poll_seconds`) and imports every mail through the engine's intake,
//! as a new ticket or a customer message on the ticket it answers. A mail is imported once: the
//! worker remembers the last UID (under UIDVALIDITY), and the intake refuses a Message-ID it has
//! seen, so reading a mail again after a crash adds nothing.

use super::mail::imap::{Fetched, ImapError, ImapSettings, Mailbox};
use super::mail::parse::{self, ParsedMail};
use crate::engine::{Engine, EngineError};
use crate::store::{
    InboxEmail, MailParts, NewAttachment, NewMessage, NewTicket, Store, Tenant, now_ms,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Attachments up to this size are kept with their bytes; larger ones by name, type and size.
pub const ATTACHMENT_LIMIT: usize = 10 * 1024 * 1024;
/// Mails read per fetch.
const BATCH: usize = 64;
/// The longest an IDLE waits before it is renewed (servers drop idle clients after 30 min).
const IDLE_RENEW: Duration = Duration::from_secs(5 * 60);
/// A stored body longer than this is cut (the full text keeps four times as much).
const BODY_LIMIT: usize = 256 * 1024;

/// Keep one worker per configured mailbox, restarting one whose settings changed.
pub async fn run(engine: Arc<Engine>) {
    let store = engine.store().clone();
    let mut workers: HashMap<i64, (i64, tokio::task::JoinHandle<()>)> = HashMap::new();
    loop {
        let woken = engine.mailboxes_wake.notified();
        match store.mailboxes().await {
            Ok(wanted) => {
                let ids: Vec<i64> = wanted.iter().map(|(_, inbox, _)| *inbox).collect();
                workers.retain(|inbox, (_, handle)| {
                    let keep = ids.contains(inbox) && !handle.is_finished();
                    if !keep {
                        handle.abort();
                    }
                    keep
                });
                for (tenant, inbox, revision) in wanted {
                    if let Some((running, handle)) = workers.get(&inbox) {
                        if *running == revision {
                            continue;
                        }
                        handle.abort();
                    }
                    let handle = tokio::spawn(worker(engine.clone(), tenant, inbox));
                    workers.insert(inbox, (revision, handle));
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list the mailboxes"),
        }
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}

fn imap_settings(e: &InboxEmail) -> Option<ImapSettings> {
    let imap = e.email.imap.as_ref()?;
    Some(ImapSettings {
        host: imap.host.clone(),
        port: imap.port,
        tls: imap.tls,
        username: imap.username.clone(),
        password: e.imap_password.clone().unwrap_or_default(),
        mailbox: imap.mailbox.clone(),
    })
}

async fn worker(engine: Arc<Engine>, tenant_id: i64, inbox: i64) {
    let store = engine.store().clone();
    let mut failures: u32 = 0;
    loop {
        let (tenant, email) = match (
            store.tenant(tenant_id).await,
            store.inbox_email(tenant_id, inbox).await,
        ) {
            (Ok(Some(t)), Ok(Some(e))) => (t, e),
            (Ok(None), _) | (_, Ok(None)) => return,
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(inbox, error = %e, "cannot read the mailbox settings");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        let Some(settings) = imap_settings(&email) else {
            return;
        };
        let error = match session(&engine, &tenant, &email, &settings, &mut failures).await {
            Ok(()) => continue,
            Err(e) => e,
        };
        failures += 1;
        tracing::info!(inbox, error = %error, "mailbox");
        let _ = store
            .save_mailbox(
                inbox,
                "error",
                Some(error.message.clone()),
                None,
                None,
                0,
                0,
            )
            .await;
        // 2 s doubling to `poll_seconds` (at least a minute for a wrong password).
        let poll = u64::from(email.email.poll_seconds).max(2);
        let mut wait = (2u64 << failures.min(10)).min(poll.max(60));
        if error.kind == super::mail::imap::ImapErrorKind::Auth {
            wait = wait.max(60);
        }
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
}

/// One connection: read what is new, import it, wait for more; until the connection fails.
async fn session(
    engine: &Engine,
    tenant: &Tenant,
    email: &InboxEmail,
    settings: &ImapSettings,
    failures: &mut u32,
) -> Result<(), ImapError> {
    let store = engine.store();
    let inbox = email.inbox_id;
    let mut mailbox = Mailbox::connect(settings).await?;
    *failures = 0;
    let validity = mailbox.uid_validity();
    let state = store.mailbox_state(inbox).await.ok().flatten();
    // A new UIDVALIDITY numbers the mailbox anew: read it all again (Message-IDs dedupe).
    let mut last_uid = match state {
        Some(s) if s.uid_validity == Some(i64::from(validity)) => s.last_uid as u32,
        _ => 0,
    };
    let _ = store
        .save_mailbox(
            inbox,
            "connected",
            None,
            Some(validity),
            Some(last_uid),
            0,
            0,
        )
        .await;
    loop {
        loop {
            let batch = mailbox.fetch_after(last_uid, BATCH).await?;
            let Some(last) = batch.last().map(|f| f.uid) else {
                break;
            };
            let (imported, refused) = import_batch(engine, tenant, email, validity, batch).await;
            last_uid = last;
            let _ = store
                .save_mailbox(
                    inbox,
                    "connected",
                    None,
                    Some(validity),
                    Some(last_uid),
                    imported,
                    refused,
                )
                .await;
        }
        let _ = store
            .save_mailbox(
                inbox,
                "connected",
                None,
                Some(validity),
                Some(last_uid),
                0,
                0,
            )
            .await;
        let wait = if mailbox.supports_idle() {
            IDLE_RENEW
        } else {
            Duration::from_secs(u64::from(email.email.poll_seconds))
        };
        mailbox = mailbox.wait(wait).await?;
    }
}

/// What became of one mail.
enum Imported {
    /// A ticket or message was added.
    Added,
    /// It had been imported before.
    Again,
    /// It could not be imported (the reason is recorded).
    Refused,
}

/// Import a batch: mails that start a thread together, then the replies (which may answer a
/// mail of the same batch). Returns (imported, refused).
async fn import_batch(
    engine: &Engine,
    tenant: &Tenant,
    email: &InboxEmail,
    validity: u32,
    batch: Vec<Fetched>,
) -> (i64, i64) {
    let parsed: Vec<(Fetched, Result<ParsedMail, String>)> = batch
        .into_iter()
        .map(|f| {
            let mail = parse::parse(&f.raw, ATTACHMENT_LIMIT).map_err(|e| e.0);
            (f, mail)
        })
        .collect();
    let (replies, starts): (Vec<_>, Vec<_>) = parsed.into_iter().partition(|(_, m)| {
        m.as_ref().is_ok_and(|m| {
            !m.in_reply_to.is_empty()
                || !m.references.is_empty()
                || parse::subject_token(&m.subject).is_some()
        })
    });
    let mut counts = (0, 0);
    for group in [starts, replies] {
        let results = futures_util::future::join_all(
            group
                .into_iter()
                .map(|(f, mail)| import(engine, tenant, email, validity, f, mail)),
        )
        .await;
        for r in results {
            match r {
                Imported::Added => counts.0 += 1,
                Imported::Again => {}
                Imported::Refused => counts.1 += 1,
            }
        }
    }
    counts
}

fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[… cut: the message is longer than {limit} bytes]",
        &text[..end]
    )
}

async fn import(
    engine: &Engine,
    tenant: &Tenant,
    email: &InboxEmail,
    validity: u32,
    fetched: Fetched,
    mail: Result<ParsedMail, String>,
) -> Imported {
    let store = engine.store();
    let inbox = email.inbox_id;
    let mail = match mail {
        Ok(m) => m,
        Err(reason) => return refuse(store, inbox, fetched.uid, None, reason).await,
    };
    let Some(from) = mail.from_email.clone() else {
        let reason = "the mail has no sender address (From)".to_owned();
        return refuse(store, inbox, fetched.uid, mail.message_id.clone(), reason).await;
    };
    // A mail without a Message-ID is known by its place in the mailbox.
    let external_id = mail
        .message_id
        .clone()
        .unwrap_or_else(|| format!("uid.{validity}.{}.inbox{inbox}@ferrule", fetched.uid));
    let now = now_ms();
    let sent_at = mail.date.map_or(now, |d| d.min(now));
    let mut body = cut(&mail.body, BODY_LIMIT);
    if fetched.truncated {
        body.push_str("\n[… the message was larger than ferrule reads; its end is missing]");
    }
    let parts = MailParts {
        full_body: cut(&mail.text, BODY_LIMIT * 4),
        cc: mail.cc.clone(),
        attachments: mail
            .attachments
            .iter()
            .map(|a| NewAttachment {
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                size: a.size as i64,
                bytes: a.bytes.clone(),
            })
            .collect(),
        auto_generated: mail.auto_generated,
    };
    let message = NewMessage {
        subject: Some(mail.subject.clone()).filter(|s| !s.is_empty()),
        external_id: Some(external_id.clone()),
        mail: Some(Box::new(parts)),
        ..NewMessage::new("customer", body, sent_at)
    };
    // A reply: by the ids it answers, else by the ticket number in the subject.
    let mut thread: Vec<String> = mail.references.clone();
    thread.extend(mail.in_reply_to.iter().cloned());
    let mut ticket = store.thread_of(tenant.id, &thread).await.ok().flatten();
    if ticket.is_none()
        && let Some(number) = parse::subject_token(&mail.subject)
    {
        ticket = store
            .ticket_by_number(tenant.id, number)
            .await
            .ok()
            .flatten();
    }
    let result = match ticket {
        Some(id) => match engine.add_message(tenant, id, message.clone()).await {
            Ok(Some(_)) => Ok(()),
            // The ticket is gone: the mail starts a new one.
            Ok(None) => create(engine, tenant, email, &mail, &from, external_id, message).await,
            Err(e) => Err(e),
        },
        None => create(engine, tenant, email, &mail, &from, external_id, message).await,
    };
    match result {
        Ok(()) => Imported::Added,
        Err(EngineError::Duplicate { .. }) => Imported::Again,
        Err(e) => {
            let reason = format!("the mail could not be imported: {e}");
            refuse(store, inbox, fetched.uid, mail.message_id.clone(), reason).await
        }
    }
}

async fn create(
    engine: &Engine,
    tenant: &Tenant,
    email: &InboxEmail,
    mail: &ParsedMail,
    from: &str,
    external_id: String,
    message: NewMessage,
) -> Result<(), EngineError> {
    let cache = engine.tenant_cache(tenant).await?;
    let inbox = cache.data.inboxes.iter().find(|i| i.id == email.inbox_id);
    let subject = if mail.subject.trim().is_empty() {
        "(no subject)".to_owned()
    } else {
        cut(mail.subject.trim(), 1000)
    };
    let name = mail
        .from_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| from.split('@').next().unwrap_or(from).to_owned());
    let new = NewTicket {
        subject,
        source: "email".into(),
        status: "new".into(),
        assignee_id: None,
        closed_at: None,
        customer_name: name,
        customer_email: Some(from.to_owned()),
        customer_phone: None,
        inbox_id: Some(email.inbox_id),
        account: Some(email.email.address.clone()),
        ticket_type: None,
        priority: inbox.and_then(|i| i.default_priority.clone()),
        category: inbox.and_then(|i| i.default_category.clone()),
        tags: Vec::new(),
        language: None,
        created_at: message.sent_at,
        external_id: Some(external_id),
    };
    engine.create_ticket(tenant, &new, Some(message)).await?;
    Ok(())
}

async fn refuse(
    store: &Store,
    inbox: i64,
    uid: u32,
    message_id: Option<String>,
    reason: String,
) -> Imported {
    tracing::info!(inbox, uid, %reason, "mail refused");
    if let Err(e) = store.refuse_mail(inbox, uid, message_id, reason).await {
        tracing::warn!(inbox, uid, error = %e, "cannot record a refused mail");
    }
    Imported::Refused
}
