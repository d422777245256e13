//! The delivery worker: claims due deliveries with a lease, sends each through its channel
//! (SMTP, the SMS gateway, a webhook), and records the outcome. Failures back off
//! exponentially (10 s doubling to 1 h, 8 attempts); a permanent refusal is dead at once.
//! Delivery is at least once: a crash between sending and recording sends again, with the same
//! Message-ID / webhook-id / SMS id, so a receiver can drop the repeat.

use super::allegro::Allegro;
use super::http;
use super::mail::compose::{self, OutgoingMail, Quote};
use super::mail::smtp::{Mailers, SmtpSettings};
use super::signature;
use crate::domain::channels::Smtp;
use crate::domain::views;
use crate::engine::Engine;
use crate::store::{DeliveryRow, HookCall, Outcome, Store, now_ms};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Attempts before a delivery is dead.
pub const ATTEMPTS: i64 = 8;
/// Sends in flight at once.
const IN_FLIGHT: usize = 64;
/// How long a claim holds (a send takes at most the 30 s deadline of its channel).
const LEASE_MS: i64 = 5 * 60 * 1000;
/// The longest the worker sleeps without a look at the queue.
const IDLE: Duration = Duration::from_secs(5);

/// The wait before attempt `attempts + 1`: 10 s doubling, at most 1 h.
pub fn backoff_ms(attempts: i64) -> i64 {
    let seconds = 10i64.saturating_mul(1 << attempts.clamp(0, 20));
    seconds.min(3600) * 1000
}

/// Why a send failed.
struct Failure {
    permanent: bool,
    error: String,
}

impl Failure {
    fn permanent(error: impl Into<String>) -> Failure {
        Failure {
            permanent: true,
            error: error.into(),
        }
    }
    fn transient(error: impl Into<String>) -> Failure {
        Failure {
            permanent: false,
            error: error.into(),
        }
    }
}

/// What a send settled besides its outcome.
struct Attempt {
    message_id: Option<String>,
    result: Result<String, Failure>,
}

/// Run the worker until the process stops.
pub async fn run(engine: Arc<Engine>, allegro: Option<Arc<Allegro>>) {
    let store = engine.store().clone();
    if let Err(e) = store.release_leases().await {
        tracing::warn!(error = %e, "cannot release the delivery leases of an earlier run");
    }
    let mailers = Arc::new(Mailers::new());
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let wake = engine.deliveries_wake.clone();
    loop {
        // Registered before the claim, so a wake-up between the claim and the wait is kept.
        let woken = wake.notified();
        let free = slots.available_permits();
        let claimed = if free == 0 {
            Vec::new()
        } else {
            match store.claim_deliveries(free, LEASE_MS).await {
                Ok(rows) => rows,
                Err(crate::store::WriteError::Stopped) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim deliveries");
                    Vec::new()
                }
            }
        };
        let full = claimed.len() == free && free > 0;
        for delivery in claimed {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let (engine, mailers, allegro) = (engine.clone(), mailers.clone(), allegro.clone());
            tokio::spawn(async move {
                deliver(&engine, &mailers, allegro.as_deref(), delivery).await;
                drop(permit);
            });
        }
        if full {
            // More may be due: claim again as soon as a slot frees.
            let _ = slots.acquire().await;
            continue;
        }
        let sleep = match store.next_delivery_at().await {
            Ok(Some(at)) => {
                Duration::from_millis((at - now_ms()).clamp(0, IDLE.as_millis() as i64) as u64)
            }
            _ => IDLE,
        };
        if sleep.is_zero() && slots.available_permits() == 0 {
            let _ = slots.acquire().await;
            continue;
        }
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(sleep.max(Duration::from_millis(20))) => {}
        }
    }
}

