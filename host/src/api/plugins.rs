//! The plugin catalog: `GET /plugins`, `GET /plugins/{name}`.

use super::AppState;
use super::error::ApiError;
use super::extract::Caller;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plugins", get(list))
        .route("/plugins/{name}", get(show))
}

fn plugin_json(p: &crate::runtime::Plugin) -> Value {
    let mut v = serde_json::to_value(p.description()).unwrap_or_default();
    v["sha256"] = p.sha256().into();
    v["builtin"] = true.into();
    v
}

async fn list(_: Caller, State(s): State<AppState>) -> Json<Value> {
    let mut plugins: Vec<Value> = s.engine.plugins().map(|p| plugin_json(p)).collect();
    plugins.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Json(json!({"plugins": plugins}))
}

async fn show(
    _: Caller,
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    s.engine
        .plugin(&name)
        .map(|p| Json(plugin_json(p)))
        .ok_or_else(|| ApiError::not_found("plugin"))
}
