//! Tickets and their messages: `POST|GET /tickets`, `GET|PATCH /tickets/{id}`,
//! `POST|GET /tickets/{id}/messages`, `POST /tickets/{id}/events`.

use super::AppState;
use super::error::ApiError;
use super::extract::{Body, Params, TenantCaller, id};
use super::time;
use crate::domain::views;
use crate::engine::{Change, EngineError};
use crate::store::{NewMessage, NewTicket, Tenant, TicketFilter, TicketRow, now_ms};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use ferrule_types::Event;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// The customer of a new ticket.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    /// Name.
    pub name: String,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
}

/// The first customer message of a new ticket.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FirstMessageBody {
    /// Text.
    pub body: String,
    /// When it was sent (RFC 3339; default: now). Past times are allowed for imports.
    #[serde(default)]
    pub sent_at: Option<String>,
}

/// `POST /tickets` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketBody {
    /// Subject.
    pub subject: String,
    /// Channel: `email`, `allegro-discussions`, `allegro-messages`, `chat`, `sms`, `phone`, `web-form`, `api`, …
    pub source: String,
    /// The customer.
    pub customer: CustomerBody,
    /// Inbox id.
    #[serde(default)]
    pub inbox: Option<i64>,
    /// Connected account of the channel (e.g. the Allegro login).
    #[serde(default)]
    pub account: Option<String>,
    /// Ticket type (e.g. `return`).
    #[serde(default, rename = "type")]
    pub ticket_type: Option<String>,
    /// Priority.
    #[serde(default)]
    pub priority: Option<String>,
    /// Category.
    #[serde(default)]
    pub category: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Conversation language.
    #[serde(default)]
    pub language: Option<String>,
    /// Creation time (RFC 3339; default: now).
    #[serde(default)]
    pub created_at: Option<String>,
    /// For imports: the ticket's status (default `new`); it counts as entered at `created_at`.
    #[serde(default)]
    pub status: Option<String>,
    /// For imports: the assigned agent's id; assigned at `created_at`.
    #[serde(default)]
    pub assignee: Option<i64>,
    /// The customer's first message.
    #[serde(default)]
    pub message: Option<FirstMessageBody>,
    /// The channel's id of the ticket (an e-mail's Message-ID, an Allegro thread id), unique
    /// per tenant and source: a repeated call answers 200 with the existing ticket and runs
    /// no rule again.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// `PATCH /tickets/{id}` body: the fields to change.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTicketBody {
    /// New status (one of the tenant's statuses).
    #[serde(default)]
    pub status: Option<String>,
    /// Agent id, or null to unassign.
    #[serde(default, deserialize_with = "double_option")]
    #[schemars(with = "Option<i64>")]
    pub assignee: Option<Option<i64>>,
    /// The full tag list.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Category.
    #[serde(default)]
    pub category: Option<String>,
    /// Priority.
    #[serde(default)]
    pub priority: Option<String>,
    /// Ticket type.
    #[serde(default, rename = "type")]
    pub ticket_type: Option<String>,
    /// Subject.
    #[serde(default)]
    pub subject: Option<String>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// `POST /tickets/{id}/messages` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessageBody {
    /// `customer` or `agent`.
    pub author: String,
    /// Text.
    pub body: String,
    /// When it was sent (RFC 3339; default: now).
    #[serde(default)]
    pub sent_at: Option<String>,
    /// The channel's id of the message, unique per tenant and source: a repeated call
    /// answers 200 with the existing message and runs no rule again.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// `POST /tickets/{id}/events` body: an event reported by an integration.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEventBody {
    /// `return_created`.
    pub kind: String,
}

/// `GET /tickets` query.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    assignee: Option<i64>,
    tag: Option<String>,
    limit: Option<i64>,
    before: Option<i64>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tickets", post(create).get(list))
        .route("/tickets/{id}", get(show).patch(patch))
        .route("/tickets/{id}/messages", post(add_message).get(messages))
        .route("/tickets/{id}/events", post(add_event).get(events))
        .route("/tickets/{id}/outbox", get(outbox))
        .route("/tickets/{id}/attachments/{attachment}", get(attachment))
}

