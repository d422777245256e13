//! ferrule: a helpdesk automation host whose conditions and actions are sandboxed WebAssembly
//! components.
#![deny(missing_docs)]

/// The REST API (axum).
pub mod api;
/// The built-in plugins, compiled from `plugins/` by the build script.
pub mod builtin;
/// The plugin catalog (built-in and uploaded plugins by version) and upload signatures.
pub mod catalog;
/// Mailboxes in, deliveries out.
pub mod channels;
/// The `ferrule` command line.
pub mod cli;
/// Plain domain types: rules and their JSON shape.
pub mod domain;
/// The rule engine: events, evaluation through plugins, effects, run records.
pub mod engine;
/// The plugin runtime: engine, compiled-code cache, limits, capabilities.
pub mod runtime;
/// `ferrule serve`: configuration, start-up, graceful shutdown.
pub mod server;
/// Persistence: SQLite through sqlx, migrations.
pub mod store;
/// Running a built plugin component in the real sandbox from a test.
pub mod testing;
/// The front door: connection limits, timeouts, shutdown with a deadline.
pub mod transport;
