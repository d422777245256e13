//! `GET /openapi.json`: the OpenAPI 3.1 document, built from the route table below and the JSON
//! Schemas of the request types (generated from the Rust types the handlers parse).

use super::AppState;
use super::accounts::NewAccountBody;
use super::channels::{NewWebhookBody, SettingsBody};
use super::directory::{NewAgentBody, NewInboxBody, PatchInboxBody};
use super::installations::InstallationBody;
use super::rules::DryRunBody;
use super::tenants::NewTenantBody;
use super::tickets::{NewEventBody, NewMessageBody, NewTicketBody, PatchTicketBody};
use super::vendors::{NewKeyBody, NewVendorBody};
use axum::routing::get;
use axum::{Json, Router};
use schemars::{JsonSchema, schema_for};
use serde_json::{Map, Value, json};

/// Who may call an endpoint.
#[derive(Clone, Copy)]
enum Auth {
    None,
    Operator,
    Tenant,
    /// The operator or a vendor.
    Publisher,
    Any,
}

struct Route {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: Auth,
    body: Option<fn() -> Value>,
    ok: u16,
}

fn schema<T: JsonSchema>() -> Value {
    serde_json::to_value(schema_for!(T)).unwrap_or_default()
}

fn rule_schema() -> Value {
    json!({"type": "object", "required": ["name", "trigger", "actions"], "properties": {
        "name": {"type": "string"}, "description": {"type": "string"}, "enabled": {"type": "boolean"},
        "trigger": {"oneOf": [
            {"type": "object", "required": ["events"], "properties": {"events": {"type": "array", "items": {"enum": crate::domain::rule::EVENT_KINDS}}}},
            {"type": "object", "required": ["time"], "properties": {"time": {"type": "object"}}}]},
        "conditions": {"$ref": "#/components/schemas/Condition"},
        "actions": {"type": "array", "items": {"$ref": "#/components/schemas/PluginUse"}},
        "position": {"type": "integer"}}})
}

