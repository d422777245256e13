//! A reply on an Allegro ticket goes back where the conversation is: into the message-center
//! thread (`POST /messaging/threads/{id}/messages`), into the issue's chat
//! (`POST /sale/issues/{id}/message`), or — for a ticket a return started, which has no thread
//! yet — as a new message to the buyer about the order (`POST /messaging/messages` with the
//! order id), whose thread the ticket keeps from then on.
//!
//! Allegro's writes have no idempotency key, so a delivery tried before (a crash or a lost
//! answer) first looks for its own text among the seller's recent messages and, when found,
//! is recorded as sent instead of being written twice.

use super::shapes::{self, Posted};
use super::sync::{DISCUSSIONS, encode};
use super::{Allegro, BETA, Failure, PUBLIC};
use crate::store::{DeliveryRow, Store};
use serde_json::json;

/// Message-center texts are at most this long.
const MESSAGE_LIMIT: usize = 2000;
/// Issue chat texts are at most this long.
const CHAT_LIMIT: usize = 20000;

/// How a reply went: Ok(Allegro's message id, what Allegro answered) or a failure, and whether
/// the failure is for good.
pub type Sent = Result<(String, String), (bool, String)>;

fn db(e: impl std::fmt::Display) -> (bool, String) {
    (false, format!("database: {e}"))
}

fn failed(f: Failure) -> (bool, String) {
    match f {
        Failure::Refused { status, message } => (status != 408, message),
        Failure::Account(m) => (false, m),
        Failure::Transient(m) | Failure::Garbage(m) => (false, m),
    }
}

/// Send a reply delivery.
pub async fn send(allegro: &Allegro, store: &Store, d: &DeliveryRow) -> Sent {
    let ticket = store
        .ticket(d.tenant_id, d.ticket_id)
        .await
        .map_err(db)?
        .ok_or((true, "the ticket no longer exists".to_owned()))?;
    let login = ticket.account.clone().ok_or((
        true,
        "the ticket names no Allegro account (`account`)".to_owned(),
    ))?;
    let account = store
        .account_by_login(d.tenant_id, "allegro", &login)
        .await
        .map_err(db)?
        .ok_or_else(|| {
            (
                true,
                format!("the tenant has no Allegro account `{login}` (POST /accounts)"),
            )
        })?;
    if account.state != "connected" {
        return Err((
            false,
            format!(
                "the Allegro account `{login}` is {}: {}",
                account.state,
                account.last_error.as_deref().unwrap_or("not connected yet")
            ),
        ));
    }
    let text = d.body.trim();
    if text.is_empty() {
        return Err((true, "the reply is empty".into()));
    }
    let external = store
        .ticket_external(d.tenant_id, ticket.id)
        .await
        .map_err(db)?;
    let mut calls = 0;
    let tried_before = d.attempts > 0 || d.claims > 1;
    if ticket.source == DISCUSSIONS {
        let issue = external
            .clone()
            .ok_or((true, "the ticket has no Allegro issue id".to_owned()))?;
        if text.chars().count() > CHAT_LIMIT {
            return Err((
                true,
                format!(
                    "the reply is longer than Allegro's {CHAT_LIMIT} characters for a discussion"
                ),
            ));
        }
        if tried_before {
            let path = format!("/sale/issues/{}/chat?limit=100&offset=0", encode(&issue));
            let chat: shapes::ChatPage = allegro
                .get(&account, &path, BETA, &mut calls)
                .await
                .map_err(failed)?;
            if let Some(m) = chat.chat.iter().find(|m| {
                m.author.role == "SELLER" && m.text.as_deref().map(str::trim) == Some(text)
            }) {
                return Ok((
                    m.id.clone(),
                    "found in the chat (sent by an earlier attempt)".into(),
                ));
            }
        }
        let path = format!("/sale/issues/{}/message", encode(&issue));
        let posted: Posted = allegro
            .post(
                &account,
                &path,
                BETA,
                &json!({"text": text, "type": "REGULAR"}),
                &mut calls,
            )
            .await
            .map_err(failed)?;
        return Ok((posted.id.clone(), format!("201 message {}", posted.id)));
    }
    if text.chars().count() > MESSAGE_LIMIT {
        return Err((
            true,
            format!("the reply is longer than Allegro's {MESSAGE_LIMIT} characters for a message"),
        ));
    }
    let thread = match store
        .thread_of_ticket(account.id, ticket.id)
        .await
        .map_err(db)?
    {
        Some(t) => Some(t),
        None => external.clone().filter(|e| !e.starts_with("return:")),
    };
    match thread {
        Some(thread) => {
            if tried_before {
                let path = format!(
                    "/messaging/threads/{}/messages?limit=20&offset=0",
                    encode(&thread)
                );
                let page: shapes::MessagesPage = allegro
                    .get(&account, &path, PUBLIC, &mut calls)
                    .await
                    .map_err(failed)?;
                if let Some(m) = page.messages.iter().find(|m| {
                    !m.author.is_interlocutor && m.text.as_deref().map(str::trim) == Some(text)
                }) {
                    return Ok((
                        m.id.clone(),
                        "found in the thread (sent by an earlier attempt)".into(),
                    ));
                }
            }
            let path = format!("/messaging/threads/{}/messages", encode(&thread));
            let posted: Posted = allegro
                .post(&account, &path, PUBLIC, &json!({"text": text}), &mut calls)
                .await
                .map_err(failed)?;
            Ok((posted.id.clone(), format!("201 message {}", posted.id)))
        }
        None => {
            let (order, buyer) = store
                .order_of_ticket(account.id, ticket.id)
                .await
                .map_err(db)?
                .ok_or((
                    true,
                    "the ticket has neither an Allegro thread nor an order to write about"
                        .to_owned(),
                ))?;
            let buyer = buyer.unwrap_or_else(|| ticket.customer_name.clone());
            let body = json!({"recipient": {"login": buyer}, "text": text, "order": {"id": order}});
            let posted: Posted = allegro
                .post(&account, "/messaging/messages", PUBLIC, &body, &mut calls)
                .await
                .map_err(failed)?;
            // The buyer's thread may be another ticket's already: that one keeps it.
            if let Some(thread) = &posted.thread
                && store
                    .allegro_thread(account.id, &thread.id)
                    .await
                    .map_err(db)?
                    .is_none()
            {
                store
                    .save_allegro_thread(account.id, &thread.id, Some(ticket.id), None)
                    .await
                    .map_err(db)?;
            }
            Ok((posted.id.clone(), format!("201 message {}", posted.id)))
        }
    }
}