async fn deliver(engine: &Engine, mailers: &Mailers, allegro: Option<&Allegro>, d: DeliveryRow) {
    let store = engine.store();
    let attempt = match d.channel.as_str() {
        "smtp" => send_mail(store, mailers, &d).await,
        "sms" => send_sms(store, &d).await,
        "webhook" => send_webhook(store, &d).await,
        "allegro" => send_allegro(store, allegro, &d).await,
        other => Attempt {
            message_id: None,
            result: Err(Failure::permanent(format!(
                "no connector for channel `{other}`"
            ))),
        },
    };
    let message_id = attempt.message_id;
    let outcome = match attempt.result {
        Ok(response) => Outcome::Sent {
            message_id,
            response,
        },
        Err(f) if f.permanent => Outcome::Dead {
            error: f.error,
            message_id,
        },
        Err(f) if d.attempts + 1 >= ATTEMPTS => Outcome::Dead {
            error: format!("gave up after {ATTEMPTS} attempts; the last: {}", f.error),
            message_id,
        },
        Err(f) => Outcome::Retry {
            error: f.error,
            at: now_ms() + backoff_ms(d.attempts),
            message_id,
        },
    };
    let dead_calls = match &outcome {
        // A dead webhook call raises no further call (no loops).
        Outcome::Dead { error, .. } if d.kind != "webhook" => dead_notices(store, &d, error).await,
        _ => Vec::new(),
    };
    let notify = !dead_calls.is_empty();
    match &outcome {
        Outcome::Sent { .. } => tracing::debug!(delivery = d.id, channel = %d.channel, "sent"),
        Outcome::Retry { error, .. } => {
            tracing::info!(delivery = d.id, channel = %d.channel, %error, "delivery failed; retrying later")
        }
        Outcome::Dead { error, .. } => {
            tracing::warn!(delivery = d.id, channel = %d.channel, %error, "delivery dead")
        }
    }
    if let Err(e) = store.finish_delivery(d.id, outcome, dead_calls).await {
        // The lease runs out and the delivery is sent again (at least once).
        tracing::warn!(delivery = d.id, error = %e, "cannot record a delivery's outcome");
    }
    if notify {
        engine.deliveries_wake.notify_one();
    }
}

async fn dead_notices(store: &Store, d: &DeliveryRow, error: &str) -> Vec<HookCall> {
    let Ok(hooks) = store.subscriptions(d.tenant_id).await else {
        return Vec::new();
    };
    let now = now_ms();
    let payload = json!({"type": "delivery.dead", "timestamp": views::time(now), "data": {
        "delivery": {"id": d.id, "ticket_id": d.ticket_id, "kind": d.kind, "channel": d.channel,
                     "recipient": d.recipient, "attempts": d.attempts + 1, "last_error": error}}})
    .to_string();
    hooks
        .iter()
        .filter(|h| h.wants("delivery.dead"))
        .map(|h| HookCall {
            webhook_id: h.id,
            url: h.url.clone(),
            kind: "delivery.dead",
            payload: payload.clone(),
        })
        .collect()
}

fn settings(smtp: &Smtp, password: Option<String>) -> SmtpSettings {
    SmtpSettings {
        host: smtp.host.clone(),
        port: smtp.port,
        tls: smtp.tls,
        username: smtp.username.clone(),
        password,
    }
}

/// The mail of a delivery, built from the ticket as it is now.
async fn send_mail(store: &Store, mailers: &Mailers, d: &DeliveryRow) -> Attempt {
    let mut message_id = None;
    let result = async {
        let (server, mail) = mail_of(store, d).await?;
        message_id = Some(mail.message_id.clone());
        let message = compose::compose(&mail).map_err(Failure::permanent)?;
        let mut envelope: Vec<String> = mail.to.clone();
        envelope.extend(mail.cc.iter().cloned());
        mailers
            .send(&server, &message, &envelope)
            .await
            .map_err(|e| Failure {
                permanent: e.is_permanent(),
                error: e.to_string(),
            })
    }
    .await;
    Attempt { message_id, result }
}

type MailPlan = (SmtpSettings, OutgoingMail);

