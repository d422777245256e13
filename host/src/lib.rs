//! ferrule: a helpdesk automation host whose conditions and actions are sandboxed WebAssembly
//! components.
#![deny(missing_docs)]

/// The built-in plugins, compiled from `plugins/` by the build script.
pub mod builtin;
/// The `ferrule` command line.
pub mod cli;
/// The plugin runtime: engine, compiled-code cache, limits, capabilities.
pub mod runtime;
/// Running a built plugin component in the real sandbox from a test.
pub mod testing;
