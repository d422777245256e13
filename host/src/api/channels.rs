//! Channel settings and what leaves the host: `GET|PUT /settings` (the tenant's SMTP and SMS
//! gateway), `POST|GET /webhooks`, `GET|DELETE /webhooks/{id}`, `GET /webhooks/{id}/deliveries`,
//! `GET /deliveries`, `GET /deliveries/{id}`, `POST /deliveries/{id}/retry`.

use super::AppState;
use super::email_settings::{SmtpBody, smtp};
use super::error::ApiError;
use super::extract::{Body, Params, TenantCaller, id};
use super::time;
use crate::domain::channels::{Sms, WEBHOOK_EVENTS};
use crate::store::{DeliveryFilter, DeliveryRow, Secret, WebhookRow};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// The SMS gateway.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsBody {
    /// `POST {endpoint}` with `{id, to, body}`.
    pub endpoint: String,
    /// Bearer token (write-only; left out: unchanged).
    #[serde(default)]
    pub token: Option<String>,
}

/// `PUT /settings` body: the tenant's channel settings, replaced whole (secrets left out stay
/// as stored).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// SMTP server for tickets whose inbox has none (`from` is the sender).
    #[serde(default)]
    pub smtp: Option<SmtpBody>,
    /// SMS gateway.
    #[serde(default)]
    pub sms: Option<SmsBody>,
}

/// `POST /webhooks` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    /// Where to `POST` (http or https).
    pub url: String,
    /// Event types: `ticket.created`, `ticket.updated`, `message.created`, `rule.fired`,
    /// `delivery.requested`, `delivery.dead`.
    pub events: Vec<String>,
}

/// `GET /deliveries` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    state: Option<String>,
    ticket_id: Option<i64>,
    limit: Option<i64>,
    before: Option<i64>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show_settings).put(put_settings))
        .route("/webhooks", post(create_webhook).get(list_webhooks))
        .route("/webhooks/{id}", get(show_webhook).delete(delete_webhook))
        .route("/webhooks/{id}/deliveries", get(webhook_deliveries))
        .route("/deliveries", get(list_deliveries))
        .route("/deliveries/{id}", get(show_delivery))
        .route("/deliveries/{id}/retry", post(retry_delivery))
}

/// A delivery as the API shows it.
pub fn delivery_json(d: &DeliveryRow) -> Value {
    let event = d
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
        .and_then(|p| p.get("type").cloned());
    json!({
        "id": d.id, "ticket_id": d.ticket_id, "rule_id": d.rule_id, "kind": d.kind, "channel": d.channel,
        "recipient": d.recipient, "subject": d.subject,
        "body": if d.kind == "webhook" { Value::Null } else { d.body.clone().into() },
        "event": event, "webhook_id": d.webhook_id, "message": d.message_ref,
        "state": d.state, "attempts": d.attempts, "next_attempt_at": time::format_opt(d.next_attempt_at),
        "last_error": d.last_error, "response": d.response, "sent_at": time::format_opt(d.sent_at),
        "message_id": d.message_id, "created_at": time::format(d.created_at),
    })
}

fn webhook_json(w: &WebhookRow) -> Value {
    json!({"id": w.id, "url": w.url, "events": w.events, "created_at": time::format(w.created_at)})
}

async fn settings_view(s: &AppState, tenant: i64) -> Result<Value, ApiError> {
    let settings = s.engine.store().settings(tenant).await?;
    let smtp = settings.smtp.map(|smtp| {
        let mut v = serde_json::to_value(smtp).unwrap_or(Value::Null);
        v["password_set"] = settings.smtp_password.is_some().into();
        v
    });
    let sms = settings
        .sms
        .map(|sms| json!({"endpoint": sms.endpoint, "token_set": settings.sms_token.is_some()}));
    Ok(json!({"smtp": smtp, "sms": sms}))
}

async fn show_settings(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(settings_view(&s, t.id).await?))
}

/// An http(s) URL with a host, or an error naming `field`.
pub(super) fn url(field: &str, text: &str) -> Result<String, ApiError> {
    let t = text.trim();
    let rest = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    match host {
        Some(h) if !h.is_empty() && !t.contains(char::is_whitespace) && t.len() <= 2000 => {
            Ok(t.to_owned())
        }
        _ => Err(ApiError::invalid(
            field,
            format!("`{text}` is not an http:// or https:// URL"),
        )),
    }
}