/// A ticket as the API shows it.
pub fn ticket_json(t: &TicketRow, status_category: &str) -> Value {
    crate::domain::views::ticket(t, status_category)
}

fn runs_summary(records: &[crate::engine::RunRecord]) -> Value {
    records
        .iter()
        .map(|r| json!({"rule_id": r.rule_id, "rule_name": &*r.rule_name, "event": r.event.kind(), "outcome": r.outcome}))
        .collect()
}

async fn ticket_view(s: &AppState, tenant: &Tenant, id: i64) -> Result<Value, ApiError> {
    let ticket = s
        .engine
        .store()
        .ticket(tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))?;
    let cache = s.engine.tenant_cache(tenant).await?;
    Ok(ticket_json(&ticket, cache.data.category(&ticket.status)))
}

/// Run engine work on its own task: a client that disconnects does not cut the work off
/// halfway (what it started is finished and written, as if the answer had been read).
async fn detached<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, EngineError>> + Send + 'static,
) -> Result<T, ApiError> {
    detached_raw(work).await?.map_err(ApiError::from)
}

/// [`detached`], with the engine's error left to the caller.
async fn detached_raw<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, EngineError>> + Send + 'static,
) -> Result<Result<T, EngineError>, ApiError> {
    tokio::spawn(work)
        .await
        .map_err(|e| ApiError::Internal(format!("engine task: {e}")))
}

fn unknown_status(cache: &crate::engine::TenantCache, status: &str) -> ApiError {
    let names: Vec<&str> = cache
        .data
        .statuses
        .iter()
        .map(|x| x.name.as_str())
        .collect();
    ApiError::invalid(
        "status",
        format!(
            "unknown status `{status}`; the tenant's statuses are {}",
            names.join(", ")
        ),
    )
}

fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if v.len() > max {
        return Err(ApiError::invalid(field, format!("longer than {max} bytes")));
    }
    Ok(v.to_owned())
}

