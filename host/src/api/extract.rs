//! Request extractors: a JSON body whose errors name the field, and the caller's identity.

use super::AppState;
use super::error::ApiError;
use crate::store::{Tenant, Vendor};
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
        json_content_type(&req)?;
        let bytes = read_body(req, state).await?;
        parse(&bytes).map(Body)
    }
}

/// The largest JSON body (axum's default limit).
pub const JSON_LIMIT: usize = 2 * 1024 * 1024;

/// A JSON endpoint takes `application/json` (or `…+json`). No content type, and the form type
/// `curl -d` sends with a JSON body, are read as JSON too; anything else is 415.
fn json_content_type(req: &Request) -> Result<(), ApiError> {
    let Some(value) = req.headers().get(axum::http::header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("").to_ascii_lowercase();
    let media = text.split(';').next().unwrap_or("").trim();
    let json = media == "application/json"
        || (media.starts_with("application/") && media.ends_with("+json"))
        || media == "application/x-www-form-urlencoded";
    if json {
        return Ok(());
    }
    Err(ApiError::UnsupportedMediaType(format!(
        "the body must be JSON (content-type: application/json), not `{media}`"
    )))
}

/// The whole body within the server's body timeout and `JSON_LIMIT` (413, 408 otherwise).
async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    let read = Bytes::from_request(req, state);
    match tokio::time::timeout(state.body_timeout, read).await {
        Err(_) => Err(ApiError::Timeout(format!(
            "the request body did not arrive within {} s",
            state.body_timeout.as_secs_f64()
        ))),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            Err(ApiError::TooLarge(format!(
                "the body is larger than the limit of {} bytes (2 MiB)",
                JSON_LIMIT
            )))
        }
        Ok(Err(e)) => Err(ApiError::BadRequest {
            message: format!("cannot read the body: {e}"),
            field: None,
        }),
    }
}

/// Parse JSON bytes into `T` with field-naming errors. Text after the JSON value is an error
/// (nothing of such a body is used).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::BadRequest {
                message: format!("malformed JSON: {inner}"),
                field: None,
            };
        }
        let text = inner.to_string();
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_owned(),
            None => text,
        };
        let parent = (path != ".").then_some(path);
        // serde reports a missing field at its parent; name the field itself.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        let field = match (parent, missing) {
            (Some(p), Some(m)) => Some(format!("{p}.{m}")),
            (None, Some(m)) => Some(m),
            (p, None) => p,
        };
        ApiError::BadRequest { message, field }
    })?;
    de.end().map_err(|e| ApiError::BadRequest {
        message: format!("malformed JSON: {e}"),
        field: None,
    })?;
    Ok(value)
}

/// Query parameters whose errors are JSON 400s naming the parameter.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Params)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = (path != ".").then_some(path);
                ApiError::BadRequest {
                    message: format!("bad query parameter: {}", e.into_inner()),
                    field,
                }
            })
    }
}

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The operator token.
    Operator,
    /// A tenant's API key.
    Tenant(Tenant),
    /// A vendor's API key (uploads plugins, registers signing keys).
    Vendor(Vendor),
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("send `Authorization: Bearer <token>`".into()))?;
    let text = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not text".into()))?;
    let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
    Some(token)
        .filter(|_| scheme.eq_ignore_ascii_case("bearer"))
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
        let store = state.engine.store();
        // Vendor keys carry their own prefix, so each token needs one look-up.
        let found = if token.starts_with("frv_") {
            store.vendor_by_key(token).await?.map(Caller::Vendor)
        } else {
            store.tenant_by_key(token).await?.map(Caller::Tenant)
        };
        found.ok_or_else(|| ApiError::Unauthorized("unknown token".into()))
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
            Caller::Operator | Caller::Vendor(_) => Err(ApiError::Forbidden(
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
            Caller::Tenant(_) | Caller::Vendor(_) => Err(ApiError::Forbidden(
                "only the operator token may do this".into(),
            )),
        }
    }
}

/// A caller that publishes plugins: the operator or a vendor.
#[derive(Debug, Clone)]
pub enum PublisherCaller {
    /// The operator token.
    Operator,
    /// A vendor's key.
    Vendor(Vendor),
}

impl FromRequestParts<AppState> for PublisherCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Operator => Ok(PublisherCaller::Operator),
            Caller::Vendor(v) => Ok(PublisherCaller::Vendor(v)),
            Caller::Tenant(_) => Err(ApiError::Forbidden(
                "only the operator token or a vendor key may publish plugins".into(),
            )),
        }
    }
}

/// A numeric id from the path; anything else is a 404 (ids are opaque to callers).
pub fn id(text: &str, what: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().map_err(|_| ApiError::not_found(what))
}

/// A display name (of a tenant, a vendor, …): trimmed, 1 to 200 characters.
pub fn display_name<'a>(field: &str, text: &'a str) -> Result<&'a str, ApiError> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid(
            field,
            "give a name of 1 to 200 characters",
        ));
    }
    Ok(name)
}
