//! Vendors: `POST /vendors` (operator), `GET|POST /vendors/{id}/keys` (operator or that vendor).

use super::AppState;
use super::error::ApiError;
use super::extract::{Body, OperatorCaller, PublisherCaller, id};
use crate::catalog::signature;
use crate::store::VendorKey;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `POST /vendors` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVendorBody {
    /// Display name.
    pub name: String,
}

/// `POST /vendors/{id}/keys` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyBody {
    /// The Ed25519 public key, base64 of its 32 bytes (`ferrule plugin keygen` prints it).
    pub public_key: String,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/vendors", post(create))
        .route("/vendors/{id}/keys", get(keys).post(add_key))
}

async fn create(
    _: OperatorCaller,
    State(s): State<AppState>,
    Body(body): Body<NewVendorBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = super::extract::display_name("name", &body.name)?;
    let (vendor, key) = s.engine.store().create_vendor(name).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"vendor": vendor, "api_key": key})),
    ))
}

/// The vendor the path names, if the caller may act for it (others get a 404).
async fn vendor_of(caller: &PublisherCaller, s: &AppState, path: &str) -> Result<i64, ApiError> {
    let wanted = id(path, "vendor")?;
    let allowed = match caller {
        PublisherCaller::Operator => s.engine.store().vendor(wanted).await?.is_some(),
        PublisherCaller::Vendor(v) => v.id == wanted,
    };
    if allowed {
        Ok(wanted)
    } else {
        Err(ApiError::not_found("vendor"))
    }
}

fn key_json(k: &VendorKey) -> Value {
    let public = <[u8; 32]>::try_from(k.public_key.as_slice())
        .ok()
        .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
        .map(|k| signature::encode_public_key(&k));
    json!({"id": k.id, "vendor_id": k.vendor_id, "public_key": public,
           "fingerprint": signature::fingerprint(&k.public_key), "created_at": super::time::format(k.created_at)})
}

async fn keys(
    caller: PublisherCaller,
    State(s): State<AppState>,
    Path(vendor): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let vendor = vendor_of(&caller, &s, &vendor).await?;
    let keys = s.engine.store().vendor_keys(Some(vendor)).await?;
    Ok(Json(
        json!({"keys": keys.iter().map(key_json).collect::<Vec<_>>()}),
    ))
}

async fn add_key(
    caller: PublisherCaller,
    State(s): State<AppState>,
    Path(vendor): Path<String>,
    Body(body): Body<NewKeyBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let vendor = vendor_of(&caller, &s, &vendor).await?;
    let key = signature::parse_public_key(&body.public_key)
        .map_err(|e| ApiError::invalid("public_key", e))?;
    match s
        .engine
        .store()
        .add_vendor_key(vendor, key.as_bytes())
        .await?
    {
        Some(k) => Ok((StatusCode::CREATED, Json(key_json(&k)))),
        None => Err(ApiError::Conflict(
            "this public key is registered already".into(),
        )),
    }
}
