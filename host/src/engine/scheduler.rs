//! The scheduler: wakes when a ticket is due (a change, or a moment a time condition named as
//! the one its answer may change at), runs the ticket's time rules, and picks up events whose
//! processing was cut off. All its state is in the database, so work that fell due while the
//! server was down is done at start.

use super::Engine;
use crate::store::{DueTicket, Tenant, now_ms};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A stored event: its id and the event.
type StoredEvent = (i64, ferrule_types::Event);

/// Tickets taken per look at the due work.
const BATCH: i64 = 512;
/// Tickets processed at once: enough that their writes share group commits and their plugin
/// work follows back to back in the tenant's lane.
const PARALLEL: usize = 64;
/// An event still unprocessed this long after it was stored was cut off (a failed request
/// or a crash) and is processed by the scheduler.
const ORPHANED_AFTER_MS: i64 = 60_000;
/// How long a ticket whose look failed waits before the next one.
const RETRY_MS: i64 = 30_000;

/// Run the scheduler until the task is dropped. `tick` is the longest it sleeps between looks.
pub async fn run(engine: Arc<Engine>, tick: Duration) {
    let started = now_ms();
    // Events cut off by the previous run of the server.
    recover(&engine, started + 1).await;
    let mut last_recovery = started;
    loop {
        let done = match look(&engine).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "scheduler: looking at due tickets failed");
                0
            }
        };
        if done as i64 == BATCH {
            continue; // more due work waiting
        }
        if now_ms() - last_recovery >= tick.as_millis() as i64 {
            recover(&engine, now_ms() - ORPHANED_AFTER_MS).await;
            last_recovery = now_ms();
        }
        let sleep = match engine.store().next_due().await {
            Ok(Some(at)) => {
                Duration::from_millis((at - now_ms()).clamp(0, tick.as_millis() as i64) as u64)
            }
            Ok(None) => tick,
            Err(e) => {
                tracing::error!(error = %e, "scheduler: reading the next due time failed");
                tick
            }
        };
        if sleep.is_zero() && done == 0 {
            // Due tickets we could not take (failed just now): don't spin.
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = engine.wake.notified() => {
                // Let a burst of changes gather into one batch.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Process the tickets due now; returns how many were taken.
async fn look(engine: &Arc<Engine>) -> Result<usize, super::EngineError> {
    let now = now_ms();
    let due = engine.store().due_tickets(now, BATCH).await?;
    let taken = due.len();
    let mut tenants: HashMap<i64, Option<Tenant>> = HashMap::new();
    let mut work = Vec::with_capacity(due.len());
    for DueTicket {
        tenant_id,
        ticket_id,
    } in due
    {
        if let std::collections::hash_map::Entry::Vacant(slot) = tenants.entry(tenant_id) {
            slot.insert(engine.store().tenant(tenant_id).await?);
        }
        if let Some(Some(t)) = tenants.get(&tenant_id) {
            work.push((t.clone(), ticket_id));
        }
    }
    // Tickets of tenants without time rules have nothing to look at: cleared in one statement
    // (a new time rule makes every open ticket of its tenant due again).
    let mut idle = Vec::new();
    let mut busy = Vec::with_capacity(work.len());
    for (tenant, ticket) in work {
        if engine.has_time_rules(&tenant).await? {
            busy.push((tenant, ticket));
        } else {
            idle.push(ticket);
        }
    }
    engine.store().clear_due(&idle, now).await?;
    let work = busy;
    let mut set = tokio::task::JoinSet::new();
    let mut work = work.into_iter();
    loop {
        while set.len() < PARALLEL {
            let Some((tenant, ticket)) = work.next() else {
                break;
            };
            let engine = engine.clone();
            set.spawn(async move {
                if let Err(e) = engine.run_due(&tenant, ticket).await {
                    tracing::warn!(ticket, error = %e, "scheduler: time rules of a ticket failed; retrying later");
                    let _ = engine.store().postpone_due(ticket, now_ms() + RETRY_MS).await;
                }
            });
        }
        if set.join_next().await.is_none() {
            break;
        }
    }
    Ok(taken)
}

/// Process events stored before `before` that are still unprocessed.
async fn recover(engine: &Arc<Engine>, before: i64) {
    let pending = match engine.store().pending_events(before, 10_000).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "scheduler: reading pending events failed");
            return;
        }
    };
    if pending.is_empty() {
        return;
    }
    tracing::info!(
        events = pending.len(),
        "processing events whose processing was cut off"
    );
    // Group by ticket, keeping the order of the tickets and of their events.
    let mut order: Vec<(i64, i64)> = Vec::new();
    let mut groups: HashMap<(i64, i64), Vec<StoredEvent>> = HashMap::new();
    for row in pending {
        let key = (row.tenant_id, row.ticket_id);
        let Some(event) = row.event() else { continue };
        groups
            .entry(key)
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push((row.id, event));
    }
    for key in order {
        let ((tenant_id, ticket_id), events) = (key, groups.remove(&key).unwrap_or_default());
        let tenant = match engine.store().tenant(tenant_id).await {
            Ok(Some(t)) => t,
            _ => continue,
        };
        if let Err(e) = engine.dispatch(&tenant, ticket_id, events).await {
            tracing::warn!(ticket = ticket_id, error = %e, "processing a cut-off event failed");
        }
    }
}
