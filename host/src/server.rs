//! `ferrule serve`: open the database, load the plugins, serve the API, stop gracefully.

use crate::api::{AppState, router};
use crate::engine::Engine;
use crate::runtime::{CodeCache, Runtime};
use crate::store::{Store, hash_token, new_token};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
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
}

/// Everything `serve` starts, for tests that run the server in-process.
pub async fn build(config: &ServeConfig) -> anyhow::Result<(axum::Router, String)> {
    if !config.database.starts_with("sqlite:") {
        anyhow::bail!(
            "--database {}: only sqlite:// URLs are supported so far (PostgreSQL is planned)",
            config.database
        );
    }
    let store = Store::connect(&config.database).await?;
    let cache = match &config.cache_dir {
        Some(dir) => Some(CodeCache::new(dir)?),
        None => None,
    };
    let runtime = Runtime::new(cache).map_err(|e| anyhow::anyhow!("{e}"))?;
    let engine = tokio::task::spawn_blocking(move || Engine::new(store, &runtime)).await??;
    let token = match &config.operator_token {
        Some(t) => t.clone(),
        None => {
            let t = new_token("fro");
            // Printed once, on stdout, so it can be captured; it is never stored in clear.
            println!("operator token: {t}");
            t
        }
    };
    let engine = Arc::new(engine);
    tokio::spawn(crate::engine::scheduler::run(engine.clone(), config.tick));
    let state = AppState {
        engine,
        operator_token_hash: hash_token(&token),
    };
    Ok((router(state), token))
}

/// Run until SIGINT or SIGTERM; requests in flight finish first.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let (app, _) = build(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(listen = %listener.local_addr()?, database = %config.database, "ferrule is serving");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await?;
    tracing::info!("stopped");
    Ok(())
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
    tracing::info!("shutting down: finishing requests in flight");
}