const ROUTES: &[Route] = &[
    Route {
        method: "post",
        path: "/tenants",
        summary: "Create a tenant and its first API key",
        auth: Auth::Operator,
        body: Some(schema::<NewTenantBody>),
        ok: 201,
    },
    Route {
        method: "get",
        path: "/plugins",
        summary: "The plugin catalog",
        auth: Auth::Any,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/plugins/{name}",
        summary: "One plugin: description and config schema",
        auth: Auth::Any,
        body: None,
        ok: 200,
    },
    Route {
        method: "post",
        path: "/plugins",
        summary: "Upload a plugin component (body: the .wasm bytes; header x-ferrule-signature: base64 Ed25519 signature of the bytes). 201 new, 200 same bytes again, 409 name@version taken or name owned by another publisher, 413 too large, 422 not a plugin or bad signature",
        auth: Auth::Publisher,
        body: Some(|| json!({"type": "string", "contentMediaType": "application/wasm"})),
        ok: 201,
    },
    Route {
        method: "post",
        path: "/vendors",
        summary: "Create a vendor and its API key",
        auth: Auth::Operator,
        body: Some(schema::<NewVendorBody>),
        ok: 201,
    },
    Route {
        method: "get",
        path: "/vendors/{id}/keys",
        summary: "A vendor's registered signing keys",
        auth: Auth::Publisher,
        body: None,
        ok: 200,
    },
    Route {
        method: "post",
        path: "/vendors/{id}/keys",
        summary: "Register an Ed25519 public key for signed uploads",
        auth: Auth::Publisher,
        body: Some(schema::<NewKeyBody>),
        ok: 201,
    },
    Route {
        method: "get",
        path: "/installations",
        summary: "The tenant's plugins: enabled, version, defaults, grants, secret names",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/installations/{plugin}",
        summary: "One installation",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "put",
        path: "/installations/{plugin}",
        summary: "Enable, disable, pin or upgrade a plugin; set its defaults, grants and secrets (left-out fields keep their value; an upgrade that breaks a rule is refused with 422 naming it)",
        auth: Auth::Tenant,
        body: Some(schema::<InstallationBody>),
        ok: 200,
    },
    Route {
        method: "delete",
        path: "/installations/{plugin}",
        summary: "Remove an installation and its secrets (409 while rules use the plugin)",
        auth: Auth::Tenant,
        body: None,
        ok: 204,
    },
    Route {
        method: "get",
        path: "/agents",
        summary: "The tenant's agents",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "post",
        path: "/agents",
        summary: "Add an agent",
        auth: Auth::Tenant,
        body: Some(schema::<NewAgentBody>),
        ok: 201,
    },
    Route {
        method: "get",
        path: "/inboxes",
        summary: "The tenant's inboxes",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "post",
        path: "/inboxes",
        summary: "Add an inbox",
        auth: Auth::Tenant,
        body: Some(schema::<NewInboxBody>),
        ok: 201,
    },
    Route {
        method: "post",
        path: "/tickets",
        summary: "Create a ticket (runs ticket_created and message rules)",
        auth: Auth::Tenant,
        body: Some(schema::<NewTicketBody>),
        ok: 201,
    },
    Route {
        method: "get",
        path: "/tickets",
        summary: "List tickets (?status=&assignee=&tag=&limit=&before=)",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/tickets/{id}",
        summary: "One ticket",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "patch",
        path: "/tickets/{id}",
        summary: "Change status, assignee, tags, …",
        auth: Auth::Tenant,
        body: Some(schema::<PatchTicketBody>),
        ok: 200,
    },
    Route {
        method: "post",
        path: "/tickets/{id}/messages",
        summary: "Add a customer or agent message",
        auth: Auth::Tenant,
        body: Some(schema::<NewMessageBody>),
        ok: 201,
    },
    Route {
        method: "get",
        path: "/tickets/{id}/messages",
        summary: "The conversation, automated replies included",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "post",
        path: "/tickets/{id}/events",
        summary: "Report an integration event (return_created)",
        auth: Auth::Tenant,
        body: Some(schema::<NewEventBody>),
        ok: 200,
    },
    Route {
        method: "get",
        path: "/tickets/{id}/events",
        summary: "The ticket's events, with when each was processed",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/inboxes/{id}",
        summary: "One inbox with its e-mail settings (passwords only as `password_set`) and the mailbox status {state, last_poll_at, last_error, imported, refused, recent_refusals}",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "patch",
        path: "/inboxes/{id}",
        summary: "Change an inbox; `email` is replaced whole (passwords left out stay as stored), `null` removes it",
        auth: Auth::Tenant,
        body: Some(schema::<PatchInboxBody>),
        ok: 200,
    },
    Route {
        method: "get",
        path: "/settings",
        summary: "The tenant's channel settings: default SMTP (`password_set`) and SMS gateway (`token_set`)",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "put",
        path: "/settings",
        summary: "Replace the tenant's SMTP (with `from`) and SMS gateway settings; secrets left out stay as stored",
        auth: Auth::Tenant,
        body: Some(schema::<SettingsBody>),
        ok: 200,
    },
    Route {
        method: "delete",
        path: "/agents/{id}",
        summary: "Remove an agent from the directory (tickets and runs keep its id); rules that name it are paused with the reason until edited",
        auth: Auth::Tenant,
        body: None,
        ok: 204,
    },
    Route {
        method: "post",
        path: "/accounts",
        summary: "Connect an Allegro seller account: starts the OAuth device flow and answers {id, state: pending, user_code, verification_uri_complete, expires_at}; the server polls for the seller's confirmation and keeps the single-use refresh tokens rotated and sealed. 409 when the server has no --allegro-client-id; 502 when Allegro refuses",
        auth: Auth::Tenant,
        body: Some(schema::<NewAccountBody>),
        ok: 201,
    },
    Route {
        method: "get",
        path: "/accounts",
        summary: "The tenant's connected accounts: state (pending|connected|error), login, last_sync_at, last_error in words, imported counts; never a token",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/accounts/{id}",
        summary: "One connected account",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "delete",
        path: "/accounts/{id}",
        summary: "Disconnect an account (its tokens and sync state go; its tickets stay)",
        auth: Auth::Tenant,
        body: None,
        ok: 204,
    },
    Route {
        method: "post",
        path: "/webhooks",
        summary: "Add a webhook; answers its signing secret once (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature `v1,<base64 HMAC-SHA256 of id.timestamp.body>`)",
        auth: Auth::Tenant,
        body: Some(schema::<NewWebhookBody>),
        ok: 201,
    },
    Route {
        method: "get",
        path: "/webhooks",
        summary: "The tenant's webhooks",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/webhooks/{id}",
        summary: "One webhook",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "delete",
        path: "/webhooks/{id}",
        summary: "Remove a webhook",
        auth: Auth::Tenant,
        body: None,
        ok: 204,
    },
    Route {
        method: "get",
        path: "/webhooks/{id}/deliveries",
        summary: "The calls made to a webhook, newest first (?state=&limit=&before=)",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/deliveries",
        summary: "Deliveries, newest first: ?state=pending|sent|failed|dead&ticket_id=&limit=&before=",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/deliveries/{id}",
        summary: "One delivery: state, channel, attempts, next_attempt_at, last_error, response, sent_at, message_id",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "post",
        path: "/deliveries/{id}/retry",
        summary: "Send a dead delivery again (409 when it is not dead)",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/tickets/{id}/attachments/{attachment}",
        summary: "An attachment's bytes (404 when it was over the kept size)",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/tickets/{id}/outbox",
        summary: "The ticket's deliveries: replies, e-mails, SMS, notifications and webhook calls, with state, channel, attempts and errors",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/tickets/{id}/runs",
        summary: "Why each rule fired or not on this ticket",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/rules",
        summary: "The tenant's rules in position order",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "post",
        path: "/rules",
        summary: "Create a rule (configs validated by their plugins)",
        auth: Auth::Tenant,
        body: Some(rule_schema),
        ok: 201,
    },
    Route {
        method: "get",
        path: "/rules/{id}",
        summary: "One rule",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "put",
        path: "/rules/{id}",
        summary: "Replace a rule (the old version is kept as a revision)",
        auth: Auth::Tenant,
        body: Some(rule_schema),
        ok: 200,
    },
    Route {
        method: "patch",
        path: "/rules/{id}",
        summary: "JSON merge patch of a rule, e.g. {\"enabled\": false}",
        auth: Auth::Tenant,
        body: Some(|| json!({"type": "object"})),
        ok: 200,
    },
    Route {
        method: "delete",
        path: "/rules/{id}",
        summary: "Delete a rule (runs and revisions stay)",
        auth: Auth::Tenant,
        body: None,
        ok: 204,
    },
    Route {
        method: "get",
        path: "/rules/{id}/revisions",
        summary: "Every saved version of a rule",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "post",
        path: "/rules/{id}/dry-run",
        summary: "Evaluate a rule on a ticket without applying anything",
        auth: Auth::Tenant,
        body: Some(schema::<DryRunBody>),
        ok: 200,
    },
    Route {
        method: "get",
        path: "/runs",
        summary: "Run records (?rule_id=&limit=)",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/rule-templates",
        summary: "Rule templates from the seed products",
        auth: Auth::Tenant,
        body: None,
        ok: 200,
    },
    Route {
        method: "post",
        path: "/rule-templates/{id}",
        summary: "Instantiate a template: {\"parameters\": {...}}",
        auth: Auth::Tenant,
        body: Some(|| json!({"type": "object", "properties": {"parameters": {"type": "object"}}})),
        ok: 201,
    },
    Route {
        method: "get",
        path: "/healthz",
        summary: "Liveness and database check",
        auth: Auth::None,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/metrics",
        summary: "Prometheus metrics",
        auth: Auth::None,
        body: None,
        ok: 200,
    },
    Route {
        method: "get",
        path: "/openapi.json",
        summary: "This document",
        auth: Auth::None,
        body: None,
        ok: 200,
    },
];

