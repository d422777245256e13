//! The plugin catalog: `POST /plugins` (operator or vendor; body = component bytes),
//! `GET /plugins`, `GET /plugins/{name}`.

use super::AppState;
use super::error::ApiError;
use super::extract::{Caller, PublisherCaller};
use crate::catalog::{Entry, Publisher, Release, signature};
use crate::engine::Uploader;
use crate::runtime::MAX_COMPONENT_BYTES;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/plugins",
            get(list)
                .post(upload)
                .layer(DefaultBodyLimit::max(MAX_COMPONENT_BYTES + 1)),
        )
        .route("/plugins/{name}", get(show))
}

fn publisher_json(p: Publisher) -> Value {
    match p {
        Publisher::Builtin => json!({"kind": "builtin"}),
        Publisher::Operator => json!({"kind": "operator"}),
        Publisher::Vendor(id) => json!({"kind": "vendor", "vendor_id": id}),
    }
}

/// One version: its description, digest and signature state.
fn release_json(r: &Release, publisher: Publisher) -> Value {
    let mut v = serde_json::to_value(r.plugin.description()).unwrap_or_default();
    v["sha256"] = r.plugin.sha256().into();
    v["builtin"] = (publisher == Publisher::Builtin).into();
    v["publisher"] = publisher_json(publisher);
    v["signed"] = r.signed_by_key.is_some().into();
    v["signed_by_key"] = r.signed_by_key.into();
    v["uploaded_at"] = r.uploaded_at.map(super::time::format).into();
    v
}

/// A plugin: its newest version's fields, and every version.
fn entry_json(e: &Entry) -> Value {
    let mut v = release_json(e.latest(), e.publisher);
    v["versions"] = e
        .versions
        .values()
        .rev()
        .map(|r| {
            let d = r.plugin.description();
            json!({"version": d.version, "sha256": r.plugin.sha256(), "signed": r.signed_by_key.is_some(),
                   "uploaded_at": r.uploaded_at.map(super::time::format), "capabilities": d.capabilities})
        })
        .collect();
    v
}

async fn list(_: Caller, State(s): State<AppState>) -> Json<Value> {
    let catalog = s.engine.catalog();
    let plugins: Vec<Value> = catalog.entries().map(|(_, e)| entry_json(e)).collect();
    Json(json!({"plugins": plugins}))
}

async fn show(
    _: Caller,
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    s.engine
        .catalog()
        .get(&name)
        .map(|e| Json(entry_json(e)))
        .ok_or_else(|| ApiError::not_found("plugin"))
}

async fn upload(
    caller: PublisherCaller,
    State(s): State<AppState>,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let signature_header = match request.headers().get(signature::HEADER) {
        None => None,
        Some(v) => Some(v.to_str().map(str::to_owned).map_err(|_| {
            ApiError::invalid(signature::HEADER, "the signature header is not ASCII text")
        })?),
    };
    let bytes = axum::body::to_bytes(request.into_body(), MAX_COMPONENT_BYTES)
        .await
        .map_err(|_| {
            ApiError::TooLarge(format!(
                "the component is larger than the limit of {MAX_COMPONENT_BYTES} bytes"
            ))
        })?;
    let uploader = match caller {
        PublisherCaller::Operator => Uploader::Operator,
        PublisherCaller::Vendor(v) => Uploader::Vendor(v),
    };
    let uploaded = s
        .engine
        .upload(bytes.to_vec(), uploader, signature_header.as_deref())
        .await?;
    let status = if uploaded.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(release_json(&uploaded.release, uploaded.publisher)),
    ))
}
