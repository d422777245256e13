//! Agents and inboxes.

use super::{Result, Store, now_ms};
use ferrule_types::Calendar;
use sqlx::FromRow;

/// A stored agent.
#[derive(Debug, Clone, FromRow)]
pub struct AgentRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Working hours (calendar JSON).
    pub working_hours: Option<String>,
}

/// A stored inbox.
#[derive(Debug, Clone, FromRow)]
pub struct InboxRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Group.
    pub grp: Option<String>,
    /// Working hours (calendar JSON).
    pub working_hours: Option<String>,
    /// Category of new tickets that have none.
    pub default_category: Option<String>,
    /// Priority of new tickets that have none.
    pub default_priority: Option<String>,
}

/// A new agent.
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Working hours.
    pub working_hours: Option<Calendar>,
}

/// A new inbox.
#[derive(Debug, Clone)]
pub struct NewInbox {
    /// Name.
    pub name: String,
    /// Group.
    pub group: Option<String>,
    /// Working hours.
    pub working_hours: Option<Calendar>,
    /// Category of new tickets that have none.
    pub default_category: Option<String>,
    /// Priority of new tickets that have none.
    pub default_priority: Option<String>,
}

/// Changes to an inbox's fields (None: unchanged; `Some(None)`: cleared).
#[derive(Debug, Clone, Default)]
pub struct InboxChanges {
    /// Name.
    pub name: Option<String>,
    /// Group.
    pub group: Option<Option<String>>,
    /// Working hours.
    pub working_hours: Option<Option<Calendar>>,
    /// Category of new tickets that have none.
    pub default_category: Option<Option<String>>,
    /// Priority of new tickets that have none.
    pub default_priority: Option<Option<String>>,
}

fn calendar_json(c: &Option<Calendar>) -> Result<Option<String>> {
    Ok(match c {
        Some(c) => Some(serde_json::to_string(c)?),
        None => None,
    })
}

impl Store {
    /// Add an agent.
    pub async fn create_agent(&self, tenant: i64, a: &NewAgent) -> Result<AgentRow> {
        let hours = calendar_json(&a.working_hours)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO agents (tenant_id, name, email, phone, working_hours, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(tenant)
        .bind(&a.name)
        .bind(&a.email)
        .bind(&a.phone)
        .bind(&hours)
        .bind(now_ms())
        .fetch_one(self.writer())
        .await?;
        Ok(AgentRow {
            id,
            name: a.name.clone(),
            email: a.email.clone(),
            phone: a.phone.clone(),
            working_hours: hours,
        })
    }

    /// The tenant's agents.
    pub async fn agents(&self, tenant: i64) -> Result<Vec<AgentRow>> {
        Ok(sqlx::query_as("SELECT id, name, email, phone, working_hours FROM agents WHERE tenant_id = ? AND removed_at IS NULL ORDER BY id")
            .bind(tenant)
            .fetch_all(self.pool())
            .await?)
    }

    /// One agent of the tenant.
    pub async fn agent(&self, tenant: i64, id: i64) -> Result<Option<AgentRow>> {
        Ok(sqlx::query_as("SELECT id, name, email, phone, working_hours FROM agents WHERE tenant_id = ? AND id = ? AND removed_at IS NULL")
            .bind(tenant)
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Remove an agent from the directory (the row stays for history); whether it was there.
    pub async fn remove_agent(&self, tenant: i64, id: i64) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE agents SET removed_at = ? WHERE tenant_id = ? AND id = ? AND removed_at IS NULL",
        )
        .bind(super::now_ms())
        .bind(tenant)
        .bind(id)
        .execute(self.writer())
        .await?
        .rows_affected()
            > 0)
    }

    /// Add an inbox.
    pub async fn create_inbox(&self, tenant: i64, i: &NewInbox) -> Result<InboxRow> {
        let hours = calendar_json(&i.working_hours)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO inboxes (tenant_id, name, grp, working_hours, default_category, default_priority, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(tenant)
        .bind(&i.name)
        .bind(&i.group)
        .bind(&hours)
        .bind(&i.default_category)
        .bind(&i.default_priority)
        .bind(now_ms())
        .fetch_one(self.writer())
        .await?;
        Ok(InboxRow {
            id,
            name: i.name.clone(),
            grp: i.group.clone(),
            working_hours: hours,
            default_category: i.default_category.clone(),
            default_priority: i.default_priority.clone(),
        })
    }

    /// The tenant's inboxes.
    pub async fn inboxes(&self, tenant: i64) -> Result<Vec<InboxRow>> {
        Ok(sqlx::query_as(
            "SELECT id, name, grp, working_hours, default_category, default_priority FROM inboxes WHERE tenant_id = ? ORDER BY id",
        )
        .bind(tenant)
        .fetch_all(self.pool())
        .await?)
    }

    /// Change an inbox's fields. Whether it exists.
    pub async fn update_inbox(&self, tenant: i64, id: i64, c: &InboxChanges) -> Result<bool> {
        let hours = match &c.working_hours {
            Some(h) => Some(calendar_json(h)?),
            None => None,
        };
        let (name, group, default_category, default_priority) = (
            c.name.as_deref(),
            c.group.as_ref().map(|g| g.as_deref()),
            c.default_category.as_ref().map(|g| g.as_deref()),
            c.default_priority.as_ref().map(|g| g.as_deref()),
        );
        let done = sqlx::query(
            "UPDATE inboxes SET name = COALESCE(?, name), \
             grp = CASE WHEN ? THEN ? ELSE grp END, \
             working_hours = CASE WHEN ? THEN ? ELSE working_hours END, \
             default_category = CASE WHEN ? THEN ? ELSE default_category END, \
             default_priority = CASE WHEN ? THEN ? ELSE default_priority END \
             WHERE tenant_id = ? AND id = ?",
        )
        .bind(name)
        .bind(group.is_some())
        .bind(group.flatten())
        .bind(hours.is_some())
        .bind(hours.flatten())
        .bind(default_category.is_some())
        .bind(default_category.flatten())
        .bind(default_priority.is_some())
        .bind(default_priority.flatten())
        .bind(tenant)
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One inbox of the tenant.
    pub async fn inbox(&self, tenant: i64, id: i64) -> Result<Option<InboxRow>> {
        Ok(sqlx::query_as(
            "SELECT id, name, grp, working_hours, default_category, default_priority FROM inboxes WHERE tenant_id = ? AND id = ?",
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(self.pool())
        .await?)
    }
}
