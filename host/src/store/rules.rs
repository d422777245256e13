//! Rules and their revisions.

use super::{Result, Store, now_ms};
use crate::domain::rule::RuleSpec;
// Dynamic SQL here only joins constant column lists; values are always bound.
use sqlx::{AssertSqlSafe, FromRow};

/// A stored rule (JSON columns hold the rule JSON's parts).
#[allow(missing_docs)] // the fields mirror the columns in migrations/sqlite
#[derive(Debug, Clone, FromRow)]
pub struct RuleRow {
    pub id: i64,
    pub revision: i64,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub trigger: String,
    pub conditions: String,
    pub actions: String,
    pub position: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Keep a copy of a rule's definition (the rule JSON with its position) as revision `revision`.
async fn add_revision(
    tx: &mut super::Tx,
    rule: i64,
    revision: i64,
    mut definition: serde_json::Value,
    position: i64,
    now: i64,
) -> Result<()> {
    definition["position"] = position.into();
    sqlx::query("INSERT INTO rule_revisions (rule_id, revision, definition, created_at) VALUES (?, ?, ?, ?)")
        .bind(rule)
        .bind(revision)
        .bind(definition.to_string())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

const RULE_COLUMNS: &str = "id, revision, name, description, enabled, trigger, conditions, actions, position, created_at, updated_at";

impl Store {
    /// Save a new rule; position defaults to after the tenant's last rule.
    pub async fn create_rule(&self, tenant: i64, spec: &RuleSpec) -> Result<RuleRow> {
        let mut tx = self.begin().await?;
        let position = match spec.position {
            Some(p) => p,
            None => {
                let last: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(position) FROM rules WHERE tenant_id = ? AND deleted = 0",
                )
                .bind(tenant)
                .fetch_one(&mut *tx)
                .await?;
                last.map_or(10, |p| p + 10)
            }
        };
        let now = now_ms();
        let json = spec.to_json();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO rules (tenant_id, revision, name, description, enabled, trigger, conditions, actions, position, created_at, updated_at) \
             VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(tenant)
        .bind(&spec.name)
        .bind(&spec.description)
        .bind(spec.enabled)
        .bind(json["trigger"].to_string())
        .bind(json["conditions"].to_string())
        .bind(json["actions"].to_string())
        .bind(position)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        add_revision(&mut tx, id, 1, json, position, now).await?;
        tx.commit().await?;
        self.rule(tenant, id)
            .await?
            .ok_or(sqlx::Error::RowNotFound.into())
    }

    /// Replace a rule's definition, keeping the previous one as a revision.
    pub async fn update_rule(
        &self,
        tenant: i64,
        id: i64,
        spec: &RuleSpec,
    ) -> Result<Option<RuleRow>> {
        let Some(current) = self.rule(tenant, id).await? else {
            return Ok(None);
        };
        let mut tx = self.begin().await?;
        let revision = current.revision + 1;
        let position = spec.position.unwrap_or(current.position);
        let now = now_ms();
        let json = spec.to_json();
        sqlx::query(
            "UPDATE rules SET revision = ?, name = ?, description = ?, enabled = ?, trigger = ?, conditions = ?, actions = ?, \
             position = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
        )
        .bind(revision)
        .bind(&spec.name)
        .bind(&spec.description)
        .bind(spec.enabled)
        .bind(json["trigger"].to_string())
        .bind(json["conditions"].to_string())
        .bind(json["actions"].to_string())
        .bind(position)
        .bind(now)
        .bind(tenant)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        add_revision(&mut tx, id, revision, json, position, now).await?;
        tx.commit().await?;
        self.rule(tenant, id).await
    }

    /// One live rule of the tenant.
    pub async fn rule(&self, tenant: i64, id: i64) -> Result<Option<RuleRow>> {
        let sql = format!(
            "SELECT {RULE_COLUMNS} FROM rules WHERE tenant_id = ? AND id = ? AND deleted = 0"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(tenant)
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// The tenant's live rules in position order.
    pub async fn rules(&self, tenant: i64) -> Result<Vec<RuleRow>> {
        let sql = format!(
            "SELECT {RULE_COLUMNS} FROM rules WHERE tenant_id = ? AND deleted = 0 ORDER BY position, id"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(tenant)
            .fetch_all(self.pool())
            .await?)
    }

    /// Delete a rule (its runs and revisions stay readable). False when there was none.
    pub async fn delete_rule(&self, tenant: i64, id: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE rules SET deleted = 1, updated_at = ? WHERE tenant_id = ? AND id = ? AND deleted = 0")
            .bind(now_ms())
            .bind(tenant)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every revision of a rule, oldest first: (revision, definition JSON, saved at).
    pub async fn rule_revisions(&self, tenant: i64, id: i64) -> Result<Vec<(i64, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT r.revision, r.definition, r.created_at FROM rule_revisions r JOIN rules u ON u.id = r.rule_id \
             WHERE u.tenant_id = ? AND r.rule_id = ? ORDER BY r.revision",
        )
        .bind(tenant)
        .bind(id)
        .fetch_all(self.pool())
        .await?)
    }
}
