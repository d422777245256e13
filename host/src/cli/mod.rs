//! The `ferrule` command line.

mod plugin;
mod scaffold;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// ferrule: helpdesk automation with sandboxed WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "ferrule", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with plugin components: inspect, run, scaffold.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

/// Plugin kinds for `plugin new`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    /// A condition (yes/no about a ticket).
    Condition,
    /// An action (returns effects).
    Action,
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Print a component's description, config schema and imports as JSON.
    Inspect {
        /// The component (`.wasm`).
        file: PathBuf,
    },
    /// Run a component once on a context, in the server's sandbox and limits; print the result,
    /// fuel, peak memory, time and logs as JSON.
    Run {
        /// The component (`.wasm`).
        file: PathBuf,
        /// The config: a JSON file, or inline JSON text starting with `{`.
        #[arg(long)]
        config: String,
        /// The context (ticket, event, now, …): a JSON file, or inline JSON.
        #[arg(long)]
        context: String,
        /// Limits overriding the defaults (JSON file or inline): timeout_ms, fuel, memory_bytes, …
        #[arg(long)]
        limits: Option<String>,
        /// Grant outgoing HTTP to this host or host:port (repeatable).
        #[arg(long = "grant-http", value_name = "HOST[:PORT]")]
        grant_http: Vec<String>,
        /// A directory for look-ups: `{"agents": [...], "inboxes": [...]}` (file or inline).
        #[arg(long)]
        directory: Option<String>,
    },
    /// Create a plugin crate that builds and tests out of the box.
    New {
        /// Plugin name, lower-case kebab (e.g. `order-number`); also the folder created.
        name: String,
        /// Condition or action.
        #[arg(long, value_enum)]
        kind: Kind,
        /// Where to create the crate (default: `./NAME`).
        #[arg(long)]
        path: Option<PathBuf>,
        /// The ferrule source tree (default: the one this binary was built from).
        #[arg(long)]
        ferrule: Option<PathBuf>,
    },
}

/// Run a parsed command line; the exit code is 0 on success, 1 when the plugin or command failed,
/// 2 for bad input.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Plugin(PluginCommand::Inspect { file }) => plugin::inspect(&file),
        Command::Plugin(PluginCommand::Run { file, config, context, limits, grant_http, directory }) => {
            plugin::run(plugin::RunArgs { file, config, context, limits, grant_http, directory })
        }
        Command::Plugin(PluginCommand::New { name, kind, path, ferrule }) => {
            scaffold::new(&name, kind, path, ferrule)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
