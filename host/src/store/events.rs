//! Events as durable work: written with the change that raised them, marked processed with the
//! effects of the rules they ran.

use super::{Result, Store, Tx, now_ms};
use ferrule_types::Event;
use sqlx::{FromRow, QueryBuilder, Sqlite};

/// A stored event.
#[allow(missing_docs)] // the fields mirror the columns in migrations/sqlite
#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub id: i64,
    pub tenant_id: i64,
    pub ticket_id: i64,
    pub kind: String,
    /// The event as JSON.
    pub payload: String,
    pub depth: i64,
    pub created_at: i64,
    pub processed_at: Option<i64>,
}

impl EventRow {
    /// The event itself; None when the stored JSON is not an event this version knows.
    pub fn event(&self) -> Option<Event> {
        serde_json::from_str(&self.payload).ok()
    }
}

const EVENT_COLUMNS: &str =
    "id, tenant_id, ticket_id, kind, payload, depth, created_at, processed_at";

impl Store {
    /// Record events on a ticket at chain `depth`, processed at `processed_at` (None: still to
    /// process). Returns their ids in order.
    pub async fn add_events(
        &self,
        tx: &mut Tx,
        tenant: i64,
        ticket: i64,
        events: &[(Event, usize)],
        processed_at: Option<i64>,
    ) -> Result<Vec<i64>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (tenant_id, ticket_id, kind, payload, depth, created_at, processed_at) ",
        );
        q.push_values(events, |mut b, (event, depth)| {
            b.push_bind(tenant)
                .push_bind(ticket)
                .push_bind(event.kind())
                .push_bind(serde_json::to_string(event).unwrap_or_default())
                .push_bind(*depth as i64)
                .push_bind(now)
                .push_bind(processed_at);
        });
        q.push(" RETURNING id");
        let ids: Vec<(i64,)> = q.build_query_as().fetch_all(&mut **tx).await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// Mark events processed.
    pub async fn mark_events_processed(&self, tx: &mut Tx, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut q = QueryBuilder::<Sqlite>::new("UPDATE events SET processed_at = ");
        q.push_bind(now_ms());
        q.push(" WHERE processed_at IS NULL AND id IN (");
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        q.push(")");
        q.build().execute(&mut **tx).await?;
        Ok(())
    }

    /// Events still to process (oldest first), created before `before` (ms).
    pub async fn pending_events(&self, before: i64, limit: i64) -> Result<Vec<EventRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE processed_at IS NULL AND created_at < ? ORDER BY id LIMIT ?"
        )))
        .bind(before)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// A ticket's events, oldest first.
    pub async fn ticket_events(&self, tenant: i64, ticket: i64) -> Result<Vec<EventRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = ? AND ticket_id = ? ORDER BY id"
        )))
        .bind(tenant)
        .bind(ticket)
        .fetch_all(self.pool())
        .await?)
    }
}