async fn mail_of(store: &Store, d: &DeliveryRow) -> Result<MailPlan, Failure> {
    let db = |e: crate::store::StoreError| Failure::transient(format!("database: {e}"));
    let ticket = store
        .ticket(d.tenant_id, d.ticket_id)
        .await
        .map_err(db)?
        .ok_or_else(|| Failure::permanent("the ticket no longer exists"))?;
    let inbox = match ticket.inbox_id {
        Some(i) => store.inbox_email(d.tenant_id, i).await.map_err(db)?,
        None => None,
    };
    let tenant = store.settings(d.tenant_id).await.map_err(db)?;
    // The inbox's own server, else the tenant's; an inbox sends from its address.
    let (server, from) = match (&inbox, &tenant.smtp) {
        (Some(i), _) if i.email.smtp.is_some() => (
            settings(
                i.email.smtp.as_ref().expect("checked"),
                i.smtp_password.clone(),
            ),
            i.email.address.clone(),
        ),
        (inbox, Some(t)) => (
            settings(t, tenant.smtp_password.clone()),
            inbox
                .as_ref()
                .map(|i| i.email.address.clone())
                .or_else(|| t.from.clone())
                .unwrap_or_default(),
        ),
        _ => {
            return Err(Failure::permanent(
                "no SMTP server to send with: set the inbox's `email.smtp` or the tenant's `smtp` (PUT /settings)",
            ));
        }
    };
    let assignee = match ticket.assignee_id {
        Some(a) => store.agent(d.tenant_id, a).await.map_err(db)?,
        None => None,
    };
    let to =
        match d.kind.as_str() {
            "notification" => {
                let agent_id: i64 = d.recipient.parse().map_err(|_| {
                    Failure::permanent(format!("`{}` is not an agent id", d.recipient))
                })?;
                let agent = store
                    .agent(d.tenant_id, agent_id)
                    .await
                    .map_err(db)?
                    .ok_or_else(|| {
                        Failure::permanent(format!("the tenant has no agent {agent_id}"))
                    })?;
                vec![agent.email.ok_or_else(|| {
                    Failure::permanent(format!(
                        "agent {agent_id} ({}) has no e-mail address",
                        agent.name
                    ))
                })?]
            }
            "reply" => vec![ticket.customer_email.clone().ok_or_else(|| {
                Failure::permanent("the ticket's customer has no e-mail address")
            })?],
            _ => d
                .recipient
                .split([',', ';'])
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect(),
        };
    let mut mail = OutgoingMail {
        from_name: None,
        from: from.clone(),
        to,
        cc: Vec::new(),
        reply_to: None,
        subject: d.subject.clone().unwrap_or_else(|| ticket.subject.clone()),
        body: d.body.clone(),
        agent_name: None,
        quote: None,
        message_id: compose::message_id(d.id, &from),
        in_reply_to: None,
        references: Vec::new(),
        date: now_ms(),
        // Every mail ferrule sends today comes from a rule.
        auto_submitted: Some(if d.kind == "reply" {
            "auto-replied"
        } else {
            "auto-generated"
        }),
    };
    if d.kind == "reply" {
        mail.subject = compose::reply_subject(
            ticket.number,
            d.subject.as_deref().unwrap_or(&ticket.subject),
        );
        mail.agent_name = assignee.as_ref().map(|a| a.name.clone());
        let messages = store.messages(d.tenant_id, d.ticket_id).await.map_err(db)?;
        // The customer's last message before this reply: threaded to and quoted.
        let last = messages
            .iter()
            .rfind(|m| m.author == "customer" && Some(m.id) < d.message_ref.or(Some(i64::MAX)));
        mail.references = store
            .thread_ids(d.tenant_id, d.ticket_id)
            .await
            .map_err(db)?;
        if let Some(last) = last {
            let (external, cc, automatic) = store.message_mail(last.id).await.map_err(db)?;
            if automatic {
                return Err(Failure::permanent(
                    "not sent: the customer's last mail is an automatic one (auto-reply, bounce or list); \
                     answering it automatically could start a mail loop",
                ));
            }
            mail.in_reply_to = external;
            mail.quote = Some(Quote {
                author: ticket.customer_name.clone(),
                sent_at: last.sent_at,
                text: last.body.clone(),
            });
            let no_cc: Vec<String> = inbox
                .as_ref()
                .map(|i| i.email.no_cc.clone())
                .unwrap_or_default();
            mail.cc = cc
                .into_iter()
                .map(|c| c.to_lowercase())
                .filter(|c| !no_cc.contains(c) && *c != from.to_lowercase() && !mail.to.contains(c))
                .collect();
        }
        if let Some(i) = &inbox {
            mail.reply_to = if i.email.reply_to_agent {
                assignee.as_ref().and_then(|a| a.email.clone())
            } else {
                Some(i.email.address.clone())
            };
        }
    }
    Ok((server, mail))
}

