//! Webhooks: where a tenant's integration is called, with which events, and the signing secret
//! (sealed). The tenant's subscriptions are cached for the chains that queue notices.

use super::{Result, Store, StoreError, now_ms};
use std::sync::Arc;

/// A webhook as the chain writer fans notices out to it.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Id.
    pub id: i64,
    /// URL.
    pub url: String,
    /// Event types.
    pub events: Vec<String>,
}

impl Subscription {
    /// Whether it wants `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        self.events.iter().any(|e| e == kind)
    }
}

/// A stored webhook.
#[derive(Debug, Clone)]
pub struct WebhookRow {
    /// Id.
    pub id: i64,
    /// URL.
    pub url: String,
    /// Event types.
    pub events: Vec<String>,
    /// Created.
    pub created_at: i64,
}

fn context(tenant: i64, id: i64) -> String {
    format!("webhook/{tenant}/{id}")
}

impl Store {
    /// Add a webhook with its signing secret.
    pub async fn add_webhook(
        &self,
        tenant: i64,
        url: &str,
        events: &[String],
        secret: &str,
    ) -> Result<WebhookRow> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhooks (tenant_id, url, events, secret, created_at) VALUES (?, ?, ?, '', ?) RETURNING id",
        )
        .bind(tenant)
        .bind(url)
        .bind(serde_json::to_string(events)?)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let sealed = self.sealer.seal(secret.as_bytes(), &context(tenant, id));
        sqlx::query("UPDATE webhooks SET secret = ? WHERE id = ?")
            .bind(sealed)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.forget_hooks(tenant);
        Ok(WebhookRow {
            id,
            url: url.into(),
            events: events.to_vec(),
            created_at: now,
        })
    }

    /// The tenant's webhooks.
    pub async fn webhooks(&self, tenant: i64) -> Result<Vec<WebhookRow>> {
        let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT id, url, events, created_at FROM webhooks WHERE tenant_id = ? AND deleted = 0 ORDER BY id",
        )
        .bind(tenant)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(id, url, events, created_at)| {
                Ok(WebhookRow {
                    id,
                    url,
                    events: serde_json::from_str(&events)?,
                    created_at,
                })
            })
            .collect()
    }

    /// One webhook of the tenant.
    pub async fn webhook(&self, tenant: i64, id: i64) -> Result<Option<WebhookRow>> {
        Ok(self
            .webhooks(tenant)
            .await?
            .into_iter()
            .find(|w| w.id == id))
    }

    /// Remove a webhook (calls already queued to it are still made). Whether it existed.
    pub async fn delete_webhook(&self, tenant: i64, id: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE webhooks SET deleted = 1 WHERE tenant_id = ? AND id = ? AND deleted = 0",
        )
        .bind(tenant)
        .bind(id)
        .execute(self.writer())
        .await?;
        self.forget_hooks(tenant);
        Ok(done.rows_affected() == 1)
    }

    /// A webhook's signing secret (also of a deleted one, for calls queued before).
    pub async fn webhook_secret(&self, tenant: i64, id: i64) -> Result<Option<String>> {
        let sealed: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT secret FROM webhooks WHERE tenant_id = ? AND id = ?")
                .bind(tenant)
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let plain = self
            .sealer
            .open(&sealed, &context(tenant, id))
            .map_err(|_| StoreError::Unseal(format!("webhook {id}")))?;
        Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
    }

    /// The tenant's subscriptions, cached until a webhook is added or removed.
    pub async fn subscriptions(&self, tenant: i64) -> Result<Arc<[Subscription]>> {
        if let Some(found) = self.hooks.lock().expect("hooks cache").get(&tenant) {
            return Ok(found.clone());
        }
        let subs: Arc<[Subscription]> = self
            .webhooks(tenant)
            .await?
            .into_iter()
            .map(|w| Subscription {
                id: w.id,
                url: w.url,
                events: w.events,
            })
            .collect();
        self.hooks
            .lock()
            .expect("hooks cache")
            .insert(tenant, subs.clone());
        Ok(subs)
    }

    fn forget_hooks(&self, tenant: i64) {
        self.hooks.lock().expect("hooks cache").remove(&tenant);
    }
}
