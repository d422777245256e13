//! `ferrule serve`: open the database, load the plugins, serve the API, stop gracefully.

use crate::api::{AppState, router};
use crate::channels::allegro::{Allegro, AllegroConfig};
use crate::engine::Engine;
use crate::runtime::{CodeCache, Runtime};
use crate::store::{Sealer, Store, hash_token, new_token};
use crate::transport::Limits;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Settings of `serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://ferrule.db` (created when missing) or `sqlite::memory:`.
    pub database: String,
    /// The longest the scheduler sleeps between looks at due work and at events whose
    /// processing was cut off (it also wakes on every change and at every due moment).
    pub tick: Duration,
    /// The operator token; generated and printed once when None.
    pub operator_token: Option<String>,
    /// Where compiled plugin code is cached.
    pub cache_dir: Option<PathBuf>,
    /// Whether plugin uploads must carry a vendor signature.
    pub require_signatures: bool,
    /// Plugin work one tenant may run at once (None: every core but one).
    pub tenant_concurrency: Option<usize>,
    /// The key that seals installation secrets: 64 hex characters. When None it is read from
    /// `secret_key_file`, which is created with a new key when missing.
    pub secret_key: Option<String>,
    /// Where the secret key lives when not given directly (default: beside the database file,
    /// `<database>.secret-key`; an in-memory database gets a key for the process only).
    pub secret_key_file: Option<PathBuf>,
    /// This server's Allegro application (None: Allegro accounts cannot be connected).
    pub allegro: Option<AllegroConfig>,
    /// Timeouts and connection limits of the front door.
    pub limits: Limits,
}

/// The key that seals secrets: given, read from its file, or created in that file (mode 0600).
fn sealer(config: &ServeConfig) -> anyhow::Result<Sealer> {
    if let Some(hex) = &config.secret_key {
        return Sealer::from_hex(hex).map_err(|e| anyhow::anyhow!("FERRULE_SECRET_KEY: {e}"));
    }
    let path = match &config.secret_key_file {
        Some(p) => p.clone(),
        None => match config
            .database
            .strip_prefix("sqlite://")
            .or_else(|| config.database.strip_prefix("sqlite:"))
            .map(|rest| rest.split('?').next().unwrap_or(rest))
            .filter(|p| !p.is_empty() && !p.contains(":memory:"))
        {
            Some(db) => PathBuf::from(format!("{db}.secret-key")),
            None => return Ok(Sealer::new(rand_key())),
        },
    };
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Sealer::from_hex(&text)
            .map_err(|e| anyhow::anyhow!("secret key file {}: {e}", path.display()));
    }
    let hex = Sealer::generate_hex();
    write_private(&path, &hex).map_err(|e| {
        anyhow::anyhow!("cannot create the secret key file {}: {e}", path.display())
    })?;
    tracing::info!(file = %path.display(), "created the key that seals installation secrets; back it up with the database");
    Sealer::from_hex(&hex).map_err(|e| anyhow::anyhow!(e))
}

fn rand_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the operating system's random source");
    key
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// Everything `serve` starts, for tests that run the server in-process.
pub async fn build(config: &ServeConfig) -> anyhow::Result<(axum::Router, String)> {
    if !config.database.starts_with("sqlite:") {
        anyhow::bail!(
            "--database {}: only sqlite:// URLs are supported so far (PostgreSQL is planned)",
            config.database
        );
    }
    let store = Store::connect(&config.database, sealer(config)?).await?;
    let cache = match &config.cache_dir {
        Some(dir) => Some(CodeCache::new(dir)?),
        None => None,
    };
    let runtime = Runtime::new(cache).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut engine = tokio::task::spawn_blocking(move || Engine::new(store, &runtime)).await??;
    engine.require_signatures = config.require_signatures;
    if let Some(n) = config.tenant_concurrency {
        engine.tenant_concurrency = n.max(1);
    }
    let uploaded = engine.load_uploaded().await?;
    if uploaded > 0 {
        tracing::info!(uploaded, "loaded uploaded plugins");
    }
    let token = match &config.operator_token {
        Some(t) => t.clone(),
        None => {
            let t = new_token("fro");
            // Printed once, on stdout, so it can be captured; it is never stored in clear.
            println!("operator token: {t}");
            t
        }
    };
    let engine = engine.shared();
    tokio::spawn(crate::engine::scheduler::run(engine.clone(), config.tick));
    let allegro = config
        .allegro
        .as_ref()
        .map(|c| std::sync::Arc::new(Allegro::new(c, engine.store().clone())));
    tokio::spawn(crate::channels::delivery::run(
        engine.clone(),
        allegro.clone(),
    ));
    if let Some(allegro) = &allegro {
        tokio::spawn(crate::channels::allegro::worker::run(
            engine.clone(),
            allegro.clone(),
        ));
    }
    tokio::spawn(crate::channels::mailbox::run(engine.clone()));
    let state = AppState {
        engine,
        allegro,
        body_timeout: config.limits.body_timeout,
        operator_token_hash: hash_token(&token),
    };
    Ok((router(state), token))
}

/// Run until SIGINT or SIGTERM; requests in flight finish first. The port is open at once:
/// while the plugins load (the first start compiles them), every request is answered 503
/// `starting` with the progress.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(listen = %listener.local_addr()?, database = %config.database, "ferrule is listening; loading plugins");
    let ready: Arc<OnceLock<axum::Router>> = Arc::default();
    let front = starting(ready.clone());
    let mut server = tokio::spawn(crate::transport::serve(
        listener,
        front,
        config.limits,
        shutdown(),
    ));
    let started = std::time::Instant::now();
    tokio::select! {
        built = build(&config) => {
            let (app, _) = built?;
            let _ = ready.set(app);
            tracing::info!(ready_in_ms = started.elapsed().as_millis() as u64, "ferrule is serving");
        }
        _ = &mut server => {
            tracing::info!("stopped while starting");
            return Ok(());
        }
    }
    server.await?;
    tracing::info!("stopped");
    Ok(())
}

/// The application once it is built; until then 503 `starting`, with the progress.
fn starting(ready: Arc<OnceLock<axum::Router>>) -> axum::Router {
    axum::Router::new().fallback(move |request: axum::extract::Request| {
        let ready = ready.clone();
        async move {
            use axum::response::IntoResponse;
            match ready.get() {
                Some(app) => {
                    let mut app = app.clone();
                    match tower_service::Service::call(&mut app, request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                }
                None => {
                    let loaded = crate::builtin::LOADED.load(std::sync::atomic::Ordering::Relaxed);
                    let total = crate::builtin::COMPONENTS.len();
                    let message = format!(
                        "ferrule is starting: {loaded} of {total} built-in plugins loaded (the first start compiles them; later starts read the code cache)"
                    );
                    (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        [(axum::http::header::RETRY_AFTER, "1")],
                        axum::Json(serde_json::json!({"error": {"code": "starting", "message": message}})),
                    )
                        .into_response()
                }
            }
        }
    })
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: no new connections; finishing requests in flight");
}