async fn put_settings(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Body(b): Body<SettingsBody>,
) -> Result<Json<Value>, ApiError> {
    let smtp = match b.smtp {
        Some(body) => {
            if body.from.is_none() {
                return Err(ApiError::invalid(
                    "smtp.from",
                    "the tenant's SMTP needs a sender address",
                ));
            }
            let (smtp, pw) = smtp("smtp", body)?;
            (Some(smtp), pw)
        }
        None => (None, Secret::Set(None)),
    };
    let sms = match b.sms {
        Some(body) => {
            let token = match body.token {
                None => Secret::Keep,
                Some(t) if t.is_empty() => {
                    return Err(ApiError::invalid(
                        "sms.token",
                        "must not be empty (leave it out to keep the stored one)",
                    ));
                }
                Some(t) => Secret::Set(Some(t)),
            };
            (
                Some(Sms {
                    endpoint: url("sms.endpoint", &body.endpoint)?,
                }),
                token,
            )
        }
        None => (None, Secret::Set(None)),
    };
    s.engine
        .store()
        .put_settings(t.id, smtp.0.as_ref(), smtp.1, sms.0.as_ref(), sms.1)
        .await?;
    Ok(Json(settings_view(&s, t.id).await?))
}

/// A new signing secret in the Standard Webhooks form: `whsec_` and 24 random bytes in base64.
fn new_secret() -> String {
    use base64::Engine as _;
    let mut key = [0u8; 24];
    getrandom::fill(&mut key).expect("the operating system's random source");
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

async fn create_webhook(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Body(b): Body<NewWebhookBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let url = url("url", &b.url)?;
    if b.events.is_empty() {
        return Err(ApiError::invalid(
            "events",
            format!("name at least one of {}", WEBHOOK_EVENTS.join(", ")),
        ));
    }
    let mut events: Vec<String> = Vec::new();
    for (i, e) in b.events.iter().enumerate() {
        if !WEBHOOK_EVENTS.contains(&e.as_str()) {
            return Err(ApiError::invalid(
                format!("events[{i}]"),
                format!(
                    "`{e}` is not an event type; they are {}",
                    WEBHOOK_EVENTS.join(", ")
                ),
            ));
        }
        if !events.contains(e) {
            events.push(e.clone());
        }
    }
    let secret = new_secret();
    let row = s
        .engine
        .store()
        .add_webhook(t.id, &url, &events, &secret)
        .await?;
    let mut v = webhook_json(&row);
    // Shown once: only its sealed form is kept.
    v["secret"] = secret.into();
    Ok((StatusCode::CREATED, Json(v)))
}

async fn list_webhooks(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let rows = s.engine.store().webhooks(t.id).await?;
    Ok(Json(
        json!({"webhooks": rows.iter().map(webhook_json).collect::<Vec<_>>()}),
    ))
}

async fn show_webhook(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(hook): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let row = s
        .engine
        .store()
        .webhook(t.id, id(&hook, "webhook")?)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(Json(webhook_json(&row)))
}

async fn delete_webhook(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(hook): Path<String>,
) -> Result<StatusCode, ApiError> {
    if s.engine
        .store()
        .delete_webhook(t.id, id(&hook, "webhook")?)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("webhook"))
    }
}

fn limit(limit: Option<i64>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "between 1 and 500"));
    }
    Ok(limit)
}

fn page(rows: &[DeliveryRow], limit: i64) -> Value {
    let next = if rows.len() as i64 == limit {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    json!({"deliveries": rows.iter().map(delivery_json).collect::<Vec<_>>(), "next_before": next})
}

async fn webhook_deliveries(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(hook): Path<String>,
    Params(q): Params<DeliveriesQuery>,
) -> Result<Json<Value>, ApiError> {
    let hook = id(&hook, "webhook")?;
    let store = s.engine.store();
    if store.webhook(t.id, hook).await?.is_none() {
        return Err(ApiError::not_found("webhook"));
    }
    let filter = filter(q, Some(hook))?;
    let rows = store.deliveries(t.id, &filter).await?;
    Ok(Json(page(&rows, filter.limit)))
}

fn filter(q: DeliveriesQuery, webhook_id: Option<i64>) -> Result<DeliveryFilter, ApiError> {
    if let Some(state) = &q.state
        && !["pending", "sent", "failed", "dead"].contains(&state.as_str())
    {
        return Err(ApiError::invalid(
            "state",
            format!("`{state}` is not pending, sent, failed or dead"),
        ));
    }
    Ok(DeliveryFilter {
        state: q.state,
        ticket_id: q.ticket_id,
        webhook_id,
        before_id: q.before,
        limit: limit(q.limit)?,
    })
}

async fn list_deliveries(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Params(q): Params<DeliveriesQuery>,
) -> Result<Json<Value>, ApiError> {
    let filter = filter(q, None)?;
    let rows = s.engine.store().deliveries(t.id, &filter).await?;
    Ok(Json(page(&rows, filter.limit)))
}

async fn show_delivery(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(delivery): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let row = s
        .engine
        .store()
        .delivery(t.id, id(&delivery, "delivery")?)
        .await?
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    Ok(Json(delivery_json(&row)))
}

async fn retry_delivery(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(delivery): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let found = s
        .engine
        .store()
        .retry_delivery(t.id, id(&delivery, "delivery")?)
        .await?
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    match found {
        Ok(row) => {
            s.engine.deliveries_wake.notify_one();
            Ok(Json(delivery_json(&row)))
        }
        Err(state) => Err(ApiError::Conflict(format!(
            "only a dead delivery is sent again; this one is `{state}`"
        ))),
    }
}
