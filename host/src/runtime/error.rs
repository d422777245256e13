//! How a plugin run can fail, as types: every sandbox failure maps to exactly one variant.

use serde::Serialize;

/// A plugin run that did not finish normally. A plugin that finishes and *reports* an error
/// (bad config, service unavailable) is not a `RunError`: that is its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum RunError {
    /// The call ran past its wall-clock budget.
    #[error("timed out after {0} ms")]
    Timeout(u64),
    /// The call used all its fuel.
    #[error("ran out of fuel ({0} units)")]
    OutOfFuel(u64),
    /// The instance tried to grow its memory past the limit.
    #[error("memory limit of {0} bytes exceeded")]
    MemoryLimit(usize),
    /// The call recursed past the wasm stack.
    #[error("stack overflow")]
    StackOverflow,
    /// The plugin panicked (the panic message, when it printed one).
    #[error("plugin panicked: {0}")]
    Panic(String),
    /// Any other trap.
    #[error("plugin trapped: {0}")]
    Trap(String),
    /// The plugin returned something the host does not accept (too many effects, a string too
    /// long, a wrong number of answers).
    #[error("invalid output: {0}")]
    InvalidOutput(String),
    /// The plugin used a capability it was not granted (files, environment, clocks, a
    /// non-granted HTTP host, …).
    #[error("capability denied: {0}")]
    CapabilityDenied(String),
    /// The component cannot run on this host (wrong world, missing export).
    #[error("cannot instantiate: {0}")]
    Instantiate(String),
}
