//! Limits of one plugin run, as data: per plugin and per installation, with safe defaults.

use ferrule_types::PluginKind;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What one plugin call may use. Every field has a safe default; an installation may override
/// any of them (unknown keys are rejected, so a typo is not a silent default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Wall-clock budget of one call, including time spent in host calls such as HTTP.
    pub timeout_ms: u64,
    /// WebAssembly fuel (≈ instructions) of one call.
    pub fuel: u64,
    /// Largest linear memory of the instance, in bytes.
    pub memory_bytes: usize,
    /// Most effects one action run may return.
    pub max_effects: usize,
    /// Longest string in any output (effect field, error message), in bytes.
    pub max_string_bytes: usize,
    /// Bytes of log (and captured stdout/stderr) kept per call.
    pub log_bytes: usize,
    /// Budget of one outgoing HTTP request (connect, first byte, between bytes).
    pub http_timeout_ms: u64,
}

impl Limits {
    /// Conditions are pure and fast: one second and 16 MiB are generous.
    pub const CONDITION: Limits = Limits {
        timeout_ms: 1_000,
        fuel: 500_000_000,
        memory_bytes: 16 << 20,
        max_effects: 0,
        max_string_bytes: 64 << 10,
        log_bytes: 16 << 10,
        http_timeout_ms: 0,
    };

    /// Actions may wait for a translation or language-model service.
    pub const ACTION: Limits = Limits {
        timeout_ms: 30_000,
        fuel: 1_000_000_000,
        memory_bytes: 32 << 20,
        max_effects: 64,
        max_string_bytes: 256 << 10,
        log_bytes: 16 << 10,
        http_timeout_ms: 20_000,
    };

    /// The defaults for a kind of plugin.
    pub fn for_kind(kind: PluginKind) -> Limits {
        match kind {
            PluginKind::Condition => Limits::CONDITION,
            PluginKind::Action => Limits::ACTION,
        }
    }

    /// The wall-clock budget.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::CONDITION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_limit_keys_are_rejected() {
        let e = serde_json::from_str::<Limits>(r#"{"timeout": 5}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `timeout`"), "{e}");
    }

    #[test]
    fn missing_keys_keep_their_defaults() {
        let l: Limits = serde_json::from_str(r#"{"fuel": 10}"#).unwrap();
        assert_eq!(l.fuel, 10);
        assert_eq!(l.memory_bytes, Limits::default().memory_bytes);
    }
}
