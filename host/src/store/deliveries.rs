//! The delivery queue (the `outbox` table): what the rules send, claimed by the delivery worker
//! with a lease, and what became of each attempt.

use super::writer::WriteError;
use super::{Result, Store, now_ms};
use rusqlite::{Connection, Row, params};
use sqlx::FromRow;

/// A delivery.
#[allow(missing_docs)] // the fields mirror the columns in migrations/sqlite
#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub tenant_id: i64,
    pub ticket_id: i64,
    pub rule_id: Option<i64>,
    /// `reply`, `email`, `notification`, `sms` or `webhook`.
    pub kind: String,
    /// `smtp`, `sms`, `webhook` or `allegro`.
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    /// `pending`, `failed`, `sent` or `dead`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
    pub message_id: Option<String>,
    pub message_ref: Option<i64>,
    pub webhook_id: Option<i64>,
    pub payload: Option<String>,
    pub response: Option<String>,
    pub created_at: i64,
    /// How often it was claimed (more than once: an earlier attempt may have been sent).
    pub claims: i64,
}

const COLUMNS: &str = "id, tenant_id, ticket_id, rule_id, kind, channel, recipient, subject, body, state, \
    attempts, next_attempt_at, last_error, sent_at, message_id, message_ref, webhook_id, payload, response, created_at, claims";

fn from_row(r: &Row<'_>) -> rusqlite::Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        ticket_id: r.get(2)?,
        rule_id: r.get(3)?,
        kind: r.get(4)?,
        channel: r.get(5)?,
        recipient: r.get(6)?,
        subject: r.get(7)?,
        body: r.get(8)?,
        state: r.get(9)?,
        attempts: r.get(10)?,
        next_attempt_at: r.get(11)?,
        last_error: r.get(12)?,
        sent_at: r.get(13)?,
        message_id: r.get(14)?,
        message_ref: r.get(15)?,
        webhook_id: r.get(16)?,
        payload: r.get(17)?,
        response: r.get(18)?,
        created_at: r.get(19)?,
        claims: r.get(20)?,
    })
}

/// Filters of `GET /deliveries`.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// State.
    pub state: Option<String>,
    /// Ticket.
    pub ticket_id: Option<i64>,
    /// Webhook.
    pub webhook_id: Option<i64>,
    /// Deliveries with an id below this (paging newest first).
    pub before_id: Option<i64>,
    /// Most rows.
    pub limit: i64,
}

/// What became of an attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Accepted by the receiver.
    Sent {
        /// The id the receiver saw.
        message_id: Option<String>,
        /// What it answered.
        response: String,
    },
    /// Failed for now: tried again at `at`.
    Retry {
        /// Why, in words.
        error: String,
        /// When to try again.
        at: i64,
        /// The id the receiver saw.
        message_id: Option<String>,
    },
    /// Given up: refused for good, or out of attempts.
    Dead {
        /// Why, in words.
        error: String,
        /// The id the receiver saw.
        message_id: Option<String>,
    },
}

/// A webhook call to queue (for `delivery.dead`).
#[derive(Debug, Clone)]
pub struct HookCall {
    /// Webhook.
    pub webhook_id: i64,
    /// Its URL.
    pub url: String,
    /// The event type.
    pub kind: &'static str,
    /// The body.
    pub payload: String,
}

