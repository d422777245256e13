//! Tenants, their API keys and statuses.

use super::{Result, Store, now_ms};
use sha2::{Digest, Sha256};
use sqlx::FromRow;

/// A tenant.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct Tenant {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// IANA time zone.
    pub timezone: String,
}

/// A status of a tenant.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct StatusRow {
    /// Name.
    pub name: String,
    /// new / open / pending / solved / closed.
    pub category: String,
}

/// The statuses every new tenant starts with.
pub const DEFAULT_STATUSES: &[(&str, &str)] = &[
    ("new", "new"),
    ("open", "open"),
    ("in-progress", "open"),
    ("waiting-for-customer", "pending"),
    ("resolved", "solved"),
    ("closed", "closed"),
];

/// Most API keys kept in memory.
const KNOWN_KEYS: usize = 10_000;

/// SHA-256 hex of a secret token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random token with a readable prefix.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    // Without randomness no key can be made safely; the OS source does not fail on Linux.
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    format!("{prefix}_{}", hex::encode(bytes))
}

impl Store {
    /// Create a tenant with the default statuses and a first API key (returned in clear once).
    pub async fn create_tenant(&self, name: &str, timezone: &str) -> Result<(Tenant, String)> {
        let mut tx = self.begin().await?;
        let now = now_ms();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tenants (name, timezone, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(timezone)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for (position, (status, category)) in DEFAULT_STATUSES.iter().enumerate() {
            sqlx::query(
                "INSERT INTO statuses (tenant_id, name, category, position) VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(status)
            .bind(category)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
        }
        let key = new_token("frk");
        sqlx::query(
            "INSERT INTO api_keys (tenant_id, key_hash, prefix, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(id)
        .bind(hash_token(&key))
        .bind(&key[..8])
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((
            Tenant {
                id,
                name: name.to_owned(),
                timezone: timezone.to_owned(),
            },
            key,
        ))
    }

    /// A tenant by id.
    pub async fn tenant(&self, id: i64) -> Result<Option<Tenant>> {
        Ok(
            sqlx::query_as::<_, Tenant>("SELECT id, name, timezone FROM tenants WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// The tenant an API key belongs to.
    ///
    /// Known keys are kept in memory (keys are never changed or revoked today; whatever
    /// revokes one must call [`Store::forget_keys`]), so a request costs no read for its caller.
    pub async fn tenant_by_key(&self, key: &str) -> Result<Option<Tenant>> {
        let hash = hash_token(key);
        if let Some(t) = self
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash)
        {
            return Ok(Some(t.clone()));
        }
        let found = sqlx::query_as::<_, Tenant>(
            "SELECT t.id, t.name, t.timezone FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = ?",
        )
        .bind(&hash)
        .fetch_optional(self.pool())
        .await?;
        if let Some(t) = &found {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            if keys.len() >= KNOWN_KEYS {
                keys.clear();
            }
            keys.insert(hash, t.clone());
        }
        Ok(found)
    }

    /// Forget the keys known in memory.
    pub fn forget_keys(&self) {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The tenant's statuses in order.
    pub async fn statuses(&self, tenant: i64) -> Result<Vec<StatusRow>> {
        Ok(sqlx::query_as::<_, StatusRow>(
            "SELECT name, category FROM statuses WHERE tenant_id = ? ORDER BY position",
        )
        .bind(tenant)
        .fetch_all(self.pool())
        .await?)
    }
}
