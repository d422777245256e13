//! Secrets of rules' actions: the values of config fields a plugin marks `writeOnly`, sealed
//! per rule, action and name (bound to all three, so a sealed value moved elsewhere does not
//! open).

use super::{Result, Store, StoreError};
use std::collections::{BTreeMap, HashMap};

/// An action's secrets by name.
pub type ActionSecrets = BTreeMap<String, String>;

fn context(rule: i64, action: usize, name: &str) -> String {
    format!("rule/{rule}/actions/{action}/{name}")
}

impl Store {
    /// Replace a rule's action secrets.
    pub async fn set_rule_secrets(
        &self,
        rule: i64,
        secrets: &BTreeMap<usize, ActionSecrets>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM rule_secrets WHERE rule_id = ?")
            .bind(rule)
            .execute(&mut *tx)
            .await?;
        for (action, named) in secrets {
            for (name, value) in named {
                let sealed = self
                    .sealer
                    .seal(value.as_bytes(), &context(rule, *action, name));
                sqlx::query(
                    "INSERT INTO rule_secrets (rule_id, action, name, sealed) VALUES (?, ?, ?, ?)",
                )
                .bind(rule)
                .bind(*action as i64)
                .bind(name)
                .bind(sealed)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// A rule's action secrets, opened.
    pub async fn rule_secrets(&self, rule: i64) -> Result<BTreeMap<usize, ActionSecrets>> {
        let rows: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
            "SELECT action, name, sealed FROM rule_secrets WHERE rule_id = ? ORDER BY action, name",
        )
        .bind(rule)
        .fetch_all(self.pool())
        .await?;
        let mut out: BTreeMap<usize, ActionSecrets> = BTreeMap::new();
        for (action, name, sealed) in rows {
            let action = action as usize;
            let ctx = context(rule, action, &name);
            let plain = self
                .sealer
                .open(&sealed, &ctx)
                .map_err(|_| StoreError::Unseal(ctx.clone()))?;
            out.entry(action)
                .or_default()
                .insert(name, String::from_utf8_lossy(&plain).into_owned());
        }
        Ok(out)
    }

    /// The tenant's rules' action secrets, opened, by rule.
    pub async fn tenant_rule_secrets(
        &self,
        tenant: i64,
    ) -> Result<HashMap<i64, BTreeMap<usize, ActionSecrets>>> {
        let rules: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT s.rule_id FROM rule_secrets s JOIN rules r ON r.id = s.rule_id \
             WHERE r.tenant_id = ? AND r.deleted = 0",
        )
        .bind(tenant)
        .fetch_all(self.pool())
        .await?;
        let mut out = HashMap::new();
        for rule in rules {
            out.insert(rule, self.rule_secrets(rule).await?);
        }
        Ok(out)
    }

    /// Where a rule has secrets: `actions[i].config.name`, without the values.
    pub async fn rule_secret_fields(&self, rule: i64) -> Result<Vec<String>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT action, name FROM rule_secrets WHERE rule_id = ? ORDER BY action, name",
        )
        .bind(rule)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(a, n)| format!("actions[{a}].config.{n}"))
            .collect())
    }
}