/// The document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in ROUTES {
        let mut op = json!({
            "summary": r.summary,
            "responses": {
                r.ok.to_string(): {"description": "success"},
                "400": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
                "422": {"$ref": "#/components/responses/Error"},
            }
        });
        match r.auth {
            Auth::None => op["security"] = json!([]),
            Auth::Operator => {
                op["description"] = "Operator token only; a tenant key gets 403.".into();
                op["responses"]["401"] = json!({"$ref": "#/components/responses/Error"});
                op["responses"]["403"] = json!({"$ref": "#/components/responses/Error"});
            }
            Auth::Tenant => {
                op["description"] = "A tenant API key; other tenants' objects are 404.".into();
                op["responses"]["401"] = json!({"$ref": "#/components/responses/Error"});
                op["responses"]["403"] = json!({"$ref": "#/components/responses/Error"});
            }
            Auth::Publisher => {
                op["description"] =
                    "The operator token or a vendor key; a tenant key gets 403.".into();
                op["responses"]["401"] = json!({"$ref": "#/components/responses/Error"});
                op["responses"]["403"] = json!({"$ref": "#/components/responses/Error"});
            }
            Auth::Any => op["responses"]["401"] = json!({"$ref": "#/components/responses/Error"}),
        }
        if let Some(body) = r.body {
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": body()}}});
        }
        let entry = paths.entry(r.path).or_insert_with(|| json!({}));
        entry[r.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "ferrule", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Helpdesk automation with sandboxed WebAssembly plugins. Errors are {\"error\": {\"code\", \"message\", \"field\"?}}."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {"description": "an error", "content": {"application/json": {"schema": {
                "type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}}}}}}},
            "schemas": {
                "PluginUse": {"type": "object", "required": ["plugin"], "properties": {"plugin": {"type": "string"}, "config": {"type": "object"}}},
                "Condition": {"oneOf": [
                    {"type": "object", "required": ["all"], "properties": {"all": {"type": "array", "items": {"$ref": "#/components/schemas/Condition"}}}},
                    {"type": "object", "required": ["any"], "properties": {"any": {"type": "array", "items": {"$ref": "#/components/schemas/Condition"}}}},
                    {"type": "object", "required": ["not"], "properties": {"not": {"$ref": "#/components/schemas/Condition"}}},
                    {"$ref": "#/components/schemas/PluginUse"}]}
            }
        }
    })
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(|| async { Json(document()) }))
}
