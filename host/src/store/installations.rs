//! A tenant's installations of plugins and their sealed secrets.

use super::{Result, Store, StoreError, Tx, now_ms};
use sqlx::FromRow;
use std::collections::BTreeMap;

/// One installation as stored.
#[derive(Debug, Clone, FromRow)]
pub struct InstallationRow {
    /// Plugin name.
    pub plugin: String,
    /// Whether rules may use it.
    pub enabled: bool,
    /// Pinned version (None: the newest).
    pub version: Option<String>,
    /// Config defaults (JSON object).
    pub config: String,
    /// Grants (JSON).
    pub grants: String,
    /// When created (ms).
    pub created_at: i64,
    /// When last changed (ms).
    pub updated_at: i64,
}

/// A change to an installation's secrets: set (Some) or remove (None) each named one.
pub type SecretChanges = BTreeMap<String, Option<String>>;

fn context(tenant: i64, plugin: &str, name: &str) -> String {
    format!("installation-secret/{tenant}/{plugin}/{name}")
}

impl Store {
    /// The tenant's installation rows, by plugin name.
    pub async fn installations(&self, tenant: i64) -> Result<Vec<InstallationRow>> {
        Ok(sqlx::query_as::<_, InstallationRow>(
            "SELECT plugin, enabled, version, config, grants, created_at, updated_at \
             FROM installations WHERE tenant_id = ? ORDER BY plugin",
        )
        .bind(tenant)
        .fetch_all(self.pool())
        .await?)
    }

    /// The names of each installation's secrets: (plugin, name), sorted.
    pub async fn secret_names(&self, tenant: i64) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as::<_, (String, String)>(
            "SELECT plugin, name FROM installation_secrets WHERE tenant_id = ? ORDER BY plugin, name",
        )
        .bind(tenant)
        .fetch_all(self.pool())
        .await?)
    }

    /// The opened secrets of every installation of the tenant: plugin → name → value.
    pub async fn secrets(&self, tenant: i64) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let rows = sqlx::query_as::<_, (String, String, Vec<u8>)>(
            "SELECT plugin, name, sealed FROM installation_secrets WHERE tenant_id = ?",
        )
        .bind(tenant)
        .fetch_all(self.pool())
        .await?;
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (plugin, name, sealed) in rows {
            let plain = self
                .sealer
                .open(&sealed, &context(tenant, &plugin, &name))
                .map_err(|_| StoreError::Unseal(format!("{plugin}/{name}")))?;
            let value = String::from_utf8(plain)
                .map_err(|_| StoreError::Unseal(format!("{plugin}/{name}")))?;
            out.entry(plugin).or_default().insert(name, value);
        }
        Ok(out)
    }

    /// Create or replace an installation and apply its secret changes, in one transaction.
    pub async fn put_installation(
        &self,
        tenant: i64,
        row: &InstallationRow,
        secrets: &SecretChanges,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO installations (tenant_id, plugin, enabled, version, config, grants, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (tenant_id, plugin) DO UPDATE SET enabled = excluded.enabled, \
             version = excluded.version, config = excluded.config, grants = excluded.grants, \
             updated_at = excluded.updated_at",
        )
        .bind(tenant)
        .bind(&row.plugin)
        .bind(row.enabled)
        .bind(&row.version)
        .bind(&row.config)
        .bind(&row.grants)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.write_secrets(&mut tx, tenant, &row.plugin, secrets)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn write_secrets(
        &self,
        tx: &mut Tx,
        tenant: i64,
        plugin: &str,
        secrets: &SecretChanges,
    ) -> Result<()> {
        for (name, value) in secrets {
            match value {
                Some(value) => {
                    let sealed = self
                        .sealer
                        .seal(value.as_bytes(), &context(tenant, plugin, name));
                    sqlx::query(
                        "INSERT INTO installation_secrets (tenant_id, plugin, name, sealed) VALUES (?, ?, ?, ?) \
                         ON CONFLICT (tenant_id, plugin, name) DO UPDATE SET sealed = excluded.sealed",
                    )
                    .bind(tenant)
                    .bind(plugin)
                    .bind(name)
                    .bind(sealed)
                    .execute(&mut **tx)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "DELETE FROM installation_secrets WHERE tenant_id = ? AND plugin = ? AND name = ?",
                    )
                    .bind(tenant)
                    .bind(plugin)
                    .bind(name)
                    .execute(&mut **tx)
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Remove an installation and its secrets; false when there was none.
    pub async fn delete_installation(&self, tenant: i64, plugin: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM installation_secrets WHERE tenant_id = ? AND plugin = ?")
            .bind(tenant)
            .bind(plugin)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM installations WHERE tenant_id = ? AND plugin = ?")
            .bind(tenant)
            .bind(plugin)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// The tenants that installed a plugin (to drop their cached rules after an upload).
    pub async fn tenants_with_installation(&self, plugin: &str) -> Result<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT tenant_id FROM installations WHERE plugin = ?")
                .bind(plugin)
                .fetch_all(self.pool())
                .await?,
        )
    }
}
