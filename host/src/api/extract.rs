//! Request extractors: a JSON body whose errors name the field, and the caller's identity.

use super::AppState;
use super::error::ApiError;
use crate::store::Tenant;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body. Malformed JSON and values of the wrong type are 400s naming the field.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest {
                message: format!("cannot read the body: {e}"),
                field: None,
            })?;
        parse(&bytes).map(Body)
    }
}

/// Parse JSON bytes into `T` with field-naming errors.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("malformed JSON: {inner}")
        } else {
            let text = inner.to_string();
            match text.rfind(" at line ") {
                Some(i) => text[..i].to_owned(),
                None => text,
            }
        };
        let field = (path != "." && !inner.is_syntax() && !inner.is_eof()).then_some(path);
        ApiError::BadRequest { message, field }
    })
}

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The operator token.
    Operator,
    /// A tenant's API key.
    Tenant(Tenant),
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("send `Authorization: Bearer <token>`".into()))?;
    let text = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not text".into()))?;
    text.strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("use `Authorization: Bearer <token>`".into()))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        if crate::store::hash_token(token) == state.operator_token_hash {
            return Ok(Caller::Operator);
        }
        match state.engine.store().tenant_by_key(token).await? {
            Some(tenant) => Ok(Caller::Tenant(tenant)),
            None => Err(ApiError::Unauthorized("unknown token".into())),
        }
    }
}

/// A caller that must be a tenant (the endpoints that work on a tenant's data).
#[derive(Debug, Clone)]
pub struct TenantCaller(pub Tenant);

impl FromRequestParts<AppState> for TenantCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Tenant(t) => Ok(TenantCaller(t)),
            Caller::Operator => Err(ApiError::Forbidden(
                "this endpoint works on a tenant's data: use the tenant's API key".into(),
            )),
        }
    }
}

/// A caller that must be the operator.
#[derive(Debug, Clone)]
pub struct OperatorCaller;

impl FromRequestParts<AppState> for OperatorCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Operator => Ok(OperatorCaller),
            Caller::Tenant(_) => Err(ApiError::Forbidden(
                "only the operator token may do this".into(),
            )),
        }
    }
}

/// A numeric id from the path; anything else is a 404 (ids are opaque to callers).
pub fn id(text: &str, what: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().map_err(|_| ApiError::not_found(what))
}
