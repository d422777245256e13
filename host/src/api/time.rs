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

/// Milliseconds → RFC 3339 text (UTC).
pub fn format(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Optional milliseconds → optional text.
pub fn format_opt(ms: Option<i64>) -> Option<String> {
    ms.map(format)
}
