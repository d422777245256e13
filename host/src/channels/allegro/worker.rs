//! One worker per account: while pending it polls for the seller's confirmation of the device
//! code (honouring `interval` and `slow_down`); once connected it runs a sync pass every
//! `poll_seconds`. A failed pass is recorded in words and tried again; an account a person
//! must connect again (code expired, refused, refresh token refused) is left in `error`.

use super::oauth::Poll;
use super::sync::Pass;
use super::{Allegro, Failure, PUBLIC, shapes};
use crate::engine::Engine;
use crate::store::{AccountRow, now_ms};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Why an account whose device code ran out is in `error`.
const EXPIRED: &str =
    "the code expired before the seller confirmed it on Allegro; connect again (POST /accounts)";

/// Keep one worker per account that is pending or connected.
pub async fn run(engine: Arc<Engine>, allegro: Arc<Allegro>) {
    let store = engine.store().clone();
    let mut workers: HashMap<i64, tokio::task::JoinHandle<()>> = HashMap::new();
    loop {
        let woken = allegro.wake.notified();
        match store.all_accounts().await {
            Ok(wanted) => {
                let ids: Vec<i64> = wanted.iter().map(|(_, id)| *id).collect();
                workers.retain(|id, handle| {
                    let keep = ids.contains(id) && !handle.is_finished();
                    if !keep {
                        handle.abort();
                        allegro.forget(*id);
                    }
                    keep
                });
                for (_, id) in wanted {
                    workers.entry(id).or_insert_with(|| {
                        tokio::spawn(worker(engine.clone(), allegro.clone(), id))
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list the Allegro accounts"),
        }
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}

async fn worker(engine: Arc<Engine>, allegro: Arc<Allegro>, id: i64) {
    let store = engine.store().clone();
    let mut failures: u32 = 0;
    loop {
        let account = match store.account_by_id(id).await {
            Ok(Some(a)) => a,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(account = id, error = %e, "cannot read the account");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        let wait = match account.state.as_str() {
            "pending" => match confirm(&engine, &allegro, &account).await {
                Some(wait) => wait,
                None => continue,
            },
            "connected" => {
                let clean = sync(&engine, &allegro, &account).await;
                failures = if clean { 0 } else { failures + 1 };
                // A failing account is read less often, up to ten times its interval.
                let base = account.poll_seconds.max(1) as u64;
                Duration::from_secs(base * u64::from(1 + failures.min(9)))
            }
            _ => return,
        };
        tokio::time::sleep(wait).await;
    }
}

/// Poll once for the seller's confirmation: how long to wait before the next look (None: at
/// once, the state changed).
async fn confirm(engine: &Engine, allegro: &Allegro, account: &AccountRow) -> Option<Duration> {
    let store = engine.store();
    let interval = account.device_interval.unwrap_or(5).max(1);
    // A little over the interval: a poll that arrives early is answered slow_down.
    let wait = Duration::from_secs(interval as u64) + Duration::from_millis(250);
    if account.device_expires_at.is_some_and(|at| at <= now_ms()) {
        let _ = store
            .account_error(account.id, Some("error"), EXPIRED)
            .await;
        return None;
    }
    let code = match store.device_code(account.id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let _ = store
                .account_error(
                    account.id,
                    Some("error"),
                    "the device code is missing; connect again (POST /accounts)",
                )
                .await;
            return None;
        }
        Err(e) => {
            tracing::warn!(account = account.id, error = %e, "cannot read the device code");
            return Some(wait);
        }
    };
    match allegro.poll_device(&account.auth_base, &code).await {
        Poll::Pending => Some(wait),
        Poll::SlowDown => {
            // RFC 8628: every slow_down adds five seconds to the interval.
            let slower = interval + 5;
            let _ = store.set_device_interval(account.id, slower).await;
            Some(Duration::from_secs(slower as u64))
        }
        Poll::Denied => {
            let _ = store
                .account_error(
                    account.id,
                    Some("error"),
                    "the seller refused access on Allegro; connect again (POST /accounts)",
                )
                .await;
            None
        }
        Poll::Expired => {
            let _ = store
                .account_error(account.id, Some("error"), EXPIRED)
                .await;
            None
        }
        Poll::Failed(words) => {
            let _ = store.account_error(account.id, None, &words).await;
            Some(wait)
        }
        Poll::Granted(tokens) => {
            // Who the seller is: GET /me with the new token.
            // The pair is used from memory until it is stored with the login.
            let mut calls = 0;
            allegro.remember(account.id, tokens.clone());
            let me: Result<shapes::Me, Failure> =
                allegro.get(account, "/me", PUBLIC, &mut calls).await;
            match me {
                Ok(me) => {
                    if let Err(e) = store
                        .connect_account(account.id, &me.login, Some(&me.id), &tokens)
                        .await
                    {
                        tracing::warn!(account = account.id, error = %e, "cannot store the account's tokens");
                    }
                    allegro.forget(account.id);
                    tracing::info!(account = account.id, login = %me.login, "allegro account connected");
                    allegro.wake.notify_one();
                    None
                }
                Err(e) => {
                    // The tokens are not stored yet: without the login the account is not
                    // usable, and the code was spent. The seller connects again.
                    allegro.forget(account.id);
                    let words = format!(
                        "the seller confirmed, but GET /me failed: {}; connect again (POST /accounts)",
                        e.message()
                    );
                    let _ = store.account_error(account.id, Some("error"), &words).await;
                    None
                }
            }
        }
    }
}

/// One sync pass, its outcome recorded; whether it was clean.
async fn sync(engine: &Engine, allegro: &Allegro, account: &AccountRow) -> bool {
    let store = engine.store();
    let tenant = match store.tenant(account.tenant_id).await {
        Ok(Some(t)) => t,
        _ => return false,
    };
    let pass = Pass {
        engine,
        allegro,
        tenant: &tenant,
        account,
    };
    let (counts, errors) = pass.run().await;
    let clean = errors.is_empty();
    if let Some(first) = errors.first() {
        tracing::info!(account = account.id, error = %first.message(), "allegro sync");
        let state = matches!(first, Failure::Account(_)).then_some("error");
        let _ = store
            .account_error(account.id, state, first.message())
            .await;
    }
    if let Err(e) = store.account_synced(account.id, counts, clean).await {
        tracing::warn!(account = account.id, error = %e, "cannot record the sync");
    }
    clean
}