async fn send_allegro(store: &Store, allegro: Option<&Allegro>, d: &DeliveryRow) -> Attempt {
    let Some(allegro) = allegro else {
        return Attempt {
            message_id: None,
            result: Err(Failure::transient(
                "Allegro is not configured on this server: start it with --allegro-client-id and FERRULE_ALLEGRO_CLIENT_SECRET",
            )),
        };
    };
    match super::allegro::reply::send(allegro, store, d).await {
        Ok((id, response)) => Attempt {
            message_id: Some(id),
            result: Ok(response),
        },
        Err((permanent, error)) => Attempt {
            message_id: None,
            result: Err(Failure { permanent, error }),
        },
    }
}

async fn send_sms(store: &Store, d: &DeliveryRow) -> Attempt {
    let id = format!("ferrule-sms-{}", d.id);
    let result = async {
        let settings = store
            .settings(d.tenant_id)
            .await
            .map_err(|e| Failure::transient(format!("database: {e}")))?;
        let Some(sms) = settings.sms else {
            return Err(Failure::permanent(
                "no SMS gateway: set the tenant's `sms` (PUT /settings)",
            ));
        };
        let to = if d.kind == "reply" {
            store
                .ticket(d.tenant_id, d.ticket_id)
                .await
                .map_err(|e| Failure::transient(format!("database: {e}")))?
                .and_then(|t| t.customer_phone)
                .ok_or_else(|| Failure::permanent("the ticket's customer has no phone number"))?
        } else {
            d.recipient.clone()
        };
        let mut headers = Vec::new();
        if let Some(token) = settings.sms_token {
            headers.push(("authorization", format!("Bearer {token}")));
        }
        let body = json!({"id": id, "to": to, "body": d.body}).to_string();
        answer(http::post_json(&sms.endpoint, &headers, body).await)
    }
    .await;
    Attempt {
        message_id: Some(id),
        result,
    }
}

async fn send_webhook(store: &Store, d: &DeliveryRow) -> Attempt {
    let id = format!("msg_ferrule_{}", d.id);
    let result = async {
        let Some(hook) = d.webhook_id else {
            return Err(Failure::permanent("the call has no webhook"));
        };
        let db = |e: crate::store::StoreError| Failure::transient(format!("database: {e}"));
        if store
            .webhook(d.tenant_id, hook)
            .await
            .map_err(db)?
            .is_none()
        {
            return Err(Failure::permanent("the webhook was removed"));
        }
        let secret = store
            .webhook_secret(d.tenant_id, hook)
            .await
            .map_err(db)?
            .ok_or_else(|| Failure::permanent("the webhook was removed"))?;
        let body = d.payload.clone().unwrap_or_default();
        let timestamp = now_ms() / 1000;
        let headers = [
            ("webhook-id", id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                signature::sign(&secret, &id, timestamp, &body),
            ),
        ];
        answer(http::post_json(&d.recipient, &headers, body).await)
    }
    .await;
    Attempt {
        message_id: Some(id),
        result,
    }
}

/// An HTTP answer as a delivery result.
fn answer(answer: Result<http::Answer, http::CallError>) -> Result<String, Failure> {
    match answer {
        Err(e) => Err(Failure::transient(e.0)),
        Ok(a) if (200..300).contains(&a.status) => Ok(format!("{} {}", a.status, a.body.trim())),
        Ok(a) => {
            let error = format!("the receiver answered {}: {}", a.status, a.body.trim());
            Err(Failure {
                permanent: http::permanent(a.status),
                error,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_ten_seconds_to_an_hour() {
        let waits: Vec<i64> = (0..10).map(|a| backoff_ms(a) / 1000).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]);
    }
}
