//! A tenant's plugins: `GET /installations`, `GET|PUT|DELETE /installations/{plugin}`.

use super::AppState;
use super::error::ApiError;
use super::extract::{Body, TenantCaller};
use crate::catalog::Publisher;
use crate::engine::{InstallationChange, Installed};
use crate::runtime::Grants;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// `PUT /installations/{plugin}` body. Fields left out keep their current value (for a new
/// installation: enabled, pinned to the newest version, no defaults, no grants, no secrets).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallationBody {
    /// Whether the tenant's rules may use the plugin; false pauses the rules that do.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Pin this version; `null` follows the newest (a newer upload is taken only when every
    /// rule still validates). Changing it revalidates every rule that uses the plugin and is
    /// refused (422) if one would break.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>")]
    pub version: Option<Option<String>>,
    /// Config defaults merged under every rule's config for this plugin (the rule's keys win).
    #[serde(default)]
    pub config: Option<Map<String, Value>>,
    /// Capability grants: `{"http": ["api.example.com", "127.0.0.1:8089"]}`.
    #[serde(default)]
    pub grants: Option<Grants>,
    /// Secrets to store (sealed at rest; never returned): a name with a text sets it, with
    /// `null` removes it; secrets not named are kept.
    #[serde(default)]
    pub secrets: Option<BTreeMap<String, Option<String>>>,
}

/// Tell a present `null` (Some(None)) from a missing field (None).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/installations", get(list))
        .route("/installations/{plugin}", get(show).put(put).delete(remove))
}

fn installation_json(name: &str, i: &Installed, secrets: &[String], latest: &str) -> Value {
    let d = i.plugin().description();
    json!({
        "plugin": name,
        "kind": d.kind,
        "builtin": i.publisher == Publisher::Builtin,
        "installed": i.explicit,
        "enabled": i.enabled,
        "version": i.pinned,
        "active_version": d.version,
        "latest_version": latest,
        "config": i.defaults,
        "grants": *i.grants,
        "secrets": secrets,
        "capabilities": d.capabilities,
    })
}

async fn view(
    s: &AppState,
    t: &crate::store::Tenant,
    only: Option<&str>,
) -> Result<Vec<Value>, ApiError> {
    let installations = s.engine.tenant_installations(t).await?;
    let secrets = s.engine.secret_names(t).await?;
    let catalog = s.engine.catalog();
    let mut out: Vec<(String, Value)> = installations
        .iter()
        .filter(|(n, _)| only.is_none_or(|o| o == n.as_str()))
        .map(|(name, i)| {
            let latest = catalog
                .get(name)
                .map(|e| e.latest().plugin.description().version.clone())
                .unwrap_or_default();
            let names = secrets.get(name).cloned().unwrap_or_default();
            (name.clone(), installation_json(name, i, &names, &latest))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

async fn list(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"installations": view(&s, &t, None).await?})))
}

async fn show(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(plugin): Path<String>,
) -> Result<Json<Value>, ApiError> {
    view(&s, &t, Some(&plugin))
        .await?
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("installation"))
}

async fn put(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(plugin): Path<String>,
    Body(body): Body<InstallationBody>,
) -> Result<Json<Value>, ApiError> {
    let change = InstallationChange {
        enabled: body.enabled,
        version: body.version,
        config: body.config,
        grants: body.grants,
        secrets: body.secrets.unwrap_or_default(),
    };
    s.engine.put_installation(&t, &plugin, change).await?;
    view(&s, &t, Some(&plugin))
        .await?
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::Internal(format!("installation of {plugin} vanished")))
}

async fn remove(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(plugin): Path<String>,
) -> Result<StatusCode, ApiError> {
    if s.engine.remove_installation(&t, &plugin).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("installation"))
    }
}
