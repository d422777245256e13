//! The `ferrule` command line.

mod plugin;
mod scaffold;
mod sign;

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
    /// Serve the REST API on the embedded SQLite database (created when missing). The operator
    /// token comes from FERRULE_OPERATOR_TOKEN, or is generated and printed once.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Database URL.
        #[arg(long, default_value = "sqlite://ferrule.db")]
        database: String,
        /// Scheduler interval for time-based rules (e.g. 1s, 60s, 5m).
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        tick: std::time::Duration,
        /// Folder for compiled plugin code.
        #[arg(long, default_value = "ferrule-cache")]
        cache_dir: PathBuf,
        /// The operator token (prefer the environment variable).
        #[arg(long, env = "FERRULE_OPERATOR_TOKEN", hide_env_values = true)]
        operator_token: Option<String>,
        /// Accept only plugin uploads signed with a registered vendor key.
        #[arg(long, env = "FERRULE_REQUIRE_SIGNATURES")]
        require_signatures: bool,
        /// The file holding the key that seals installation secrets (default:
        /// `<database file>.secret-key`, created when missing). FERRULE_SECRET_KEY (64 hex
        /// characters) gives the key directly instead.
        #[arg(long)]
        secret_key_file: Option<PathBuf>,
        /// Sandboxed plugin calls one tenant may run at once (default: every core but one),
        /// so one tenant's slow or hostile plugins cannot starve the others.
        #[arg(long, env = "FERRULE_TENANT_CONCURRENCY")]
        tenant_concurrency: Option<usize>,
        /// This server's Allegro application (its secret comes from
        /// FERRULE_ALLEGRO_CLIENT_SECRET); without it Allegro accounts cannot be connected.
        #[arg(long, env = "FERRULE_ALLEGRO_CLIENT_ID")]
        allegro_client_id: Option<String>,
        /// Allegro calls per minute for the client id (Allegro's limit is 9000).
        #[arg(long, default_value_t = crate::channels::allegro::DEFAULT_REQUESTS_PER_MINUTE)]
        allegro_requests_per_minute: u32,
        /// Longest a request's headers may take to arrive (slow clients are cut off).
        #[arg(long, default_value = "10s", value_parser = parse_any_duration)]
        header_read_timeout: std::time::Duration,
        /// Longest a kept-alive connection may wait for its next request.
        #[arg(long, default_value = "60s", value_parser = parse_any_duration)]
        idle_timeout: std::time::Duration,
        /// Longest a request body may take to arrive (then 408).
        #[arg(long, default_value = "30s", value_parser = parse_any_duration)]
        body_timeout: std::time::Duration,
        /// Most connections open at once; beyond it the longest-idle one is closed, and when
        /// all are busy a new one is refused.
        #[arg(long, default_value_t = 4096)]
        max_connections: usize,
        /// Longest requests in flight may run after SIGTERM/SIGINT before their connections
        /// are dropped.
        #[arg(long, default_value = "10s", value_parser = parse_any_duration)]
        shutdown_timeout: std::time::Duration,
    },
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
    /// Make an Ed25519 signing key: the secret key goes to FILE (mode 0600), the public key
    /// (to register with `POST /api/v1/vendors/{id}/keys`) is printed.
    Keygen {
        /// Where to write the secret key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the signature of a component (base64), for the `x-ferrule-signature` header.
    Sign {
        /// The component (`.wasm`).
        file: PathBuf,
        /// The secret key file from `plugin keygen`.
        #[arg(long)]
        key: PathBuf,
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
        Command::Serve {
            listen,
            database,
            tick,
            cache_dir,
            operator_token,
            require_signatures,
            secret_key_file,
            tenant_concurrency,
            allegro_client_id,
            allegro_requests_per_minute,
            header_read_timeout,
            idle_timeout,
            body_timeout,
            max_connections,
            shutdown_timeout,
        } => {
            let allegro = match (
                allegro_client_id,
                std::env::var("FERRULE_ALLEGRO_CLIENT_SECRET"),
            ) {
                (Some(client_id), Ok(client_secret)) if !client_secret.is_empty() => {
                    Some(crate::channels::allegro::AllegroConfig {
                        client_id,
                        client_secret,
                        requests_per_minute: allegro_requests_per_minute.max(1),
                    })
                }
                (Some(_), _) => {
                    eprintln!(
                        "--allegro-client-id needs FERRULE_ALLEGRO_CLIENT_SECRET in the environment"
                    );
                    return ExitCode::from(2);
                }
                (None, _) => None,
            };
            let config = crate::server::ServeConfig {
                listen,
                database,
                tick,
                operator_token,
                cache_dir: Some(cache_dir),
                require_signatures,
                secret_key: std::env::var("FERRULE_SECRET_KEY").ok(),
                secret_key_file,
                tenant_concurrency,
                allegro,
                limits: crate::transport::Limits {
                    header_read_timeout,
                    idle_timeout,
                    body_timeout,
                    max_connections: max_connections.max(1),
                    shutdown_timeout,
                },
            };
            match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt
                    .block_on(crate::server::serve(config))
                    .map(|()| ExitCode::SUCCESS)
                    .map_err(|e| format!("{e:#}")),
                Err(e) => Err(format!("cannot start the async runtime: {e}")),
            }
        }
        Command::Plugin(PluginCommand::Inspect { file }) => plugin::inspect(&file),
        Command::Plugin(PluginCommand::Run {
            file,
            config,
            context,
            limits,
            grant_http,
            directory,
        }) => plugin::run(plugin::RunArgs {
            file,
            config,
            context,
            limits,
            grant_http,
            directory,
        }),
        Command::Plugin(PluginCommand::Keygen { out }) => sign::keygen(&out),
        Command::Plugin(PluginCommand::Sign { file, key }) => sign::sign(&file, &key),
        Command::Plugin(PluginCommand::New {
            name,
            kind,
            path,
            ferrule,
        }) => scaffold::new(&name, kind, path, ferrule),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `1s`, `60s`, `5m`, `250ms`, `1h` → a duration (at least one second for ticks).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let d = parse_any_duration(text)?;
    if d < std::time::Duration::from_secs(1) {
        return Err(format!("`{text}`: the interval is at least 1s"));
    }
    Ok(d)
}

/// `250ms`, `10s`, `5m`, `1h` → a duration (above zero).
fn parse_any_duration(text: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = text.trim().split_at(
        text.trim()
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.trim().len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 60s or 5m"))?;
    let d = match unit {
        "ms" => std::time::Duration::from_millis(n),
        "s" | "" => std::time::Duration::from_secs(n),
        "m" => std::time::Duration::from_secs(n * 60),
        "h" => std::time::Duration::from_secs(n * 3600),
        _ => return Err(format!("`{text}`: use ms, s, m or h")),
    };
    if d.is_zero() {
        return Err(format!("`{text}`: give a duration above zero"));
    }
    Ok(d)
}
