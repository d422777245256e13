//! Channel settings: an inbox's e-mail account (sealed passwords), the tenant's default SMTP and
//! SMS gateway, the mailbox worker's progress, and the lookups that thread mail to tickets.

use super::{Result, Store, StoreError, now_ms};
use crate::domain::channels::{Email, Sms, Smtp};
use rusqlite::params;

/// An inbox's e-mail settings with its opened passwords.
#[derive(Debug, Clone)]
pub struct InboxEmail {
    /// The tenant.
    pub tenant_id: i64,
    /// The inbox.
    pub inbox_id: i64,
    /// Settings.
    pub email: Email,
    /// IMAP password.
    pub imap_password: Option<String>,
    /// SMTP password.
    pub smtp_password: Option<String>,
    /// Bumped by every change.
    pub revision: i64,
}

/// The tenant's channel settings with opened secrets.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Default SMTP server.
    pub smtp: Option<Smtp>,
    /// Its password.
    pub smtp_password: Option<String>,
    /// SMS gateway.
    pub sms: Option<Sms>,
    /// Its token.
    pub sms_token: Option<String>,
}

/// What a mailbox worker has done.
#[allow(missing_docs)] // the fields mirror the columns in migrations/sqlite
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct MailboxState {
    pub uid_validity: Option<i64>,
    pub last_uid: i64,
    pub state: String,
    pub last_poll_at: Option<i64>,
    pub last_error: Option<String>,
    pub imported: i64,
    pub refused: i64,
}

/// A password change of a write-only secret.
#[derive(Debug, Clone)]
pub enum Secret {
    /// Keep what is stored.
    Keep,
    /// Set (None: remove).
    Set(Option<String>),
}

impl Store {
    fn seal_text(&self, plain: Option<&str>, context: &str) -> Option<Vec<u8>> {
        plain.map(|p| self.sealer.seal(p.as_bytes(), context))
    }

    pub(super) fn open_text(
        &self,
        sealed: Option<Vec<u8>>,
        context: &str,
    ) -> Result<Option<String>> {
        match sealed {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => {
                let plain = self
                    .sealer
                    .open(&s, context)
                    .map_err(|_| StoreError::Unseal(context.into()))?;
                Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
            }
        }
    }

