//! The scheduler's state: which tickets are due, and which time rules fired at which revision.

use super::{Result, Store, Tx, now_ms};
use sqlx::{QueryBuilder, Sqlite};
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
    pub async fn time_fires(&self, tx: &mut Tx, ticket: i64) -> Result<HashMap<i64, i64>> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT rule_id, ticket_revision FROM time_fires WHERE ticket_id = ?")
                .bind(ticket)
                .fetch_all(&mut **tx)
                .await?;
        Ok(rows.into_iter().collect())
    }

    /// Record that time rules fired for a ticket, which the same transaction leaves at
    /// `revision`.
    pub async fn record_time_fires(
        &self,
        tx: &mut Tx,
        ticket: i64,
        rules: &[i64],
        revision: i64,
    ) -> Result<()> {
        if rules.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO time_fires (rule_id, ticket_id, ticket_revision, fired_at) ",
        );
        q.push_values(rules, |mut b, rule| {
            b.push_bind(*rule)
                .push_bind(ticket)
                .push_bind(revision)
                .push_bind(now);
        });
        q.push(
            " ON CONFLICT (ticket_id, rule_id) DO UPDATE SET ticket_revision = excluded.ticket_revision, \
             fired_at = excluded.fired_at",
        );
        q.build().execute(&mut **tx).await?;
        Ok(())
    }

    /// Set when the scheduler should next look at tickets, each if it is still at the
    /// revision the scheduler evaluated (a ticket changed since stays due now).
    pub async fn set_due(&self, tx: &mut Tx, due: &[(i64, i64, Option<i64>)]) -> Result<()> {
        for chunk in due.chunks(300) {
            // UPDATE … FROM (VALUES …): one statement per chunk.
            let mut q = QueryBuilder::<Sqlite>::new(
                "UPDATE tickets SET due_at = v.due FROM (SELECT column1 AS id, column2 AS revision, column3 AS due FROM (",
            );
            q.push_values(chunk, |mut b, (id, revision, due)| {
                b.push_bind(*id).push_bind(*revision).push_bind(*due);
            });
            q.push(")) AS v WHERE tickets.id = v.id AND tickets.revision = v.revision");
            q.build().execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Make every open ticket of a tenant due now (its time rules changed).
    pub async fn make_tenant_due(&self, tenant: i64) -> Result<()> {
        sqlx::query("UPDATE tickets SET due_at = ? WHERE tenant_id = ? AND status NOT IN (SELECT name FROM statuses WHERE tenant_id = ? AND category = 'closed')")
            .bind(now_ms())
            .bind(tenant)
            .bind(tenant)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Look at a ticket again at `at` (after a failure).
    pub async fn postpone_due(&self, ticket: i64, at: i64) -> Result<()> {
        sqlx::query("UPDATE tickets SET due_at = ? WHERE id = ?")
            .bind(at)
            .bind(ticket)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Nothing to look at on these tickets until they change: clears their due time if it is
    /// still at or before `seen` (a ticket made due again since stays due).
    pub async fn clear_due(&self, tickets: &[i64], seen: i64) -> Result<()> {
        for chunk in tickets.chunks(500) {
            let mut q =
                QueryBuilder::<Sqlite>::new("UPDATE tickets SET due_at = NULL WHERE due_at <= ");
            q.push_bind(seen);
            q.push(" AND id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            q.build().execute(self.writer()).await?;
        }
        Ok(())
    }
}
