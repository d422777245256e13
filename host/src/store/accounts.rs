//! Connected marketplace accounts (Allegro): the device flow while pending, the token pair
//! (sealed; a refresh token is single-use, so the new pair replaces the old in one write), and
//! what each account's sync has read (threads, issues, orders and their tickets).

use super::{Result, Store, now_ms};
use rusqlite::params;
use sqlx::FromRow;

/// An account as stored (no secrets).
#[allow(missing_docs)] // the fields mirror the columns in migrations/sqlite
#[derive(Debug, Clone, FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub tenant_id: i64,
    pub provider: String,
    pub environment: String,
    pub api_base: String,
    pub auth_base: String,
    pub poll_seconds: i64,
    /// `pending`, `connected` or `error`.
    pub state: String,
    pub login: Option<String>,
    pub seller_id: Option<String>,
    pub user_code: Option<String>,
    pub verification_uri: Option<String>,
    pub verification_uri_complete: Option<String>,
    pub device_expires_at: Option<i64>,
    pub device_interval: Option<i64>,
    pub access_expires_at: Option<i64>,
    pub token_revision: i64,
    pub last_sync_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    pub connected_at: Option<i64>,
    pub created_at: i64,
    pub threads_mark: Option<String>,
    pub returns_mark: Option<String>,
    pub imported_messages: i64,
    pub imported_issues: i64,
    pub imported_returns: i64,
    pub api_calls: i64,
}

const COLUMNS: &str = "id, tenant_id, provider, environment, api_base, auth_base, poll_seconds, state, login, \
    seller_id, user_code, verification_uri, verification_uri_complete, device_expires_at, device_interval, \
    access_expires_at, token_revision, last_sync_at, last_error, last_error_at, connected_at, created_at, \
    threads_mark, returns_mark, imported_messages, imported_issues, imported_returns, api_calls";

/// A new account, pending the seller's confirmation of the device code.
#[allow(missing_docs)]
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub tenant_id: i64,
    pub provider: String,
    pub environment: String,
    pub api_base: String,
    pub auth_base: String,
    pub poll_seconds: i64,
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub device_expires_at: i64,
    pub device_interval: i64,
}

/// An account's token pair.
#[derive(Clone)]
pub struct Tokens {
    /// Bearer token for the API.
    pub access: String,
    /// Single-use refresh token.
    pub refresh: String,
    /// When the access token expires (ms).
    pub access_expires_at: i64,
    /// How many rotations the stored pair has seen.
    pub revision: i64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("revision", &self.revision)
            .finish_non_exhaustive()
    }
}

/// What one sync pass imported, added to the account's counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncCounts {
    /// Messages (thread and issue chat messages).
    pub messages: i64,
    /// New issue tickets.
    pub issues: i64,
    /// Returns.
    pub returns: i64,
    /// API calls made.
    pub calls: i64,
}

fn context(id: i64, what: &str) -> String {
    format!("account/{id}/{what}")
}

impl Store {
    /// Store a pending account.
    pub async fn add_account(&self, a: NewAccount) -> Result<AccountRow> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (tenant_id, provider, environment, api_base, auth_base, poll_seconds, state, \
             user_code, verification_uri, verification_uri_complete, device_expires_at, device_interval, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(a.tenant_id)
        .bind(&a.provider)
        .bind(&a.environment)
        .bind(&a.api_base)
        .bind(&a.auth_base)
        .bind(a.poll_seconds)
        .bind(&a.user_code)
        .bind(&a.verification_uri)
        .bind(&a.verification_uri_complete)
        .bind(a.device_expires_at)
        .bind(a.device_interval)
        .bind(now_ms())
        .fetch_one(self.writer())
        .await?;
        // Sealed under the row's id, so a sealed code copied to another row does not open.
        let sealed = self
            .sealer
            .seal(a.device_code.as_bytes(), &context(id, "device"));
        sqlx::query("UPDATE accounts SET device_code = ? WHERE id = ?")
            .bind(sealed)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(self
            .account(a.tenant_id, id)
            .await?
            .expect("the account was just added"))
    }

