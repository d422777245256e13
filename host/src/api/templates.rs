//! Rule templates from the seed products: `GET /rule-templates` lists them with their parameters,
//! `POST /rule-templates/{id}` instantiates one (its rules are validated and saved like any other).

use super::AppState;
use super::error::ApiError;
use super::extract::{TenantCaller, parse};
use super::rules::{create_rule, rule_json};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

/// A template: its parameters (name → (description, default)) and a builder of rule bodies.
struct Template {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    source: &'static str,
    params: &'static [(&'static str, &'static str, Option<&'static str>)],
    build: fn(&Map<String, Value>) -> Vec<Value>,
}

fn text(p: &Map<String, Value>, key: &str) -> Value {
    p.get(key).cloned().unwrap_or(Value::Null)
}

const TEMPLATES: &[Template] = &[
    Template {
        id: "status-flow",
        name: "Status follows the conversation",
        description: "When an agent answers, the ticket waits for the customer; when the customer answers a waiting ticket, it is back in progress.",
        source: "Planfix support desk scenarios (seed 003); HubSpot default status triggers (seed 004)",
        params: &[
            (
                "agent_reply_status",
                "status after an agent reply",
                Some("waiting-for-customer"),
            ),
            (
                "customer_reply_status",
                "status after the customer replies",
                Some("in-progress"),
            ),
        ],
        build: |p| {
            vec![
                json!({"name": "Agent replied → waiting for the customer", "description": "Status flow (template status-flow)",
                       "trigger": {"events": ["agent_message"]},
                       "actions": [{"plugin": "set-status", "config": {"status": text(p, "agent_reply_status")}}]}),
                json!({"name": "Customer replied → in progress", "description": "Status flow (template status-flow)",
                       "trigger": {"events": ["customer_message"]},
                       "conditions": {"all": [{"plugin": "status", "config": {"is": [text(p, "agent_reply_status")]}}]},
                       "actions": [{"plugin": "set-status", "config": {"status": text(p, "customer_reply_status")}}]}),
            ]
        },
    },
    Template {
        id: "queue-acknowledgement",
        name: "Acknowledge new requests (in and after working hours)",
        description: "On the first message of a new ticket, reply with an acknowledgement; a different one outside the inbox's working hours.",
        source: "Thulium ticket queues (seed 002)",
        params: &[
            (
                "in_hours_body",
                "acknowledgement inside working hours (placeholders allowed)",
                Some(
                    "Dzień dobry {{customer.name}}, dziękujemy za wiadomość. Zgłoszenie #{{ticket.number}} zostało przyjęte, odpowiemy wkrótce.",
                ),
            ),
            (
                "after_hours_body",
                "acknowledgement outside working hours",
                Some(
                    "Dzień dobry {{customer.name}}, dziękujemy za wiadomość. Zgłoszenie #{{ticket.number}} zostało przyjęte; odpowiemy w godzinach pracy.",
                ),
            ),
            (
                "of",
                "whose working hours: `inbox`, `assignee` or an agent id",
                Some("inbox"),
            ),
        ],
        build: |p| {
            let hours = json!({"plugin": "working-hours", "config": {"of": text(p, "of")}});
            vec![
                json!({"name": "Acknowledge in working hours", "description": "Queue acknowledgement (template queue-acknowledgement)",
                       "trigger": {"events": ["first_customer_message"]}, "conditions": {"all": [hours.clone()]},
                       "actions": [{"plugin": "send-message", "config": {"body": text(p, "in_hours_body")}}]}),
                json!({"name": "Acknowledge after working hours", "description": "Queue acknowledgement (template queue-acknowledgement)",
                       "trigger": {"events": ["first_customer_message"]}, "conditions": {"all": [{"not": hours}]},
                       "actions": [{"plugin": "send-message", "config": {"body": text(p, "after_hours_body")}}]}),
            ]
        },
    },
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rule-templates", get(list))
        .route("/rule-templates/{id}", post(instantiate))
}

fn template_json(t: &Template) -> Value {
    let params: Vec<Value> = t
        .params
        .iter()
        .map(|(name, description, default)| json!({"name": name, "description": description, "default": default, "required": default.is_none()}))
        .collect();
    let defaults: Map<String, Value> = t
        .params
        .iter()
        .map(|(n, _, d)| ((*n).to_owned(), json!(d)))
        .collect();
    json!({"id": t.id, "name": t.name, "description": t.description, "source": t.source, "parameters": params,
           "rules": (t.build)(&defaults)})
}

async fn list(_: TenantCaller) -> Json<Value> {
    Json(json!({"templates": TEMPLATES.iter().map(template_json).collect::<Vec<_>>()}))
}

/// Body: `{"parameters": {...}}` (every parameter has a default).
async fn instantiate(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let template = TEMPLATES
        .iter()
        .find(|x| x.id == id)
        .ok_or_else(|| ApiError::not_found("rule template"))?;
    let body: Value = if bytes.is_empty() {
        json!({})
    } else {
        parse(&bytes)?
    };
    let Value::Object(body) = body else {
        return Err(ApiError::BadRequest {
            message: "the body is {\"parameters\": {...}}".into(),
            field: None,
        });
    };
    if let Some(key) = body.keys().find(|k| *k != "parameters") {
        return Err(ApiError::bad(
            key.clone(),
            format!("unknown key `{key}`; the body is {{\"parameters\": {{...}}}}"),
        ));
    }
    let given = match body.get("parameters") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(ApiError::bad("parameters", "expected an object")),
    };
    let mut params = Map::new();
    for (name, _, default) in template.params {
        let value = match given.get(*name) {
            Some(Value::String(v)) => Value::String(v.clone()),
            Some(_) => {
                return Err(ApiError::bad(
                    format!("parameters.{name}"),
                    "expected a string",
                ));
            }
            None => match default {
                Some(d) => Value::String((*d).to_owned()),
                None => {
                    return Err(ApiError::invalid(
                        format!("parameters.{name}"),
                        "this parameter is required",
                    ));
                }
            },
        };
        params.insert((*name).to_owned(), value);
    }
    if let Some(unknown) = given
        .keys()
        .find(|k| !template.params.iter().any(|(n, _, _)| n == k))
    {
        return Err(ApiError::bad(
            format!("parameters.{unknown}"),
            format!("`{id}` has no parameter `{unknown}`"),
        ));
    }
    let bodies = (template.build)(&params);
    // Validate every rule before saving any, so a bad parameter saves nothing.
    for (i, body) in bodies.iter().enumerate() {
        super::rules::checked(&s, body).await.map_err(|e| match e {
            ApiError::Invalid { message, field } => ApiError::Invalid {
                message: format!("rule {i} of the template: {message}"),
                field,
            },
            other => other,
        })?;
    }
    let mut created = Vec::new();
    for body in &bodies {
        created.push(rule_json(&create_rule(&s, &t, body).await?));
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"template": id, "rules": created})),
    ))
}