    /// Set or clear an inbox's e-mail settings; passwords change only as told.
    pub async fn set_inbox_email(
        &self,
        tenant: i64,
        inbox: i64,
        email: Option<&Email>,
        imap_password: Secret,
        smtp_password: Secret,
    ) -> Result<()> {
        let text = email.map(serde_json::to_string).transpose()?;
        let imap = match imap_password {
            Secret::Keep => None,
            Secret::Set(p) => {
                Some(self.seal_text(p.as_deref(), &format!("inbox/{tenant}/{inbox}/imap")))
            }
        };
        let smtp = match smtp_password {
            Secret::Keep => None,
            Secret::Set(p) => {
                Some(self.seal_text(p.as_deref(), &format!("inbox/{tenant}/{inbox}/smtp")))
            }
        };
        sqlx::query(
            "UPDATE inboxes SET email = ?, email_revision = email_revision + 1, \
             imap_password = CASE WHEN ? THEN ? ELSE imap_password END, \
             smtp_password = CASE WHEN ? THEN ? ELSE smtp_password END WHERE tenant_id = ? AND id = ?",
        )
        .bind(text)
        .bind(imap.is_some())
        .bind(imap.flatten())
        .bind(smtp.is_some())
        .bind(smtp.flatten())
        .bind(tenant)
        .bind(inbox)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// An inbox's e-mail settings, None when it has none.
    pub async fn inbox_email(&self, tenant: i64, inbox: i64) -> Result<Option<InboxEmail>> {
        type Row = (Option<String>, Option<Vec<u8>>, Option<Vec<u8>>, i64);
        let row: Option<Row> = sqlx::query_as(
            "SELECT email, imap_password, smtp_password, email_revision FROM inboxes WHERE tenant_id = ? AND id = ?",
        )
        .bind(tenant)
        .bind(inbox)
        .fetch_optional(self.pool())
        .await?;
        let Some((Some(text), imap, smtp, revision)) = row else {
            return Ok(None);
        };
        Ok(Some(InboxEmail {
            tenant_id: tenant,
            inbox_id: inbox,
            email: serde_json::from_str(&text)?,
            imap_password: self.open_text(imap, &format!("inbox/{tenant}/{inbox}/imap"))?,
            smtp_password: self.open_text(smtp, &format!("inbox/{tenant}/{inbox}/smtp"))?,
            revision,
        }))
    }

    /// Every inbox with a mailbox to read: (tenant, inbox, settings revision).
    pub async fn mailboxes(&self) -> Result<Vec<(i64, i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT tenant_id, id, email_revision FROM inboxes \
             WHERE email IS NOT NULL AND json_extract(email, '$.imap') IS NOT NULL ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// The mailbox worker's state of an inbox.
    pub async fn mailbox_state(&self, inbox: i64) -> Result<Option<MailboxState>> {
        Ok(sqlx::query_as(
            "SELECT uid_validity, last_uid, state, last_poll_at, last_error, imported, refused \
             FROM mailboxes WHERE inbox_id = ?",
        )
        .bind(inbox)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Record the mailbox worker's progress: state, error, the last UID read (under
    /// `uid_validity`), and how many mails it imported and refused on top.
    #[allow(clippy::too_many_arguments)]
    pub async fn save_mailbox(
        &self,
        inbox: i64,
        state: &str,
        error: Option<String>,
        uid_validity: Option<u32>,
        last_uid: Option<u32>,
        imported: i64,
        refused: i64,
    ) -> Result<()> {
        let state = state.to_owned();
        self.group
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO mailboxes (inbox_id, uid_validity, last_uid, state, last_poll_at, last_error, imported, refused) \
                     VALUES (?1, ?2, COALESCE(?3, 0), ?4, ?5, ?6, ?7, ?8) ON CONFLICT (inbox_id) DO UPDATE SET \
                     uid_validity = COALESCE(?2, uid_validity), last_uid = COALESCE(?3, last_uid), state = ?4, \
                     last_poll_at = ?5, last_error = ?6, imported = imported + ?7, refused = refused + ?8",
                )?
                .execute(params![inbox, uid_validity, last_uid, state, now_ms(), error, imported, refused])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Keep why a mail was not imported.
    pub async fn refuse_mail(
        &self,
        inbox: i64,
        uid: u32,
        message_id: Option<String>,
        reason: String,
    ) -> Result<()> {
        self.group
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO mail_refusals (inbox_id, uid, message_id, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![inbox, uid, message_id, reason, now_ms()])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// The mails an inbox refused, newest first: (uid, message id, reason, when).
    pub async fn mail_refusals(
        &self,
        inbox: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Option<String>, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT uid, message_id, reason, created_at FROM mail_refusals WHERE inbox_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(inbox)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// The ticket a mail answers: the ticket of any of `ids` (Message-IDs it replies to: a
    /// customer's earlier mail, or a reply ferrule sent), latest first.
    pub async fn thread_of(&self, tenant: i64, ids: &[String]) -> Result<Option<i64>> {
        for id in ids.iter().rev() {
            let found: Option<i64> = sqlx::query_scalar(
                "SELECT ticket_id FROM messages WHERE tenant_id = ? AND source = 'email' AND external_id = ? \
                 UNION ALL SELECT ticket_id FROM outbox WHERE tenant_id = ? AND message_id = ? LIMIT 1",
            )
            .bind(tenant)
            .bind(id)
            .bind(tenant)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// A ticket's id by its number.
    pub async fn ticket_by_number(&self, tenant: i64, number: i64) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM tickets WHERE tenant_id = ? AND number = ?")
                .bind(tenant)
                .bind(number)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// A ticket by its channel id.
    pub async fn ticket_by_external(
        &self,
        tenant: i64,
        source: &str,
        external_id: &str,
    ) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM tickets WHERE tenant_id = ? AND source = ? AND external_id = ?",
        )
        .bind(tenant)
        .bind(source)
        .bind(external_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// A message by its channel id: (ticket, message).
    pub async fn message_by_external(
        &self,
        tenant: i64,
        source: &str,
        external_id: &str,
    ) -> Result<Option<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT ticket_id, id FROM messages WHERE tenant_id = ? AND source = ? AND external_id = ?",
        )
        .bind(tenant)
        .bind(source)
        .bind(external_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// A message's channel id, CC, and whether it is an automatic mail (for a reply to it).
    pub async fn message_mail(&self, id: i64) -> Result<(Option<String>, Vec<String>, bool)> {
        let row: Option<(Option<String>, Option<String>, bool)> =
            sqlx::query_as("SELECT external_id, cc, auto_generated FROM messages WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        let (external, cc, auto) = row.unwrap_or_default();
        let cc = cc
            .and_then(|c| serde_json::from_str(&c).ok())
            .unwrap_or_default();
        Ok((external, cc, auto))
    }

    /// The tenant's channel settings.
    pub async fn settings(&self, tenant: i64) -> Result<Settings> {
        type Row = (
            Option<String>,
            Option<Vec<u8>>,
            Option<String>,
            Option<Vec<u8>>,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT smtp, smtp_password, sms, sms_token FROM settings WHERE tenant_id = ?",
        )
        .bind(tenant)
        .fetch_optional(self.pool())
        .await?;
        let Some((smtp, smtp_password, sms, sms_token)) = row else {
            return Ok(Settings::default());
        };
        Ok(Settings {
            smtp: smtp.map(|s| serde_json::from_str(&s)).transpose()?,
            smtp_password: self.open_text(smtp_password, &format!("settings/{tenant}/smtp"))?,
            sms: sms.map(|s| serde_json::from_str(&s)).transpose()?,
            sms_token: self.open_text(sms_token, &format!("settings/{tenant}/sms"))?,
        })
    }

    /// Replace the tenant's channel settings; secrets change only as told.
    pub async fn put_settings(
        &self,
        tenant: i64,
        smtp: Option<&Smtp>,
        smtp_password: Secret,
        sms: Option<&Sms>,
        sms_token: Secret,
    ) -> Result<()> {
        let old = self.settings(tenant).await?;
        let smtp_password = match smtp_password {
            Secret::Keep => old.smtp_password.filter(|_| smtp.is_some()),
            Secret::Set(p) => p,
        };
        let sms_token = match sms_token {
            Secret::Keep => old.sms_token.filter(|_| sms.is_some()),
            Secret::Set(p) => p,
        };
        sqlx::query(
            "INSERT INTO settings (tenant_id, smtp, smtp_password, sms, sms_token, updated_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (tenant_id) DO UPDATE SET smtp = excluded.smtp, smtp_password = excluded.smtp_password, \
             sms = excluded.sms, sms_token = excluded.sms_token, updated_at = excluded.updated_at",
        )
        .bind(tenant)
        .bind(smtp.map(serde_json::to_string).transpose()?)
        .bind(self.seal_text(smtp_password.as_deref(), &format!("settings/{tenant}/smtp")))
        .bind(sms.map(serde_json::to_string).transpose()?)
        .bind(self.seal_text(sms_token.as_deref(), &format!("settings/{tenant}/sms")))
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

impl Store {
    /// The channel ids of a ticket's messages and of the mails ferrule sent on it, oldest first
    /// (a reply's `References`).
    pub async fn thread_ids(&self, tenant: i64, ticket: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            // `+` keeps SQLite on the ticket indexes: by the tenant's external-id and
            // message-id indexes it scanned every mail of the tenant for each delivery.
            "SELECT id FROM (SELECT external_id AS id, created_at AS at FROM messages \
             WHERE +tenant_id = ? AND ticket_id = ? AND +external_id IS NOT NULL \
             UNION ALL SELECT message_id, created_at FROM outbox WHERE tenant_id = ? AND ticket_id = ? \
             AND channel = 'smtp' AND kind = 'reply' AND state = 'sent' AND +message_id IS NOT NULL) \
             ORDER BY at LIMIT 20",
        )
        .bind(tenant)
        .bind(ticket)
        .bind(tenant)
        .bind(ticket)
        .fetch_all(self.pool())
        .await?)
    }
}
