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
    /// The run record JSON.
    pub record: String,
    pub dry_run: bool,
    pub created_at: i64,
}

/// A run to record; its outcome is the record's `outcome` field.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The rule.
    pub rule_id: i64,
    /// The rule's revision that ran.
    pub rule_revision: i64,
    /// The event kind (`ticket_created`, …, `schedule_tick`).
    pub event: &'static str,
    /// The run record JSON.
    pub record: serde_json::Value,
}

impl NewRun {
    /// The run serialised for the writer.
    pub fn text(&self) -> super::RunText {
        super::RunText {
            rule_id: self.rule_id,
            rule_revision: self.rule_revision,
            event: self.event,
            outcome: self.record["outcome"]
                .as_str()
                .unwrap_or("failed")
                .to_owned(),
            record: self.record.to_string(),
        }
    }
}

const RUN_COLUMNS: &str =
    "id, rule_id, rule_revision, ticket_id, event, outcome, record, dry_run, created_at";

impl Store {
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
