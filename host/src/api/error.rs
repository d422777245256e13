//! The API's one error type: every failure becomes `{"error": {"code", "message", "field"?}}`
//! with the right status; internals are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An API failure.
#[derive(Debug)]
pub enum ApiError {
    /// 400: malformed JSON or a value of the wrong type.
    BadRequest {
        /// What is wrong.
        message: String,
        /// Where (JSON path).
        field: Option<String>,
    },
    /// 401: no token or an unknown one.
    Unauthorized(String),
    /// 403: a token that may not do this.
    Forbidden(String),
    /// 404: no such object (or another tenant's).
    NotFound(String),
    /// 409: conflicts with what exists.
    Conflict(String),
    /// 413: the body is larger than allowed.
    TooLarge(String),
    /// 422: well-formed but invalid.
    Invalid {
        /// What is wrong.
        message: String,
        /// Where (JSON path).
        field: Option<String>,
    },
    /// 408: the request body did not arrive in time.
    Timeout(String),
    /// 415: a body that is not JSON on a JSON endpoint.
    UnsupportedMediaType(String),
    /// 502: a service the request needed (Allegro) refused or did not answer.
    Upstream(String),
    /// 500: our fault; the detail is logged only.
    Internal(String),
}

impl ApiError {
    /// A 422 at a field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A 400 at a field.
    pub fn bad(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A 404 for a kind of object.
    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, field) = match self {
            ApiError::BadRequest { message, field } => {
                (StatusCode::BAD_REQUEST, "bad_request", message, field)
            }
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m, None),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m, None),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m, None),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m, None),
            ApiError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", m, None),
            ApiError::Upstream(m) => (StatusCode::BAD_GATEWAY, "upstream", m, None),
            ApiError::Timeout(m) => (StatusCode::REQUEST_TIMEOUT, "timeout", m, None),
            ApiError::UnsupportedMediaType(m) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                m,
                None,
            ),
            ApiError::Invalid { message, field } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", message, field)
            }
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the server log".to_owned(),
                    None,
                )
            }
        };
        let mut error = json!({"code": code, "message": message});
        if let Some(field) = field {
            error["field"] = field.into();
        }
        (status, Json(json!({ "error": error }))).into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<crate::engine::EngineError> for ApiError {
    fn from(e: crate::engine::EngineError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<crate::domain::rule::FieldError> for ApiError {
    fn from(e: crate::domain::rule::FieldError) -> Self {
        if e.type_error {
            ApiError::BadRequest {
                message: e.message,
                field: Some(e.field),
            }
        } else {
            ApiError::Invalid {
                message: e.message,
                field: Some(e.field),
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<crate::engine::UploadError> for ApiError {
    fn from(e: crate::engine::UploadError) -> Self {
        use crate::engine::UploadError as U;
        match e {
            U::Empty => ApiError::bad("body", e.to_string()),
            U::TooLarge(_) => ApiError::TooLarge(e.to_string()),
            U::Signature(m) => ApiError::invalid(crate::catalog::signature::HEADER, m),
            U::Invalid(m) => ApiError::invalid("body", m),
            U::NameTaken(m) | U::VersionExists(m) => ApiError::Conflict(m),
            U::Engine(e) => e.into(),
        }
    }
}

impl From<crate::engine::InstallError> for ApiError {
    fn from(e: crate::engine::InstallError) -> Self {
        use crate::engine::InstallError as I;
        match e {
            I::UnknownPlugin(_) => ApiError::NotFound(e.to_string()),
            I::Invalid(f) => f.into(),
            I::InUse(m) => ApiError::Conflict(m),
            I::Engine(e) => e.into(),
        }
    }
}
