//! Run records: `GET /tickets/{id}/runs`, `GET /runs?rule_id=…`.

use super::AppState;
use super::error::ApiError;
use super::extract::{Params, TenantCaller, id};
use super::time;
use crate::store::RunRow;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /runs` query.
#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    rule_id: Option<i64>,
    limit: Option<i64>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tickets/{id}/runs", get(for_ticket))
        .route("/runs", get(list))
}

async fn runs_json(s: &AppState, tenant: i64, rows: &[RunRow]) -> Result<Value, ApiError> {
    let records = s.engine.run_records(tenant, rows).await?;
    let runs: Vec<Value> = records
        .into_iter()
        .zip(rows)
        .map(|(mut record, r)| {
            record["id"] = r.id.into();
            record["at"] = time::format(r.created_at).into();
            record
        })
        .collect();
    Ok(json!({ "runs": runs }))
}

fn limit(l: Option<i64>) -> Result<i64, ApiError> {
    let l = l.unwrap_or(100);
    if (1..=1000).contains(&l) {
        Ok(l)
    } else {
        Err(ApiError::invalid("limit", "between 1 and 1000"))
    }
}

async fn for_ticket(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Path(ticket): Path<String>,
    Params(q): Params<RunsQuery>,
) -> Result<Json<Value>, ApiError> {
    let ticket_id = id(&ticket, "ticket")?;
    if s.engine.store().ticket(t.id, ticket_id).await?.is_none() {
        return Err(ApiError::not_found("ticket"));
    }
    let rows = s
        .engine
        .store()
        .runs_for_ticket(t.id, ticket_id, limit(q.limit)?)
        .await?;
    Ok(Json(runs_json(&s, t.id, &rows).await?))
}

async fn list(
    TenantCaller(t): TenantCaller,
    State(s): State<AppState>,
    Params(q): Params<RunsQuery>,
) -> Result<Json<Value>, ApiError> {
    let rows = s
        .engine
        .store()
        .runs(t.id, q.rule_id, limit(q.limit)?)
        .await?;
    Ok(Json(runs_json(&s, t.id, &rows).await?))
}
