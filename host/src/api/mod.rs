//! The REST API under `/api/v1`. Each resource module owns its routes; handlers parse and check
//! input, call the engine or the store, and shape the JSON.

mod accounts;
mod channels;
mod directory;
mod email_settings;
pub mod error;
mod extract;
mod installations;
mod openapi;
mod ops;
mod plugins;
mod rules;
mod runs;
mod templates;
mod tenants;
mod tickets;
mod time;
mod vendors;

use crate::engine::Engine;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use std::time::Instant;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The engine (and through it the store and plugins).
    pub engine: Arc<Engine>,
    /// Longest a request body may take to arrive.
    pub body_timeout: std::time::Duration,
    /// This server's Allegro client (None when not configured).
    pub allegro: Option<Arc<crate::channels::allegro::Allegro>>,
    /// SHA-256 of the operator token.
    pub operator_token_hash: String,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(tenants::routes())
        .merge(directory::routes())
        .merge(channels::routes())
        .merge(accounts::routes())
        .merge(tickets::routes())
        .merge(rules::routes())
        .merge(runs::routes())
        .merge(templates::routes())
        .merge(plugins::routes())
        .merge(vendors::routes())
        .merge(installations::routes())
        .merge(ops::routes())
        .merge(openapi::routes());
    Router::new()
        .nest("/api/v1", api)
        .fallback(|| async {
            error::ApiError::NotFound("no such endpoint; the API is under /api/v1".into())
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Request id, tracing span and latency metric for every request.
async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| crate::store::new_token("req")[..20].to_owned());
    if let Ok(value) = id.parse() {
        request.headers_mut().insert("x-request-id", value);
    }
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = {
        let _entered = span.enter();
        tracing::debug!("started");
        drop(_entered);
        tracing::Instrument::instrument(next.run(request), span.clone()).await
    };
    let elapsed = started.elapsed();
    state
        .engine
        .metrics
        .http_latency
        .observe(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            micros = elapsed.as_micros() as u64,
            "done"
        )
    });
    if let Ok(value) = id.parse() {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