    /// The tenant's accounts.
    pub async fn accounts(&self, tenant: i64) -> Result<Vec<AccountRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM accounts WHERE tenant_id = ? ORDER BY id"
        )))
        .bind(tenant)
        .fetch_all(self.pool())
        .await?)
    }

    /// One account of the tenant.
    pub async fn account(&self, tenant: i64, id: i64) -> Result<Option<AccountRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM accounts WHERE tenant_id = ? AND id = ?"
        )))
        .bind(tenant)
        .bind(id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The tenant's account with this login (a connected one first).
    pub async fn account_by_login(
        &self,
        tenant: i64,
        provider: &str,
        login: &str,
    ) -> Result<Option<AccountRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM accounts WHERE tenant_id = ? AND provider = ? AND login = ? \
             ORDER BY state = 'connected' DESC, id DESC LIMIT 1"
        )))
        .bind(tenant)
        .bind(provider)
        .bind(login)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Every account a worker should keep: (tenant, id).
    pub async fn all_accounts(&self) -> Result<Vec<(i64, i64)>> {
        Ok(
            sqlx::query_as("SELECT tenant_id, id FROM accounts WHERE state != 'error' ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Disconnect: the account, its tokens and its sync state go (its tickets stay).
    pub async fn delete_account(&self, tenant: i64, id: i64) -> Result<bool> {
        self.group
            .write(move |conn| {
                let gone = conn.execute(
                    "DELETE FROM accounts WHERE tenant_id = ?1 AND id = ?2",
                    params![tenant, id],
                )? > 0;
                if gone {
                    for table in ["allegro_threads", "allegro_issues", "allegro_orders"] {
                        conn.execute(
                            &format!("DELETE FROM {table} WHERE account_id = ?1"),
                            params![id],
                        )?;
                    }
                }
                Ok(gone)
            })
            .await
            .map_err(Into::into)
    }

    /// The pending account's device code.
    pub async fn device_code(&self, id: i64) -> Result<Option<String>> {
        let sealed: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT device_code FROM accounts WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        self.open_text(sealed.flatten(), &context(id, "device"))
    }

    /// Allegro asked to poll more slowly.
    pub async fn set_device_interval(&self, id: i64, seconds: i64) -> Result<()> {
        sqlx::query("UPDATE accounts SET device_interval = ? WHERE id = ?")
            .bind(seconds)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// The seller confirmed: store the first token pair and the login. Another account of the
    /// tenant with the same login is replaced by this one (connecting again after an error).
    pub async fn connect_account(
        &self,
        id: i64,
        login: &str,
        seller_id: Option<&str>,
        tokens: &Tokens,
    ) -> Result<()> {
        let access = self
            .sealer
            .seal(tokens.access.as_bytes(), &context(id, "access"));
        let refresh = self
            .sealer
            .seal(tokens.refresh.as_bytes(), &context(id, "refresh"));
        let (login, seller_id) = (login.to_owned(), seller_id.map(str::to_owned));
        let expires = tokens.access_expires_at;
        self.group
            .write(move |conn| {
                let now = now_ms();
                conn.execute(
                    "UPDATE accounts SET state = 'connected', login = ?1, seller_id = ?2, access_token = ?3, \
                     refresh_token = ?4, access_expires_at = ?5, token_revision = token_revision + 1, \
                     device_code = NULL, user_code = NULL, verification_uri = NULL, verification_uri_complete = NULL, \
                     device_expires_at = NULL, connected_at = ?6, last_error = NULL, last_error_at = NULL WHERE id = ?7",
                    params![login, seller_id, access, refresh, expires, now, id],
                )?;
                let replaced: Vec<i64> = conn
                    .prepare(
                        "SELECT old.id FROM accounts old JOIN accounts new ON new.id = ?1 \
                         WHERE old.tenant_id = new.tenant_id AND old.provider = new.provider \
                         AND old.login = new.login AND old.id != new.id",
                    )?
                    .query_map(params![id], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                for old in replaced {
                    // The new account reads its threads again (imports dedupe), so nothing of
                    // the old one's sync state is needed.
                    conn.execute("DELETE FROM accounts WHERE id = ?1", params![old])?;
                    for table in ["allegro_threads", "allegro_issues", "allegro_orders"] {
                        conn.execute(
                            &format!("DELETE FROM {table} WHERE account_id = ?1"),
                            params![old],
                        )?;
                    }
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// The stored token pair.
    pub async fn account_tokens(&self, id: i64) -> Result<Option<Tokens>> {
        type Row = (Option<Vec<u8>>, Option<Vec<u8>>, Option<i64>, i64);
        let row: Option<Row> = sqlx::query_as(
            "SELECT access_token, refresh_token, access_expires_at, token_revision FROM accounts WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some((access, refresh, expires, revision)) = row else {
            return Ok(None);
        };
        let access = self.open_text(access, &context(id, "access"))?;
        let refresh = self.open_text(refresh, &context(id, "refresh"))?;
        Ok(match (access, refresh) {
            (Some(access), Some(refresh)) => Some(Tokens {
                access,
                refresh,
                access_expires_at: expires.unwrap_or(0),
                revision,
            }),
            _ => None,
        })
    }

    /// Replace the token pair after a refresh: only over the pair it was refreshed from (the
    /// revision), so a stale writer cannot put back a voided refresh token. Whether it was written.
    pub async fn rotate_tokens(
        &self,
        id: i64,
        from_revision: i64,
        tokens: &Tokens,
    ) -> Result<bool> {
        let access = self
            .sealer
            .seal(tokens.access.as_bytes(), &context(id, "access"));
        let refresh = self
            .sealer
            .seal(tokens.refresh.as_bytes(), &context(id, "refresh"));
        let expires = tokens.access_expires_at;
        Ok(self
            .group
            .write(move |conn| {
                Ok(conn.execute(
                    "UPDATE accounts SET access_token = ?1, refresh_token = ?2, access_expires_at = ?3, \
                     token_revision = token_revision + 1 WHERE id = ?4 AND token_revision = ?5",
                    params![access, refresh, expires, id, from_revision],
                )? > 0)
            })
            .await?)
    }

    /// Record an error in words; `state` moves the account (to `error` when a person must act).
    pub async fn account_error(&self, id: i64, state: Option<&str>, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE accounts SET state = COALESCE(?, state), last_error = ?, last_error_at = ? WHERE id = ?",
        )
        .bind(state)
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// A sync pass ended: its counts are added and the moment kept.
    pub async fn account_synced(&self, id: i64, counts: SyncCounts, clean: bool) -> Result<()> {
        sqlx::query(
            "UPDATE accounts SET last_sync_at = ?, imported_messages = imported_messages + ?, \
             imported_issues = imported_issues + ?, imported_returns = imported_returns + ?, \
             api_calls = api_calls + ?, last_error = CASE WHEN ? THEN NULL ELSE last_error END WHERE id = ?",
        )
        .bind(now_ms())
        .bind(counts.messages)
        .bind(counts.issues)
        .bind(counts.returns)
        .bind(counts.calls)
        .bind(clean)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Keep the newest thread change a complete pass saw.
    pub async fn set_threads_mark(&self, id: i64, mark: &str) -> Result<()> {
        sqlx::query("UPDATE accounts SET threads_mark = ? WHERE id = ?")
            .bind(mark)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Keep the newest customer return imported.
    pub async fn set_returns_mark(&self, id: i64, mark: &str) -> Result<()> {
        sqlx::query("UPDATE accounts SET returns_mark = ? WHERE id = ?")
            .bind(mark)
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// A thread's ticket and how far it was read.
    pub async fn allegro_thread(
        &self,
        account: i64,
        thread: &str,
    ) -> Result<Option<(Option<i64>, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT ticket_id, mark FROM allegro_threads WHERE account_id = ? AND thread_id = ?",
        )
        .bind(account)
        .bind(thread)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Keep a thread's ticket and how far it was read.
    pub async fn save_allegro_thread(
        &self,
        account: i64,
        thread: &str,
        ticket: Option<i64>,
        mark: Option<&str>,
    ) -> Result<()> {
        let (thread, mark) = (thread.to_owned(), mark.map(str::to_owned));
        self.group
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO allegro_threads (account_id, thread_id, ticket_id, mark) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (account_id, thread_id) DO UPDATE SET ticket_id = COALESCE(?3, ticket_id), \
                     mark = COALESCE(?4, mark)",
                )?
                .execute(params![account, thread, ticket, mark])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// The thread a ticket speaks in.
    pub async fn thread_of_ticket(&self, account: i64, ticket: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT thread_id FROM allegro_threads WHERE account_id = ? AND ticket_id = ? LIMIT 1",
        )
        .bind(account)
        .bind(ticket)
        .fetch_optional(self.pool())
        .await?)
    }

    /// An issue's ticket, type and how far its chat was read.
    pub async fn allegro_issue(
        &self,
        account: i64,
        issue: &str,
    ) -> Result<Option<(Option<i64>, Option<String>, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT ticket_id, kind, mark FROM allegro_issues WHERE account_id = ? AND issue_id = ?",
        )
        .bind(account)
        .bind(issue)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Keep an issue's ticket, type and chat mark.
    pub async fn save_allegro_issue(
        &self,
        account: i64,
        issue: &str,
        ticket: i64,
        kind: &str,
        mark: &str,
    ) -> Result<()> {
        let (issue, kind, mark) = (issue.to_owned(), kind.to_owned(), mark.to_owned());
        self.group
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO allegro_issues (account_id, issue_id, ticket_id, kind, mark) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (account_id, issue_id) DO UPDATE SET ticket_id = ?3, kind = ?4, mark = ?5",
                )?
                .execute(params![account, issue, ticket, kind, mark])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// The ticket that speaks about an order.
    pub async fn order_ticket(&self, account: i64, order: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT ticket_id FROM allegro_orders WHERE account_id = ? AND order_id = ?",
        )
        .bind(account)
        .bind(order)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Remember which ticket speaks about an order (the first one stays).
    pub async fn link_order(
        &self,
        account: i64,
        order: &str,
        ticket: i64,
        buyer: &str,
    ) -> Result<()> {
        let (order, buyer) = (order.to_owned(), buyer.to_owned());
        self.group
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO allegro_orders (account_id, order_id, ticket_id, buyer) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (account_id, order_id) DO NOTHING",
                )?
                .execute(params![account, order, ticket, buyer])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// The order a ticket speaks about, and its buyer.
    pub async fn order_of_ticket(
        &self,
        account: i64,
        ticket: i64,
    ) -> Result<Option<(String, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT order_id, buyer FROM allegro_orders WHERE account_id = ? AND ticket_id = ? LIMIT 1",
        )
        .bind(account)
        .bind(ticket)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Whether a reply of the ticket is on its way to Allegro (queued, or being sent).
    pub async fn allegro_reply_pending(&self, tenant: i64, ticket: i64) -> Result<bool> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outbox WHERE tenant_id = ? AND ticket_id = ? AND channel = 'allegro' \
             AND state IN ('pending', 'failed')",
        )
        .bind(tenant)
        .bind(ticket)
        .fetch_one(self.pool())
        .await?
            > 0)
    }
}

impl Store {
    /// Whether a channel reported this before (see [`crate::store::ChainWrite::imports`]).
    pub async fn import_known(&self, tenant: i64, key: &str) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT ticket_id FROM imports WHERE tenant_id = ? AND key = ?")
                .bind(tenant)
                .bind(key)
                .fetch_optional(self.pool())
                .await?;
        Ok(found.is_some())
    }

    /// A ticket's channel id (`external_id`).
    pub async fn ticket_external(&self, tenant: i64, ticket: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar::<_, Option<String>>(
            "SELECT external_id FROM tickets WHERE tenant_id = ? AND id = ?",
        )
        .bind(tenant)
        .bind(ticket)
        .fetch_optional(self.pool())
        .await?
        .flatten())
    }

    /// One account by id (for its worker).
    pub async fn account_by_id(&self, id: i64) -> Result<Option<AccountRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM accounts WHERE id = ?"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?)
    }
}