impl Store {
    /// The tenant's deliveries, newest first.
    pub async fn deliveries(&self, tenant: i64, f: &DeliveryFilter) -> Result<Vec<DeliveryRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox WHERE tenant_id = ? AND (? IS NULL OR state = ?) \
             AND (? IS NULL OR ticket_id = ?) AND (? IS NULL OR webhook_id = ?) AND (? IS NULL OR id < ?) \
             ORDER BY id DESC LIMIT ?"
        )))
        .bind(tenant)
        .bind(&f.state)
        .bind(&f.state)
        .bind(f.ticket_id)
        .bind(f.ticket_id)
        .bind(f.webhook_id)
        .bind(f.webhook_id)
        .bind(f.before_id)
        .bind(f.before_id)
        .bind(f.limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// A ticket's deliveries, oldest first.
    pub async fn outbox(&self, tenant: i64, ticket: i64) -> Result<Vec<DeliveryRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox WHERE tenant_id = ? AND ticket_id = ? ORDER BY id"
        )))
        .bind(tenant)
        .bind(ticket)
        .fetch_all(self.pool())
        .await?)
    }

    /// The delivery of each of these messages (replies), by message id.
    pub async fn deliveries_of_messages(
        &self,
        tenant: i64,
        ticket: i64,
    ) -> Result<Vec<(i64, i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT message_ref, id, state FROM outbox WHERE tenant_id = ? AND ticket_id = ? \
             AND message_ref IS NOT NULL ORDER BY id",
        )
        .bind(tenant)
        .bind(ticket)
        .fetch_all(self.pool())
        .await?)
    }

    /// One delivery of the tenant.
    pub async fn delivery(&self, tenant: i64, id: i64) -> Result<Option<DeliveryRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox WHERE tenant_id = ? AND id = ?"
        )))
        .bind(tenant)
        .bind(id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Claim up to `limit` deliveries that are due, for `lease_ms`.
    pub async fn claim_deliveries(
        &self,
        limit: usize,
        lease_ms: i64,
    ) -> Result<Vec<DeliveryRow>, WriteError> {
        self.group
            .write(move |conn| {
                let now = now_ms();
                let mut claim = conn.prepare_cached(&format!(
                    "UPDATE outbox SET lease_until = ?1, claims = claims + 1 WHERE id IN (SELECT id FROM outbox \
                     WHERE state IN ('pending', 'failed') AND next_attempt_at <= ?2 \
                     AND (lease_until IS NULL OR lease_until < ?2) \
                     ORDER BY next_attempt_at, id LIMIT ?3) RETURNING {COLUMNS}"
                ))?;
                let rows = claim
                    .query_map(params![now + lease_ms, now, limit as i64], from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(rows)
            })
            .await
    }

    /// Record what became of an attempt (and queue `delivery.dead` calls when it died).
    pub async fn finish_delivery(
        &self,
        id: i64,
        outcome: Outcome,
        dead_calls: Vec<HookCall>,
    ) -> Result<(), WriteError> {
        self.group
            .write(move |conn| finish(conn, id, &outcome, &dead_calls))
            .await
    }

    /// When the next delivery falls due (None: nothing waits).
    pub async fn next_delivery_at(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE state IN ('pending', 'failed')",
        )
        .fetch_one(self.pool())
        .await?)
    }

    /// Send a dead delivery again: pending now, with a fresh count of attempts. The delivery
    /// after the change, or Err with its state when it is not dead.
    pub async fn retry_delivery(
        &self,
        tenant: i64,
        id: i64,
    ) -> Result<Option<std::result::Result<DeliveryRow, String>>> {
        let Some(row) = self.delivery(tenant, id).await? else {
            return Ok(None);
        };
        if row.state != "dead" {
            return Ok(Some(Err(row.state)));
        }
        self.group
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?1, lease_until = NULL \
                     WHERE id = ?2 AND state = 'dead'",
                )?
                .execute(params![now_ms(), id])?;
                Ok(())
            })
            .await?;
        Ok(self.delivery(tenant, id).await?.map(Ok))
    }

    /// Release every lease (at start: with SQLite this process is the only worker, so a lease
    /// left by a crashed run is stale).
    pub async fn release_leases(&self) -> Result<(), WriteError> {
        self.group
            .write(|conn| {
                conn.execute(
                    "UPDATE outbox SET lease_until = NULL WHERE lease_until IS NOT NULL",
                    [],
                )?;
                Ok(())
            })
            .await
    }
}

fn finish(
    conn: &Connection,
    id: i64,
    outcome: &Outcome,
    dead_calls: &[HookCall],
) -> Result<(), WriteError> {
    let now = now_ms();
    match outcome {
        Outcome::Sent {
            message_id,
            response,
        } => conn
            .prepare_cached(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?1, next_attempt_at = NULL, \
                 lease_until = NULL, message_id = COALESCE(?2, message_id), response = ?3, last_error = NULL \
                 WHERE id = ?4",
            )?
            .execute(params![now, message_id, response, id])
            .and_then(|n| {
                // The message a reply delivered is known by Allegro's id from now on, so the
                // sync does not import it again (OR IGNORE: the sync may have been first).
                conn.prepare_cached(
                    "UPDATE OR IGNORE messages SET external_id = ?1 WHERE external_id IS NULL AND id = \
                     (SELECT message_ref FROM outbox WHERE id = ?2 AND channel = 'allegro')",
                )?
                .execute(params![message_id, id])?;
                Ok(n)
            })?,
        Outcome::Retry {
            error,
            at,
            message_id,
        } => conn
            .prepare_cached(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, next_attempt_at = ?1, lease_until = NULL, \
                 last_error = ?2, message_id = COALESCE(?3, message_id) WHERE id = ?4",
            )?
            .execute(params![at, error, message_id, id])?,
        Outcome::Dead { error, message_id } => conn
            .prepare_cached(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, next_attempt_at = NULL, lease_until = NULL, \
                 last_error = ?1, message_id = COALESCE(?2, message_id) WHERE id = ?3",
            )?
            .execute(params![error, message_id, id])?,
    };
    if !dead_calls.is_empty() {
        let (tenant, ticket): (i64, i64) = conn
            .prepare_cached("SELECT tenant_id, ticket_id FROM outbox WHERE id = ?1")?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut add = conn.prepare_cached(
            "INSERT INTO outbox (tenant_id, ticket_id, kind, recipient, body, created_at, channel, state, \
             next_attempt_at, webhook_id, payload) \
             VALUES (?1, ?2, 'webhook', ?3, ?4, ?5, 'webhook', 'pending', ?5, ?6, ?7)",
        )?;
        for c in dead_calls {
            add.execute(params![
                tenant,
                ticket,
                c.url,
                c.kind,
                now,
                c.webhook_id,
                c.payload
            ])?;
        }
    }
    Ok(())
}
