//! Rules: `GET|POST /rules`, `GET|PUT|PATCH|DELETE /rules/{id}`, `GET /rules/{id}/revisions`,
//! `POST /rules/{id}/dry-run`.

use super::AppState;
use super::error::ApiError;
use super::extract::{Body, TenantCaller, id, parse};
use super::time;
use crate::domain::rule::RuleSpec;
use crate::engine::LoadedRule;
use crate::store::ActionSecrets;
use crate::store::{RuleRow, Tenant};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// `POST /rules/{id}/dry-run` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunBody {
    /// The ticket to evaluate the rule on.
    pub ticket_id: i64,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rules", get(list).post(create))
        .route(
            "/rules/{id}",
            get(show).put(replace).patch(patch).delete(remove),
        )
        .route("/rules/{id}/revisions", get(revisions))
        .route("/rules/{id}/dry-run", post(dry_run))
}

/// A rule as the API shows it.
pub fn rule_json(r: &RuleRow) -> Value {
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    json!({
        "id": r.id, "revision": r.revision, "name": r.name, "description": r.description, "enabled": r.enabled,
        "trigger": parse(&r.trigger), "conditions": parse(&r.conditions), "actions": parse(&r.actions),
        "position": r.position, "created_at": time::format(r.created_at), "updated_at": time::format(r.updated_at),
    })
}

/// Parse and validate a rule body: structure first, then every plugin checks its config.
pub async fn checked(s: &AppState, tenant: &Tenant, body: &Value) -> Result<RuleSpec, ApiError> {
    let spec = RuleSpec::parse(body)?;
    s.engine.validate_rule(tenant, &spec).await?;
    directory_names(s, tenant, &spec).await?;
    Ok(spec)
}

/// The agents and inboxes the built-in plugins' configs name exist in the tenant's directory
/// (a rule naming another tenant's agent would only fail when it runs).
async fn directory_names(s: &AppState, tenant: &Tenant, spec: &RuleSpec) -> Result<(), ApiError> {
    let named = spec.directory_names();
    if named.is_empty() {
        return Ok(());
    }
    let store = s.engine.store();
    let agents: Vec<i64> = store
        .agents(tenant.id)
        .await?
        .iter()
        .map(|a| a.id)
        .collect();
    let inboxes: Vec<i64> = store
        .inboxes(tenant.id)
        .await?
        .iter()
        .map(|i| i.id)
        .collect();
    for n in named {
        let known = if n.kind == "agent" { &agents } else { &inboxes };
        if !n.id().is_some_and(|id| known.contains(&id)) {
            return Err(ApiError::invalid(
                n.field,
                format!(
                    "the tenant has no {} {} (GET /{}s lists them)",
                    n.kind, n.value, n.kind
                ),
            ));
        }
    }
    Ok(())
}

/// Save a rule from its JSON (used by templates too).
pub async fn create_rule(s: &AppState, tenant: &Tenant, body: &Value) -> Result<RuleRow, ApiError> {
    let mut spec = checked(s, tenant, body).await?;
    let changes = take_secrets(s, &mut spec);
    let row = s.engine.store().create_rule(tenant.id, &spec).await?;
    if !changes.is_empty() {
        let secrets = apply(BTreeMap::new(), changes);
        s.engine.store().set_rule_secrets(row.id, &secrets).await?;
    }
    s.engine.rules_changed(tenant.id, is_time(&spec)).await?;
    Ok(row)
}

/// Set (Some) or removed (None, written as "") secrets of each action.
type SecretChanges = BTreeMap<usize, BTreeMap<String, Option<String>>>;

/// Take the values of config fields the plugin's schema marks `writeOnly` out of the actions'
/// configs: they are sealed apart and never returned (an API key typed into a rule).
fn take_secrets(s: &AppState, spec: &mut RuleSpec) -> SecretChanges {
    let mut out = SecretChanges::new();
    for (i, action) in spec.actions.iter_mut().enumerate() {
        let Some(plugin) = s.engine.plugin(&action.plugin) else {
            continue;
        };
        let keys = crate::engine::write_only_keys(&plugin.description().config_schema);
        let Some(config) = action.config.as_object_mut() else {
            continue;
        };
        for key in keys {
            if let Some(Value::String(value)) = config.remove(&key) {
                out.entry(i)
                    .or_default()
                    .insert(key, Some(value).filter(|v| !v.is_empty()));
            }
        }
    }
    out
}

fn apply(
    mut secrets: BTreeMap<usize, ActionSecrets>,
    changes: SecretChanges,
) -> BTreeMap<usize, ActionSecrets> {
    for (i, named) in changes {
        let entry = secrets.entry(i).or_default();
        for (key, value) in named {
            match value {
                Some(v) => entry.insert(key, v),
                None => entry.remove(&key),
            };
        }
    }
    secrets.retain(|_, named| !named.is_empty());
    secrets
}

