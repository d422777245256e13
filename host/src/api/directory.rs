//! `GET|POST /agents`, `GET|POST /inboxes`, `GET|PATCH /inboxes/{id}` (with the inbox's
//! `email` block: its mailbox and SMTP server, passwords write-only).

use super::AppState;
use super::email_settings::{EmailBody, email};
use super::error::ApiError;
use super::extract::{Body, TenantCaller, id};
use crate::store::{AgentRow, InboxChanges, InboxRow, NewAgent, NewInbox, Secret};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use ferrule_types::Calendar;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `POST /agents` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgentBody {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Working-hours calendar.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub working_hours: Option<Value>,
}

/// `POST /inboxes` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInboxBody {
    /// Name.
    pub name: String,
    /// Group of inboxes.
    #[serde(default)]
    pub group: Option<String>,
    /// Working-hours calendar.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub working_hours: Option<Value>,
    /// Category given to new tickets of the inbox that have none.
    #[serde(default)]
    pub default_category: Option<String>,
    /// Priority given to new tickets of the inbox that have none.
    #[serde(default)]
    pub default_priority: Option<String>,
    /// The inbox's mailbox (IMAP) and SMTP server.
    #[serde(default)]
    pub email: Option<EmailBody>,
}

/// `PATCH /inboxes/{id}` body: the fields to change (`null` clears).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchInboxBody {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Group of inboxes.
    #[serde(default, deserialize_with = "some")]
    pub group: Option<Option<String>>,
    /// Working-hours calendar.
    #[serde(default, deserialize_with = "some")]
    #[schemars(with = "Option<Value>")]
    pub working_hours: Option<Option<Value>>,
    /// Category given to new tickets of the inbox that have none.
    #[serde(default, deserialize_with = "some")]
    pub default_category: Option<Option<String>>,
    /// Priority given to new tickets of the inbox that have none.
    #[serde(default, deserialize_with = "some")]
    pub default_priority: Option<Option<String>>,
    /// The `email` block, replaced whole (passwords left out stay as stored); `null` removes it.
    #[serde(default, deserialize_with = "some")]
    pub email: Option<Option<EmailBody>>,
}

fn some<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Some(Option::deserialize(d)?))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/agents", get(list_agents).post(create_agent))
        .route("/agents/{id}", axum::routing::delete(remove_agent))
        .route("/inboxes", get(list_inboxes).post(create_inbox))
        .route("/inboxes/{id}", get(show_inbox).patch(patch_inbox))
}

/// A calendar from JSON; errors name the calendar's part.
pub fn calendar(value: Option<Value>) -> Result<Option<Calendar>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    if value.is_null() {
        return Ok(None);
    }
    let calendar: Calendar = serde_json::from_value(value)
        .map_err(|e| ApiError::invalid("working_hours", e.to_string()))?;
    if calendar.timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(ApiError::invalid(
            "working_hours.timezone",
            format!("`{}` is not an IANA time zone", calendar.timezone),
        ));
    }
    Ok(Some(calendar))
}

fn name(text: &str) -> Result<String, ApiError> {
    let name = text.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::invalid(
            "name",
            "give a name of 1 to 200 characters",
        ));
    }
    Ok(name.to_owned())
}

pub fn agent_json(a: &AgentRow) -> Value {
    json!({"id": a.id, "name": a.name, "email": a.email, "phone": a.phone,
           "working_hours": a.working_hours.as_deref().and_then(|h| serde_json::from_str::<Value>(h).ok())})
}

pub fn inbox_json(i: &InboxRow) -> Value {
    json!({"id": i.id, "name": i.name, "group": i.grp,
           "default_category": i.default_category, "default_priority": i.default_priority,
           "working_hours": i.working_hours.as_deref().and_then(|h| serde_json::from_str::<Value>(h).ok())})
}

async fn create_agent(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Body(b): Body<NewAgentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if let Some(email) = &b.email
        && !email.contains('@')
    {
        return Err(ApiError::invalid(
            "email",
            format!("`{email}` is not an e-mail address"),
        ));
    }
    let new = NewAgent {
        name: name(&b.name)?,
        email: b.email,
        phone: b.phone,
        working_hours: calendar(b.working_hours)?,
    };
    let row = s.engine.store().create_agent(t.id, &new).await?;
    s.engine.invalidate(t.id);
    Ok((StatusCode::CREATED, Json(agent_json(&row))))
}

/// Remove an agent: gone from the directory (its tickets and runs keep the id); rules that
/// name it are paused with the reason until they are edited.
async fn remove_agent(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    axum::extract::Path(agent): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let agent = super::extract::id(&agent, "agent")?;
    if !s.engine.store().remove_agent(t.id, agent).await? {
        return Err(ApiError::not_found("agent"));
    }
    s.engine.invalidate(t.id);
    Ok(StatusCode::NO_CONTENT)
}

