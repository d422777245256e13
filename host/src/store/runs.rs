//! Run records: why a rule fired or did not.

use super::{Result, Store};
// Dynamic SQL here only joins constant column lists; values are always bound.
use sqlx::{AssertSqlSafe, FromRow};

/// A stored run.
#[allow(missing_docs)] // the fields mirror the columns in migrations/sqlite
#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    pub id: i64,
    pub rule_id: i64,
    pub rule_revision: i64,
    pub ticket_id: i64,
    pub event: String,
    pub outcome: String,
    /// The run record JSON, or its compact form (see `compact`).
    pub record: String,
    pub dry_run: bool,
    /// Whether `record` is the compact form of a not-matched run.
    pub compact: bool,
    pub created_at: i64,
}

const RUN_COLUMNS: &str =
    "id, rule_id, rule_revision, ticket_id, event, outcome, record, dry_run, compact, created_at";

impl Store {
    /// A rule's definition at a revision (the rule JSON), if the tenant has it.
    pub async fn rule_definition(
        &self,
        tenant: i64,
        rule: i64,
        revision: i64,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT r.definition FROM rule_revisions r JOIN rules u ON u.id = r.rule_id \
             WHERE u.tenant_id = ? AND r.rule_id = ? AND r.revision = ?",
        )
        .bind(tenant)
        .bind(rule)
        .bind(revision)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Runs of a ticket, newest first.
    pub async fn runs_for_ticket(
        &self,
        tenant: i64,
        ticket: i64,
        limit: i64,
    ) -> Result<Vec<RunRow>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE tenant_id = ? AND ticket_id = ? ORDER BY id DESC LIMIT ?"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(ticket)
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }

    /// Runs of a rule (or all rules), newest first.
    pub async fn runs(&self, tenant: i64, rule: Option<i64>, limit: i64) -> Result<Vec<RunRow>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE tenant_id = ? AND (? IS NULL OR rule_id = ?) ORDER BY id DESC LIMIT ?"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(rule)
            .bind(rule)
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }
}
