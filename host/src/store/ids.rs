//! Ticket ids and numbers handed out in memory, so a new ticket's rules can run before anything
//! is written and the ticket, its messages, events and run records go to the database in one
//! write. The first use reads where the database is; a write that finds an id taken
//! ([`WriteError::IdTaken`](super::WriteError::IdTaken), e.g. another process wrote the file)
//! makes the allocator read it again.

use super::{Result, Store};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub(super) struct Ids {
    inner: Mutex<IdState>,
}

#[derive(Debug, Default)]
struct IdState {
    /// The next ticket id; 0 when it is to be read from the database.
    next_ticket: i64,
    /// Each tenant's next ticket number.
    numbers: HashMap<i64, i64>,
}

impl Store {
    /// A fresh id and the tenant's next number for a ticket about to be created.
    pub async fn allocate_ticket(&self, tenant: i64) -> Result<(i64, i64)> {
        let known = {
            let mut s = self.ids.inner.lock().unwrap_or_else(|e| e.into_inner());
            let known = s.next_ticket > 0 && s.numbers.contains_key(&tenant);
            if known {
                let id = s.next_ticket;
                s.next_ticket += 1;
                let number = s.numbers.get_mut(&tenant).expect("checked above");
                let n = *number;
                *number += 1;
                return Ok((id, n));
            }
            known
        };
        debug_assert!(!known);
        let max_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM tickets")
            .fetch_one(self.pool())
            .await?;
        let next_number: i64 = sqlx::query_scalar(
            "SELECT MAX(t.next_number, COALESCE((SELECT MAX(number) + 1 FROM tickets WHERE tenant_id = t.id), 1)) \
             FROM tenants t WHERE t.id = ?",
        )
        .bind(tenant)
        .fetch_optional(self.pool())
        .await?
        .unwrap_or(1);
        let mut s = self.ids.inner.lock().unwrap_or_else(|e| e.into_inner());
        let id = s.next_ticket.max(max_id + 1);
        s.next_ticket = id + 1;
        let number = s.numbers.entry(tenant).or_insert(next_number);
        let n = (*number).max(next_number);
        *number = n + 1;
        Ok((id, n))
    }

    /// Forget what the allocator knows; the next allocation reads the database again.
    pub fn reset_ids(&self) {
        let mut s = self.ids.inner.lock().unwrap_or_else(|e| e.into_inner());
        s.next_ticket = 0;
        s.numbers.clear();
    }
}
