//! Timestamps in the API: RFC 3339 text, stored as milliseconds.

use super::error::ApiError;

/// RFC 3339 text → milliseconds; errors name the field.
pub fn parse(field: &str, text: &str) -> Result<i64, ApiError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ApiError::invalid(
                field,
                format!("`{text}` is not an RFC 3339 time like 2026-11-16T09:00:00Z"),
            )
        })
}

pub use crate::domain::views::{time as format, time_opt as format_opt};
