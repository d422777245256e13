//! `POST /tenants` (operator).

use super::AppState;
use super::error::ApiError;
use super::extract::{Body, OperatorCaller};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `POST /tenants` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenantBody {
    /// Display name.
    pub name: String,
    /// IANA time zone (default `UTC`), used by time-of-day conditions.
    #[serde(default)]
    pub timezone: Option<String>,
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/tenants", post(create))
}

async fn create(
    _: OperatorCaller,
    State(state): State<AppState>,
    Body(body): Body<NewTenantBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = super::extract::display_name("name", &body.name)?;
    let timezone = body.timezone.unwrap_or_else(|| "UTC".into());
    if timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(ApiError::invalid(
            "timezone",
            format!("`{timezone}` is not an IANA time zone such as Europe/Warsaw"),
        ));
    }
    let (tenant, key) = state.engine.store().create_tenant(name, &timezone).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"tenant": tenant, "api_key": key})),
    ))
}
