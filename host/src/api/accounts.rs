//! Connected marketplace accounts: `POST /accounts` starts Allegro's device flow and answers
//! the code the seller confirms; `GET /accounts[/{id}]` shows state, login, last sync and the
//! last error in words; `DELETE /accounts/{id}` disconnects. Tokens are never shown.

use super::AppState;
use super::channels::url;
use super::error::ApiError;
use super::extract::{Body, TenantCaller, id};
use super::time;
use crate::channels::allegro::hosts;
use crate::store::{AccountRow, NewAccount, now_ms};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `POST /accounts` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountBody {
    /// `allegro`.
    pub provider: String,
    /// `production` (default) or `sandbox`.
    #[serde(default)]
    pub environment: Option<String>,
    /// The REST API's base URL, instead of the environment's.
    #[serde(default)]
    pub api_base: Option<String>,
    /// The OAuth server's base URL, instead of the environment's.
    #[serde(default)]
    pub auth_base: Option<String>,
    /// Seconds between sync passes (default 60, 1–86400).
    #[serde(default)]
    pub poll_seconds: Option<i64>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/accounts", post(create).get(list))
        .route("/accounts/{id}", get(show).delete(remove))
}

/// An account as the API shows it (never a token).
pub fn account_json(a: &AccountRow) -> Value {
    let mut v = json!({
        "id": a.id, "provider": a.provider, "environment": a.environment,
        "api_base": a.api_base, "auth_base": a.auth_base, "poll_seconds": a.poll_seconds,
        "state": a.state, "login": a.login,
        "last_sync_at": time::format_opt(a.last_sync_at), "last_error": a.last_error,
        "last_error_at": time::format_opt(a.last_error_at),
        "connected_at": time::format_opt(a.connected_at), "created_at": time::format(a.created_at),
        "imported": {"messages": a.imported_messages, "issues": a.imported_issues, "returns": a.imported_returns},
        "api_calls": a.api_calls,
    });
    if a.state == "pending" {
        v["user_code"] = a.user_code.clone().into();
        v["verification_uri"] = a.verification_uri.clone().into();
        v["verification_uri_complete"] = a.verification_uri_complete.clone().into();
        v["expires_at"] = time::format_opt(a.device_expires_at).into();
    }
    v
}

fn base(field: &str, given: Option<&str>, default: &str) -> Result<String, ApiError> {
    match given {
        Some(text) => Ok(url(field, text)?.trim_end_matches('/').to_owned()),
        None => Ok(default.to_owned()),
    }
}

async fn create(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Body(b): Body<NewAccountBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if b.provider != "allegro" {
        return Err(ApiError::invalid(
            "provider",
            format!(
                "`{}` is not a provider ferrule connects; the one there is: allegro",
                b.provider
            ),
        ));
    }
    let environment = b.environment.unwrap_or_else(|| "production".into());
    let Some((api, auth)) = hosts(&environment) else {
        return Err(ApiError::invalid(
            "environment",
            format!("`{environment}` is not an environment; use production or sandbox"),
        ));
    };
    let api_base = base("api_base", b.api_base.as_deref(), api)?;
    let auth_base = base("auth_base", b.auth_base.as_deref(), auth)?;
    let poll_seconds = b.poll_seconds.unwrap_or(60);
    if !(1..=86_400).contains(&poll_seconds) {
        return Err(ApiError::invalid(
            "poll_seconds",
            format!("{poll_seconds} is out of range; give 1 to 86400 seconds"),
        ));
    }
    let Some(allegro) = &s.allegro else {
        return Err(ApiError::Conflict(
            "Allegro is not configured on this server: start it with --allegro-client-id and FERRULE_ALLEGRO_CLIENT_SECRET".into(),
        ));
    };
    let code = allegro
        .start_device(&auth_base)
        .await
        .map_err(ApiError::Upstream)?;
    let row = s
        .engine
        .store()
        .add_account(NewAccount {
            tenant_id: t.id,
            provider: "allegro".into(),
            environment,
            api_base,
            auth_base,
            poll_seconds,
            device_code: code.device_code,
            user_code: code.user_code,
            verification_uri: code.verification_uri,
            verification_uri_complete: code.verification_uri_complete,
            device_expires_at: now_ms() + code.expires_in.max(1) * 1000,
            device_interval: code.interval.max(1),
        })
        .await?;
    allegro.wake.notify_one();
    Ok((StatusCode::CREATED, Json(account_json(&row))))
}

async fn list(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let rows = s.engine.store().accounts(t.id).await?;
    Ok(Json(
        json!({"accounts": rows.iter().map(account_json).collect::<Vec<_>>()}),
    ))
}

async fn show(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(account): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let row = s
        .engine
        .store()
        .account(t.id, id(&account, "account")?)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    Ok(Json(account_json(&row)))
}

async fn remove(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(account): Path<String>,
) -> Result<StatusCode, ApiError> {
    let account = id(&account, "account")?;
    if !s.engine.store().delete_account(t.id, account).await? {
        return Err(ApiError::not_found("account"));
    }
    if let Some(allegro) = &s.allegro {
        allegro.forget(account);
        allegro.wake.notify_one();
    }
    Ok(StatusCode::NO_CONTENT)
}