/// A rule as the API shows it: its definition, and where it has secrets (never their values).
pub async fn rule_view(s: &AppState, r: &RuleRow) -> Result<Value, ApiError> {
    let mut v = rule_json(r);
    v["secrets"] = s.engine.store().rule_secret_fields(r.id).await?.into();
    Ok(v)
}

fn is_time(spec: &RuleSpec) -> bool {
    matches!(spec.trigger, crate::domain::rule::Trigger::Time(_))
}

async fn create(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body: Value = parse(&bytes)?;
    let row = create_rule(&s, &t, &body).await?;
    Ok((StatusCode::CREATED, Json(rule_view(&s, &row).await?)))
}

async fn list(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let rows = s.engine.store().rules(t.id).await?;
    let mut rules = Vec::with_capacity(rows.len());
    for r in &rows {
        rules.push(rule_view(&s, r).await?);
    }
    Ok(Json(json!({ "rules": rules })))
}

async fn load(s: &AppState, t: &Tenant, rule: &str) -> Result<RuleRow, ApiError> {
    s.engine
        .store()
        .rule(t.id, id(rule, "rule")?)
        .await?
        .ok_or_else(|| ApiError::not_found("rule"))
}

async fn show(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(rule): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(rule_view(&s, &load(&s, &t, &rule).await?).await?))
}

async fn save(
    s: &AppState,
    t: &Tenant,
    current: &RuleRow,
    body: &Value,
) -> Result<Json<Value>, ApiError> {
    let mut spec = checked(s, t, body).await?;
    let changes = take_secrets(s, &mut spec);
    // An action keeps its secrets when it is still the same plugin at the same place and the
    // body leaves them out (a rule read back has none to send).
    let before = LoadedRule::from_row(current).map(|r| r.spec.actions);
    let mut kept = s.engine.store().rule_secrets(current.id).await?;
    kept.retain(|i, _| {
        before.as_ref().and_then(|b| b.get(*i)).map(|a| &a.plugin)
            == spec.actions.get(*i).map(|a| &a.plugin)
    });
    let secrets = apply(kept, changes);
    let row = s
        .engine
        .store()
        .update_rule(t.id, current.id, &spec)
        .await?
        .ok_or_else(|| ApiError::not_found("rule"))?;
    s.engine
        .store()
        .set_rule_secrets(current.id, &secrets)
        .await?;
    let was_time =
        serde_json::from_str::<Value>(&current.trigger).is_ok_and(|t| t.get("time").is_some());
    s.engine
        .rules_changed(t.id, was_time || is_time(&spec))
        .await?;
    Ok(Json(rule_view(s, &row).await?))
}

async fn replace(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(rule): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let current = load(&s, &t, &rule).await?;
    let body: Value = parse(&bytes)?;
    save(&s, &t, &current, &body).await
}

/// JSON merge patch (RFC 7386) over the rule's current definition, e.g. `{"enabled": false}`.
async fn patch(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(rule): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let current = load(&s, &t, &rule).await?;
    let changes: Value = parse(&bytes)?;
    let Value::Object(changes) = changes else {
        return Err(ApiError::BadRequest {
            message: "a patch is a JSON object of the fields to change".into(),
            field: None,
        });
    };
    let mut body = rule_json(&current);
    for key in ["id", "revision", "created_at", "updated_at"] {
        if changes.contains_key(key) {
            return Err(ApiError::invalid(
                key,
                format!("`{key}` is set by the server"),
            ));
        }
        body.as_object_mut().map(|o| o.remove(key));
    }
    for (key, value) in changes {
        if value.is_null() {
            body.as_object_mut().map(|o| o.remove(&key));
        } else {
            body[key] = value;
        }
    }
    save(&s, &t, &current, &body).await
}

async fn remove(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(rule): Path<String>,
) -> Result<StatusCode, ApiError> {
    if s.engine
        .store()
        .delete_rule(t.id, id(&rule, "rule")?)
        .await?
    {
        s.engine.invalidate(t.id);
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("rule"))
    }
}

async fn revisions(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(rule): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let current = load(&s, &t, &rule).await?;
    let rows = s.engine.store().rule_revisions(t.id, current.id).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|(revision, definition, at)| {
            json!({"revision": revision, "saved_at": time::format(*at), "definition": serde_json::from_str::<Value>(definition).unwrap_or(Value::Null)})
        })
        .collect();
    Ok(Json(json!({"rule_id": current.id, "revisions": items})))
}

async fn dry_run(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(rule): Path<String>,
    Body(b): Body<DryRunBody>,
) -> Result<Json<Value>, ApiError> {
    let row = load(&s, &t, &rule).await?;
    let loaded = LoadedRule::from_row(&row)
        .ok_or_else(|| ApiError::Internal(format!("stored rule {} does not parse", row.id)))?
        .with_secrets(s.engine.store().rule_secrets(row.id).await?);
    let record = s
        .engine
        .dry_run(&t, &loaded, b.ticket_id)
        .await?
        .ok_or_else(|| ApiError::invalid("ticket_id", "the tenant has no such ticket"))?;
    Ok(Json(record))
}