async fn list_agents(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let rows = s.engine.store().agents(t.id).await?;
    Ok(Json(
        json!({"agents": rows.iter().map(agent_json).collect::<Vec<_>>()}),
    ))
}

async fn create_inbox(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Body(b): Body<NewInboxBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let new = NewInbox {
        name: name(&b.name)?,
        group: b.group,
        working_hours: calendar(b.working_hours)?,
        default_category: b.default_category,
        default_priority: b.default_priority,
    };
    let settings = b.email.map(email).transpose()?;
    let store = s.engine.store();
    let row = store.create_inbox(t.id, &new).await?;
    if let Some((email, imap, smtp)) = settings {
        store
            .set_inbox_email(t.id, row.id, Some(&email), imap, smtp)
            .await?;
        s.engine.mailboxes_changed();
    }
    s.engine.invalidate(t.id);
    Ok((StatusCode::CREATED, Json(inbox_view(&s, t.id, &row).await?)))
}

async fn show_inbox(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(inbox): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let inbox = id(&inbox, "inbox")?;
    let row = s
        .engine
        .store()
        .inbox(t.id, inbox)
        .await?
        .ok_or_else(|| ApiError::not_found("inbox"))?;
    Ok(Json(inbox_view(&s, t.id, &row).await?))
}

async fn patch_inbox(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(inbox): Path<String>,
    Body(b): Body<PatchInboxBody>,
) -> Result<Json<Value>, ApiError> {
    let inbox = id(&inbox, "inbox")?;
    let store = s.engine.store();
    if store.inbox(t.id, inbox).await?.is_none() {
        return Err(ApiError::not_found("inbox"));
    }
    let name = b.name.as_deref().map(name).transpose()?;
    let hours = match b.working_hours {
        Some(h) => Some(calendar(h)?),
        None => None,
    };
    let settings = match b.email {
        Some(Some(e)) => Some(Some(email(e)?)),
        Some(None) => Some(None),
        None => None,
    };
    let changes = InboxChanges {
        name,
        group: b.group,
        working_hours: hours,
        default_category: b.default_category,
        default_priority: b.default_priority,
    };
    store.update_inbox(t.id, inbox, &changes).await?;
    match settings {
        Some(Some((email, imap, smtp))) => {
            store
                .set_inbox_email(t.id, inbox, Some(&email), imap, smtp)
                .await?;
            s.engine.mailboxes_changed();
        }
        Some(None) => {
            store
                .set_inbox_email(t.id, inbox, None, Secret::Set(None), Secret::Set(None))
                .await?;
            s.engine.mailboxes_changed();
        }
        None => {}
    }
    s.engine.invalidate(t.id);
    let row = store
        .inbox(t.id, inbox)
        .await?
        .ok_or_else(|| ApiError::not_found("inbox"))?;
    Ok(Json(inbox_view(&s, t.id, &row).await?))
}

/// An inbox with its e-mail settings (passwords only as `password_set`) and the mailbox
/// worker's status.
async fn inbox_view(s: &AppState, tenant: i64, row: &InboxRow) -> Result<Value, ApiError> {
    let mut v = inbox_json(row);
    let store = s.engine.store();
    if let Some(e) = store.inbox_email(tenant, row.id).await? {
        let mut email = serde_json::to_value(&e.email).unwrap_or(Value::Null);
        if let Some(imap) = email.get_mut("imap").filter(|i| i.is_object()) {
            imap["password_set"] = e.imap_password.is_some().into();
        }
        if let Some(smtp) = email.get_mut("smtp").filter(|i| i.is_object()) {
            smtp["password_set"] = e.smtp_password.is_some().into();
        }
        let state = store.mailbox_state(row.id).await?;
        email["status"] = match (&e.email.imap, state) {
            (None, _) => Value::Null,
            (Some(_), None) => {
                json!({"state": "connecting", "last_poll_at": null, "last_error": null,
                                      "imported": 0, "refused": 0})
            }
            (Some(_), Some(m)) => {
                let refusals: Vec<Value> = store
                    .mail_refusals(row.id, 10)
                    .await?
                    .into_iter()
                    .map(|(uid, message_id, reason, at)| {
                        json!({"uid": uid, "message_id": message_id, "reason": reason,
                               "at": super::time::format(at)})
                    })
                    .collect();
                json!({"state": m.state, "last_poll_at": super::time::format_opt(m.last_poll_at),
                       "last_error": m.last_error, "imported": m.imported, "refused": m.refused,
                       "recent_refusals": refusals})
            }
        };
        v["email"] = email;
    } else {
        v["email"] = Value::Null;
    }
    Ok(v)
}

async fn list_inboxes(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let rows = s.engine.store().inboxes(t.id).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(inbox_view(&s, t.id, row).await?);
    }
    Ok(Json(json!({ "inboxes": items })))
}