fn clean_tags(field: &str, tags: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for (i, tag) in tags.iter().enumerate() {
        let tag = text(&format!("{field}[{i}]"), tag, 100)?.to_lowercase();
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

async fn create(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Body(b): Body<NewTicketBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let subject = text("subject", &b.subject, 1000)?;
    let source = text("source", &b.source, 100)?.to_lowercase();
    if !source
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::invalid(
            "source",
            "a source is a lower-case word like `email` or `allegro-discussions`",
        ));
    }
    let customer_name = text("customer.name", &b.customer.name, 300)?;
    if let Some(email) = &b.customer.email
        && !email.contains('@')
    {
        return Err(ApiError::invalid(
            "customer.email",
            format!("`{email}` is not an e-mail address"),
        ));
    }
    let cache = s.engine.tenant_cache(&t).await?;
    let external_id = match &b.external_id {
        Some(e) => Some(text("external_id", e, 1000)?),
        None => None,
    };
    if let Some(external) = &external_id
        && let Some(existing) = s
            .engine
            .store()
            .ticket_by_external(t.id, &source, external)
            .await?
    {
        return Ok((StatusCode::OK, Json(ticket_view(&s, &t, existing).await?)));
    }
    let inbox = match b.inbox {
        Some(id) => Some(
            cache
                .data
                .inboxes
                .iter()
                .find(|i| i.id == id)
                .ok_or_else(|| {
                    ApiError::invalid("inbox", format!("the tenant has no inbox {id}"))
                })?,
        ),
        None => None,
    };
    let created_at = match &b.created_at {
        Some(c) => time::parse("created_at", c)?,
        None => now_ms(),
    };
    let message = match &b.message {
        Some(m) => {
            let body = text("message.body", &m.body, 100_000)?;
            let sent_at = match &m.sent_at {
                Some(at) => time::parse("message.sent_at", at)?,
                None => created_at,
            };
            Some((body, sent_at))
        }
        None => None,
    };
    let status = b.status.unwrap_or_else(|| "new".into());
    let Some(found) = cache.data.statuses.iter().find(|x| x.name == status) else {
        return Err(unknown_status(&cache, &status));
    };
    let closed_at = matches!(found.category.as_str(), "solved" | "closed").then_some(created_at);
    if let Some(agent) = b.assignee
        && !cache.data.agent_ids.contains(&agent)
    {
        return Err(ApiError::invalid(
            "assignee",
            format!("the tenant has no agent {agent}"),
        ));
    }
    let new = NewTicket {
        subject,
        source,
        status,
        assignee_id: b.assignee,
        closed_at,
        customer_name,
        customer_email: b.customer.email.map(|e| e.trim().to_lowercase()),
        customer_phone: b.customer.phone,
        inbox_id: b.inbox,
        account: b.account,
        ticket_type: b.ticket_type,
        // The queue's defaults fill what the ticket does not say.
        priority: b
            .priority
            .or_else(|| inbox.as_ref().and_then(|i| i.default_priority.clone())),
        category: b
            .category
            .or_else(|| inbox.as_ref().and_then(|i| i.default_category.clone())),
        tags: clean_tags("tags", &b.tags)?,
        language: b.language,
        created_at,
        external_id: external_id.clone(),
    };
    let message = message.map(|(body, sent_at)| NewMessage {
        external_id: external_id.clone(),
        ..NewMessage::new("customer", body, sent_at)
    });
    let engine = s.engine.clone();
    let tenant = t.clone();
    let created =
        match detached_raw(async move { engine.create_ticket(&tenant, &new, message).await })
            .await?
        {
            Err(EngineError::Duplicate { ticket_id, .. }) => {
                return Ok((StatusCode::OK, Json(ticket_view(&s, &t, ticket_id).await?)));
            }
            other => other?,
        };
    let mut view = ticket_json(&created.ticket, cache.data.category(&created.ticket.status));
    view["runs"] = runs_summary(&created.records);
    Ok((StatusCode::CREATED, Json(view)))
}

async fn show(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(ticket): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(ticket_view(&s, &t, id(&ticket, "ticket")?).await?))
}

async fn list(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "between 1 and 500"));
    }
    let filter = TicketFilter {
        status: q.status,
        assignee_id: q.assignee,
        tag: q.tag.map(|t| t.to_lowercase()),
        limit,
        before_id: q.before,
    };
    let rows = s.engine.store().tickets(t.id, &filter).await?;
    let cache = s.engine.tenant_cache(&t).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| ticket_json(r, cache.data.category(&r.status)))
        .collect();
    let next = if rows.len() as i64 == limit {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok(Json(json!({"tickets": items, "next_before": next})))
}

