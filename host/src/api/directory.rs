//! `GET|POST /agents`, `GET|POST /inboxes`.

use super::AppState;
use super::error::ApiError;
use super::extract::{Body, TenantCaller};
use crate::store::{AgentRow, InboxRow, NewAgent, NewInbox};
use axum::extract::State;
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
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/agents", get(list_agents).post(create_agent))
        .route("/inboxes", get(list_inboxes).post(create_inbox))
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
    let row = s.engine.store().create_inbox(t.id, &new).await?;
    s.engine.invalidate(t.id);
    Ok((StatusCode::CREATED, Json(inbox_json(&row))))
}

async fn list_inboxes(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let rows = s.engine.store().inboxes(t.id).await?;
    Ok(Json(
        json!({"inboxes": rows.iter().map(inbox_json).collect::<Vec<_>>()}),
    ))
}
