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

/// A numeric parameter as a JSON number; left as text when it is not one, so the plugin's
/// validation names the config field.
fn number(p: &Map<String, Value>, key: &str) -> Value {
    let raw = text(p, key);
    raw.as_str()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
        .unwrap_or(raw)
}

/// A comma-separated parameter as a list of strings.
fn names(p: &Map<String, Value>, key: &str) -> Value {
    let raw = text(p, key);
    let items: Vec<Value> = raw
        .as_str()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.to_owned()))
        .collect();
    Value::Array(items)
}

/// Minutes given as a parameter, in hours (for the `*_hours` conditions).
fn minutes_as_hours(p: &Map<String, Value>, key: &str) -> Value {
    match number(p, key) {
        Value::Number(n) => n
            .as_f64()
            .and_then(|m| serde_json::Number::from_f64(m / 60.0))
            .map_or(Value::Null, Value::Number),
        other => other,
    }
}

/// `notify-user` for a user parameter that may be `assignee`, plus the condition that keeps
/// it from failing on unassigned tickets.
fn notify(user: &Value, subject: &Value, body: &Value) -> (Option<Value>, Value) {
    let guard = (user == "assignee")
        .then(|| json!({"not": {"plugin": "assignee", "config": {"unassigned": true}}}));
    let action = json!({"plugin": "notify-user", "config": {"user": user, "subject": subject, "body": body}});
    (guard, action)
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
    Template {
        id: "customer-silent",
        name: "Customer silent → back to the team",
        description: "A ticket waiting for the customer whose last customer reply is older than N hours goes back to a status the team works on, with a tag.",
        source: "Thulium ticket automations, its example (seed 000)",
        params: &[
            (
                "waiting_status",
                "the status of tickets waiting for the customer",
                Some("waiting-for-customer"),
            ),
            ("hours", "hours since the customer's last reply", Some("36")),
            ("target_status", "the status to set", Some("new")),
            ("tag", "the tag to add", Some("decision")),
        ],
        build: |p| {
            vec![
                json!({"name": "Customer silent → back to the team", "description": "Template customer-silent",
                "trigger": {"time": {}},
                "conditions": {"all": [
                    {"plugin": "status", "config": {"is": [text(p, "waiting_status")]}},
                    {"plugin": "last-customer-reply", "config": {"older_than_hours": number(p, "hours")}}]},
                "actions": [{"plugin": "set-status", "config": {"status": text(p, "target_status")}},
                            {"plugin": "add-tags", "config": {"tags": [text(p, "tag")]}}]}),
            ]
        },
    },
    Template {
        id: "unanswered-reminder",
        name: "Unanswered for 24 h → reminder",
        description: "A ticket nobody has answered, created more than N hours ago, reminds a user (the assignee by default; unassigned tickets are then left out).",
        source: "The e-commerce helpdesk's workflow example (seed 001)",
        params: &[
            ("hours", "hours since the ticket was created", Some("24")),
            (
                "user",
                "who is reminded: `assignee` or an agent id",
                Some("assignee"),
            ),
            (
                "subject",
                "reminder subject",
                Some("Ticket #{{ticket.number}} is waiting for an answer"),
            ),
            (
                "body",
                "reminder text",
                Some(
                    "{{customer.name}} has been waiting for an answer to \"{{ticket.subject}}\" since {{ticket.created_at}}.",
                ),
            ),
        ],
        build: |p| {
            let (guard, action) = notify(&text(p, "user"), &text(p, "subject"), &text(p, "body"));
            let mut all = vec![
                json!({"plugin": "reply-status", "config": {"answered": false}}),
                json!({"plugin": "ticket-created", "config": {"older_than_hours": number(p, "hours")}}),
            ];
            all.extend(guard);
            vec![
                json!({"name": "Unanswered → reminder", "description": "Template unanswered-reminder",
                "trigger": {"time": {}}, "conditions": {"all": all}, "actions": [action]}),
            ]
        },
    },
    Template {
        id: "not-accepted",
        name: "Nobody accepted a new request → notify",
        description: "A request nobody has taken within N minutes of its creation notifies a chosen person.",
        source: "Planfix support desk scenarios (seed 003)",
        params: &[
            ("minutes", "minutes without an assignee", Some("30")),
            (
                "notify",
                "the agent id of the person to notify (e.g. the manager)",
                None,
            ),
            (
                "subject",
                "notification subject",
                Some("Nobody has taken request #{{ticket.number}}"),
            ),
            (
                "body",
                "notification text",
                Some(
                    "\"{{ticket.subject}}\" from {{customer.name}} has had no assignee since {{ticket.created_at}}.",
                ),
            ),
        ],
        build: |p| {
            let (_, action) = notify(&text(p, "notify"), &text(p, "subject"), &text(p, "body"));
            vec![
                json!({"name": "Not accepted → notify", "description": "Template not-accepted",
                "trigger": {"time": {}},
                "conditions": {"all": [
                    {"plugin": "assignee", "config": {"unassigned": true}},
                    {"plugin": "ticket-created", "config": {"older_than_hours": minutes_as_hours(p, "minutes")}}]},
                "actions": [action]}),
            ]
        },
    },
    Template {
        id: "accepted-not-answered",
        name: "Accepted but not answered → unassigned again",
        description: "When the assignee has not answered the customer within N minutes of taking the request, the request is unassigned so anyone may take it.",
        source: "Planfix support desk scenarios (seed 003)",
        params: &[(
            "minutes",
            "minutes since the assignment without an agent reply",
            Some("15"),
        )],
        build: |p| {
            vec![
                json!({"name": "Accepted, not answered → unassign", "description": "Template accepted-not-answered",
                "trigger": {"time": {}},
                "conditions": {"plugin": "assigned-for", "config": {"longer_than_minutes": number(p, "minutes"), "without_agent_reply": true}},
                "actions": [{"plugin": "unassign", "config": {}}]}),
            ]
        },
    },
    Template {
        id: "in-progress-escalation",
        name: "In progress too long → notify the agent, then the manager",
        description: "A ticket in a status for N minutes notifies its assignee; after M minutes, a manager.",
        source: "Planfix support desk scenarios (seed 003)",
        params: &[
            ("status", "the status watched", Some("in-progress")),
            (
                "agent_minutes",
                "minutes before the assignee is notified",
                Some("120"),
            ),
            (
                "manager_minutes",
                "minutes before the manager is notified",
                Some("180"),
            ),
            ("manager", "the manager's agent id", None),
        ],
        build: |p| {
            let subject =
                json!("Ticket #{{ticket.number}} has been {{ticket.status}} for a long time");
            let body =
                json!("\"{{ticket.subject}}\" from {{customer.name}} is still {{ticket.status}}.");
            let (guard, to_agent) = notify(&json!("assignee"), &subject, &body);
            let (_, to_manager) = notify(&text(p, "manager"), &subject, &body);
            let watched = |minutes: Value| json!({"plugin": "in-status-for", "config": {"status": text(p, "status"), "longer_than_minutes": minutes}});
            let mut agent_all = vec![watched(number(p, "agent_minutes"))];
            agent_all.extend(guard);
            vec![
                json!({"name": "In progress too long → notify the agent", "description": "Template in-progress-escalation",
                    "trigger": {"time": {}}, "conditions": {"all": agent_all}, "actions": [to_agent]}),
                json!({"name": "In progress far too long → notify the manager", "description": "Template in-progress-escalation",
                    "trigger": {"time": {}}, "conditions": {"all": [watched(number(p, "manager_minutes"))]}, "actions": [to_manager]}),
            ]
        },
    },
    Template {
        id: "close-resolved",
        name: "Resolved but not closed → closed after 3 days",
        description: "A ticket in a solved status for more than N hours is closed.",
        source: "Planfix support desk scenarios (seed 003)",
        params: &[
            ("resolved_status", "the solved status", Some("resolved")),
            ("hours", "hours since it was resolved", Some("72")),
            ("closed_status", "the status to set", Some("closed")),
        ],
        build: |p| {
            vec![
                json!({"name": "Resolved → closed", "description": "Template close-resolved",
                "trigger": {"time": {}},
                "conditions": {"all": [
                    {"plugin": "status", "config": {"is": [text(p, "resolved_status")]}},
                    {"plugin": "ticket-closed", "config": {"older_than_hours": number(p, "hours")}}]},
                "actions": [{"plugin": "set-status", "config": {"status": text(p, "closed_status")}}]}),
            ]
        },
    },
    Template {
        id: "status-emails",
        name: "\"Ticket received\" and \"ticket closed\" e-mails",
        description: "E-mail the customer when a ticket is created and when it reaches the closed status; by default only for e-mail and web-form tickets (not live chat).",
        source: "HubSpot ticket status automations (seed 004)",
        params: &[
            (
                "sources",
                "comma-separated sources the e-mails are for",
                Some("email, web-form"),
            ),
            (
                "closed_status",
                "the status that sends the closing e-mail",
                Some("closed"),
            ),
            (
                "received_subject",
                "subject of the first e-mail",
                Some("We received your request #{{ticket.number}}"),
            ),
            (
                "received_body",
                "text of the first e-mail",
                Some(
                    "Hello {{customer.name}}, we received \"{{ticket.subject}}\" and will answer soon.",
                ),
            ),
            (
                "closed_subject",
                "subject of the closing e-mail",
                Some("Your request #{{ticket.number}} is closed"),
            ),
            (
                "closed_body",
                "text of the closing e-mail",
                Some(
                    "Hello {{customer.name}}, we closed \"{{ticket.subject}}\". Reply to this e-mail if you need anything else.",
                ),
            ),
        ],
        build: |p| {
            let sources = json!({"plugin": "source", "config": {"is": names(p, "sources")}});
            let email = |s: &str, b: &str| json!({"plugin": "send-email", "config": {"to": "{{customer.email}}", "subject": text(p, s), "body": text(p, b)}});
            vec![
                json!({"name": "Ticket received e-mail", "description": "Template status-emails",
                    "trigger": {"events": ["ticket_created"]}, "conditions": {"all": [sources.clone()]},
                    "actions": [email("received_subject", "received_body")]}),
                json!({"name": "Ticket closed e-mail", "description": "Template status-emails",
                    "trigger": {"events": ["status_changed"]},
                    "conditions": {"all": [sources, {"plugin": "status-set", "config": {"is": [text(p, "closed_status")]}}]},
                    "actions": [email("closed_subject", "closed_body")]}),
            ]
        },
    },
    Template {
        id: "customer-reply-status",
        name: "Customer replied to an open ticket → status",
        description: "When the customer writes again on a ticket in one of the listed statuses, the ticket moves to a chosen status.",
        source: "Thulium ticket queues (seed 002)",
        params: &[
            (
                "statuses",
                "comma-separated statuses the rule applies to",
                Some("open, waiting-for-customer"),
            ),
            ("target_status", "the status to set", Some("in-progress")),
        ],
        build: |p| {
            vec![
                json!({"name": "Customer replied → status", "description": "Template customer-reply-status",
                "trigger": {"events": ["customer_message"]},
                // A new ticket's first message finds it in `new`, which is not listed.
                "conditions": {"all": [{"plugin": "status", "config": {"is": names(p, "statuses")}}]},
                "actions": [{"plugin": "set-status", "config": {"status": text(p, "target_status")}}]}),
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
        super::rules::checked(&s, &t, body)
            .await
            .map_err(|e| match e {
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