async fn patch(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(ticket): Path<String>,
    Body(b): Body<PatchTicketBody>,
) -> Result<Json<Value>, ApiError> {
    let ticket_id = id(&ticket, "ticket")?;
    let cache = s.engine.tenant_cache(&t).await?;
    let status = match &b.status {
        Some(status) => match cache.data.statuses.iter().find(|x| x.name == *status) {
            Some(found) => Some((
                status.clone(),
                matches!(found.category.as_str(), "solved" | "closed"),
            )),
            None => return Err(unknown_status(&cache, status)),
        },
        None => None,
    };
    if let Some(Some(agent)) = b.assignee
        && !cache.data.agent_ids.contains(&agent)
    {
        return Err(ApiError::invalid(
            "assignee",
            format!("the tenant has no agent {agent}"),
        ));
    }
    let tags = match &b.tags {
        Some(tags) => Some(clean_tags("tags", tags)?),
        None => None,
    };
    let subject = match &b.subject {
        Some(subject) => Some(text("subject", subject, 1000)?),
        None => None,
    };
    let change = move |row: &mut TicketRow| {
        let now = now_ms();
        let mut events = Vec::new();
        if let Some((status, closing)) = &status
            && row.status != *status
        {
            events.push(Event::StatusChanged {
                from: row.status.clone(),
                to: status.clone(),
            });
            row.status = status.clone();
            row.status_changed_at = now;
            row.closed_at = closing.then_some(now);
        }
        if let Some(assignee) = b.assignee
            && row.assignee_id != assignee
        {
            row.assignee_id = assignee;
            row.assigned_at = assignee.map(|_| now);
        }
        if let Some(new) = &tags {
            let old: Vec<String> = serde_json::from_str(&row.tags).unwrap_or_default();
            events.extend(
                new.iter()
                    .filter(|t| !old.contains(t))
                    .map(|t| Event::TagAdded { tag: t.clone() }),
            );
            row.tags = serde_json::to_string(new).unwrap_or_else(|_| "[]".into());
        }
        if let Some(c) = &b.category {
            row.category = Some(c.clone());
        }
        if let Some(p) = &b.priority {
            row.priority = Some(p.clone());
        }
        if let Some(k) = &b.ticket_type {
            row.ticket_type = Some(k.clone());
        }
        if let Some(subject) = &subject {
            row.subject = subject.clone();
        }
        row.updated_at = now;
        Change {
            events,
            message: None,
        }
    };
    let engine = s.engine.clone();
    let tenant = t.clone();
    let changed = detached(async move { engine.change_ticket(&tenant, ticket_id, change).await })
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))?;
    let mut view = ticket_json(&changed.ticket, cache.data.category(&changed.ticket.status));
    view["runs"] = runs_summary(&changed.records);
    Ok(Json(view))
}

async fn add_message(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(ticket): Path<String>,
    Body(b): Body<NewMessageBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ticket_id = id(&ticket, "ticket")?;
    let author = match b.author.as_str() {
        "customer" | "agent" => b.author.clone(),
        other => {
            return Err(ApiError::invalid(
                "author",
                format!("`{other}` is not `customer` or `agent`"),
            ));
        }
    };
    let body = text("body", &b.body, 100_000)?;
    let sent_at = match &b.sent_at {
        Some(at) => time::parse("sent_at", at)?,
        None => now_ms(),
    };
    let external_id = match &b.external_id {
        Some(e) => Some(text("external_id", e, 1000)?),
        None => None,
    };
    if let Some(external) = &external_id {
        let ticket = s
            .engine
            .store()
            .ticket(t.id, ticket_id)
            .await?
            .ok_or_else(|| ApiError::not_found("ticket"))?;
        if let Some((owner, message)) = s
            .engine
            .store()
            .message_by_external(t.id, &ticket.source, external)
            .await?
        {
            return Ok((
                StatusCode::OK,
                Json(one_message(&s, &t, owner, message).await?),
            ));
        }
    }
    let m = NewMessage {
        external_id,
        ..NewMessage::new(&author, body, sent_at)
    };
    let engine = s.engine.clone();
    let tenant = t.clone();
    let message = m.clone();
    let changed =
        match detached_raw(async move { engine.add_message(&tenant, ticket_id, message).await })
            .await?
        {
            Err(EngineError::Duplicate {
                ticket_id: owner,
                message_id: Some(existing),
            }) => {
                return Ok((
                    StatusCode::OK,
                    Json(one_message(&s, &t, owner, existing).await?),
                ));
            }
            other => other?.ok_or_else(|| ApiError::not_found("ticket"))?,
        };
    let row = m.stored(changed.message_id.unwrap_or_default(), ticket_id);
    let mut out = views::message(&row);
    out["runs"] = runs_summary(&changed.records);
    Ok((StatusCode::CREATED, Json(out)))
}

/// One message as `GET /tickets/{id}/messages` shows it.
async fn one_message(
    s: &AppState,
    t: &Tenant,
    ticket: i64,
    message: i64,
) -> Result<Value, ApiError> {
    let list = message_list(s, t, ticket).await?;
    Ok(list
        .into_iter()
        .find(|m| m["id"] == message)
        .unwrap_or(Value::Null))
}

