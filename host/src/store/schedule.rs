//! The scheduler's state: which tickets are due, and which time rules fired at which revision.

use super::{Result, Store, now_ms};
use std::collections::HashMap;

/// A ticket whose time rules are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct DueTicket {
    /// The tenant.
    pub tenant_id: i64,
    /// The ticket.
    pub ticket_id: i64,
}

impl Store {
    /// Up to `limit` tickets due at `now`, most overdue first. Uses the partial index on
    /// `due_at`, so the cost follows the due tickets, not the open ones.
    pub async fn due_tickets(&self, now: i64, limit: i64) -> Result<Vec<DueTicket>> {
        Ok(sqlx::query_as(
            "SELECT tenant_id, id AS ticket_id FROM tickets WHERE due_at IS NOT NULL AND due_at <= ? \
             ORDER BY due_at LIMIT ?",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// The earliest due time of any ticket.
    pub async fn next_due(&self) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT MIN(due_at) FROM tickets WHERE due_at IS NOT NULL")
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// The time rules that fired for a ticket, with the ticket revision each fired at.
    pub async fn time_fires_of(&self, ticket: i64) -> Result<HashMap<i64, i64>> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT rule_id, ticket_revision FROM time_fires WHERE ticket_id = ?")
                .bind(ticket)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().collect())
    }

    /// Make every open ticket of a tenant due now (its time rules changed).
    pub async fn make_tenant_due(&self, tenant: i64) -> Result<()> {
        let now = now_ms();
        self.group
            .write(move |c| {
                c.prepare_cached(
                    "UPDATE tickets SET due_at = ?1 WHERE tenant_id = ?2 AND status NOT IN \
                     (SELECT name FROM statuses WHERE tenant_id = ?2 AND category = 'closed')",
                )?
                .execute(rusqlite::params![now, tenant])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Look at a ticket again at `at` (after a failure).
    pub async fn postpone_due(&self, ticket: i64, at: i64) -> Result<()> {
        self.group
            .write(move |c| {
                c.prepare_cached("UPDATE tickets SET due_at = ?1 WHERE id = ?2")?
                    .execute(rusqlite::params![at, ticket])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Nothing to look at on these tickets until they change: clears their due time if it is
    /// still at or before `seen` (a ticket made due again since stays due).
    pub async fn clear_due(&self, tickets: &[i64], seen: i64) -> Result<()> {
        if tickets.is_empty() {
            return Ok(());
        }
        let tickets = tickets.to_vec();
        self.group
            .write(move |c| {
                let mut clear = c.prepare_cached(
                    "UPDATE tickets SET due_at = NULL WHERE id = ?1 AND due_at <= ?2",
                )?;
                for id in tickets {
                    clear.execute(rusqlite::params![id, seen])?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }
}
