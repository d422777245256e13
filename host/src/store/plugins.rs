//! Vendors, their signing keys, and uploaded plugins (content-addressed component bytes).

use super::{Result, Store, hash_token, new_token, now_ms};
use sqlx::FromRow;

/// A vendor account.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct Vendor {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A registered Ed25519 public key of a vendor.
#[derive(Debug, Clone, FromRow)]
pub struct VendorKey {
    /// Id.
    pub id: i64,
    /// Owner.
    pub vendor_id: i64,
    /// The 32 key bytes.
    pub public_key: Vec<u8>,
    /// When registered (ms).
    pub created_at: i64,
}

/// One stored plugin version.
#[derive(Debug, Clone, FromRow)]
pub struct PluginRow {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// SHA-256 of the bytes (hex).
    pub sha256: String,
    /// `condition` or `action`.
    pub kind: String,
    /// describe()'s answer as JSON.
    pub description: String,
    /// The uploading vendor (None: the operator).
    pub vendor_id: Option<i64>,
    /// The vendor key whose signature was verified.
    pub signed_by_key: Option<i64>,
    /// When uploaded (ms).
    pub uploaded_at: i64,
}

/// What saving an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// A new name@version.
    Created,
    /// The same name@version with the same bytes existed already.
    Unchanged,
    /// The name@version exists with other bytes.
    Conflict,
}

const PLUGIN_COLUMNS: &str =
    "name, version, sha256, kind, description, vendor_id, signed_by_key, uploaded_at";

impl Store {
    /// Create a vendor and its API key (returned in clear once).
    pub async fn create_vendor(&self, name: &str) -> Result<(Vendor, String)> {
        let key = new_token("frv");
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO vendors (name, key_hash, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(hash_token(&key))
        .bind(now_ms())
        .fetch_one(self.writer())
        .await?;
        Ok((
            Vendor {
                id,
                name: name.to_owned(),
            },
            key,
        ))
    }

    /// The vendor an API key belongs to.
    pub async fn vendor_by_key(&self, key: &str) -> Result<Option<Vendor>> {
        Ok(
            sqlx::query_as::<_, Vendor>("SELECT id, name FROM vendors WHERE key_hash = ?")
                .bind(hash_token(key))
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// A vendor by id.
    pub async fn vendor(&self, id: i64) -> Result<Option<Vendor>> {
        Ok(
            sqlx::query_as::<_, Vendor>("SELECT id, name FROM vendors WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Register a public key; None when the key is registered already (by anyone).
    pub async fn add_vendor_key(
        &self,
        vendor: i64,
        public_key: &[u8],
    ) -> Result<Option<VendorKey>> {
        let now = now_ms();
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO vendor_keys (vendor_id, public_key, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (public_key) DO NOTHING RETURNING id",
        )
        .bind(vendor)
        .bind(public_key)
        .bind(now)
        .fetch_optional(self.writer())
        .await?;
        Ok(id.map(|id| VendorKey {
            id,
            vendor_id: vendor,
            public_key: public_key.to_vec(),
            created_at: now,
        }))
    }

    /// A vendor's keys (all vendors' when None), oldest first.
    pub async fn vendor_keys(&self, vendor: Option<i64>) -> Result<Vec<VendorKey>> {
        Ok(sqlx::query_as::<_, VendorKey>(
            "SELECT id, vendor_id, public_key, created_at FROM vendor_keys \
             WHERE ? IS NULL OR vendor_id = ? ORDER BY id",
        )
        .bind(vendor)
        .bind(vendor)
        .fetch_all(self.pool())
        .await?)
    }

    /// Store an upload: the bytes once per SHA-256, the name@version row once.
    pub async fn save_plugin(&self, row: &PluginRow, bytes: &[u8]) -> Result<Saved> {
        let mut tx = self.begin().await?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT sha256 FROM plugins WHERE name = ? AND version = ?")
                .bind(&row.name)
                .bind(&row.version)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(sha256) = existing {
            return Ok(if sha256 == row.sha256 {
                Saved::Unchanged
            } else {
                Saved::Conflict
            });
        }
        sqlx::query(
            "INSERT INTO plugin_blobs (sha256, bytes) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&row.sha256)
        .bind(bytes)
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO plugins ({PLUGIN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )))
        .bind(&row.name)
        .bind(&row.version)
        .bind(&row.sha256)
        .bind(&row.kind)
        .bind(&row.description)
        .bind(row.vendor_id)
        .bind(row.signed_by_key)
        .bind(row.uploaded_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Saved::Created)
    }

    /// Every stored plugin version.
    pub async fn plugin_rows(&self) -> Result<Vec<PluginRow>> {
        Ok(sqlx::query_as::<_, PluginRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {PLUGIN_COLUMNS} FROM plugins ORDER BY name, uploaded_at"
        )))
        .fetch_all(self.pool())
        .await?)
    }

    /// The bytes with this SHA-256.
    pub async fn plugin_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT bytes FROM plugin_blobs WHERE sha256 = ?")
                .bind(sha256)
                .fetch_optional(self.pool())
                .await?,
        )
    }
}