/// A ticket's messages with their attachments and, for replies ferrule sends, the delivery.
async fn message_list(s: &AppState, t: &Tenant, ticket: i64) -> Result<Vec<Value>, ApiError> {
    let store = s.engine.store();
    let rows = store.messages(t.id, ticket).await?;
    let attachments = store.attachments(t.id, ticket).await?;
    let deliveries = store.deliveries_of_messages(t.id, ticket).await?;
    Ok(rows
        .iter()
        .map(|m| {
            let mut v = views::message(m);
            let files: Vec<Value> = attachments
                .iter()
                .filter(|a| a.message_id == m.id)
                .map(|a| {
                    json!({"id": a.id, "name": a.name, "content_type": a.content_type, "size": a.size,
                           "stored": a.stored,
                           "url": a.stored.then(|| format!("/api/v1/tickets/{ticket}/attachments/{}", a.id))})
                })
                .collect();
            v["attachments"] = files.into();
            let mine: Vec<Value> = deliveries
                .iter()
                .filter(|(message, _, _)| *message == m.id)
                .map(|(_, id, state)| json!({"id": id, "state": state}))
                .collect();
            // A reply ferrule sends is recorded once its delivery is queued; `deliveries`
            // says how far each got.
            if !mine.is_empty() {
                v["deliveries"] = mine.into();
            }
            v
        })
        .collect())
}

async fn messages(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(ticket): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ticket_id = id(&ticket, "ticket")?;
    if s.engine.store().ticket(t.id, ticket_id).await?.is_none() {
        return Err(ApiError::not_found("ticket"));
    }
    Ok(Json(
        json!({"messages": message_list(&s, &t, ticket_id).await?}),
    ))
}

async fn add_event(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(ticket): Path<String>,
    Body(b): Body<NewEventBody>,
) -> Result<Json<Value>, ApiError> {
    let ticket_id = id(&ticket, "ticket")?;
    let event = match b.kind.as_str() {
        "return_created" => Event::ReturnCreated,
        other => {
            return Err(ApiError::invalid(
                "kind",
                format!("`{other}` cannot be reported; integrations report `return_created`"),
            ));
        }
    };
    let engine = s.engine.clone();
    let records = detached(async move { engine.report_event(&t, ticket_id, event).await })
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))?;
    Ok(Json(json!({"runs": runs_summary(&records)})))
}

async fn events(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(ticket): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ticket_id = id(&ticket, "ticket")?;
    if s.engine.store().ticket(t.id, ticket_id).await?.is_none() {
        return Err(ApiError::not_found("ticket"));
    }
    let rows = s.engine.store().ticket_events(t.id, ticket_id).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|e| {
            let event: Value = serde_json::from_str(&e.payload).unwrap_or(Value::Null);
            json!({"id": e.id, "event": event, "depth": e.depth, "created_at": time::format(e.created_at),
                   "processed_at": time::format_opt(e.processed_at)})
        })
        .collect();
    Ok(Json(json!({ "events": items })))
}

async fn outbox(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(ticket): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ticket_id = id(&ticket, "ticket")?;
    if s.engine.store().ticket(t.id, ticket_id).await?.is_none() {
        return Err(ApiError::not_found("ticket"));
    }
    let rows = s.engine.store().outbox(t.id, ticket_id).await?;
    let items: Vec<Value> = rows.iter().map(super::channels::delivery_json).collect();
    Ok(Json(json!({ "outbox": items })))
}

async fn attachment(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path((ticket, file)): Path<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let (ticket, file) = (id(&ticket, "ticket")?, id(&file, "attachment")?);
    let Some((name, content_type, bytes)) = s.engine.store().attachment(t.id, ticket, file).await?
    else {
        return Err(ApiError::not_found("attachment"));
    };
    let Some(bytes) = bytes else {
        return Err(ApiError::NotFound(format!(
            "`{name}` was larger than ferrule keeps; only its name, type and size are stored"
        )));
    };
    let disposition = format!(
        "attachment; filename=\"{}\"",
        name.replace(['"', '\\', '\r', '\n'], "_")
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
