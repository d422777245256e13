//! Allegro connected accounts: the OAuth device flow ([`oauth`]), a worker per account that
//! imports message-center threads, post-purchase issues and customer returns ([`sync`],
//! [`worker`]), and replies sent back into the same threads ([`reply`]).
//!
//! Every API call goes through [`Allegro::call`]: the client id's per-minute budget is kept
//! (a sliding window, shared by every account), a 429 pauses every call, an expired access
//! token is refreshed once under the account's lock (refresh tokens are single-use), and an
//! answer that is not the documented shape is an error in words, never a panic.

pub mod oauth;
pub mod reply;
pub mod shapes;
pub mod sync;
pub mod worker;

use super::http;
use crate::store::{AccountRow, Store, Tokens, now_ms};
use serde::de::DeserializeOwned;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Media type of /me and the message center.
pub const PUBLIC: &str = "application/vnd.allegro.public.v1+json";
/// Media type of post-purchase issues and customer returns.
pub const BETA: &str = "application/vnd.allegro.beta.v1+json";
/// Allegro's documented limit per client id.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 9000;
/// An access token this close to its end is refreshed before use.
const REFRESH_AHEAD_MS: i64 = 60_000;
/// 429s in a row one call waits through before it gives up (the pass ends; nothing is lost).
const THROTTLED_TRIES: u32 = 6;

/// The hosts of an environment: (API, auth).
pub fn hosts(environment: &str) -> Option<(&'static str, &'static str)> {
    match environment {
        "production" => Some(("https://api.allegro.pl", "https://allegro.pl")),
        "sandbox" => Some((
            "https://api.allegro.pl.allegrosandbox.pl",
            "https://allegro.pl.allegrosandbox.pl",
        )),
        _ => None,
    }
}

/// This server's Allegro application (from `--allegro-client-id` and
/// `FERRULE_ALLEGRO_CLIENT_SECRET`).
#[derive(Clone)]
pub struct AllegroConfig {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// The client id's budget.
    pub requests_per_minute: u32,
}

impl std::fmt::Debug for AllegroConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllegroConfig")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Why a call failed, in words fit for `last_error` (never with a token in them).
#[derive(Debug, Clone)]
pub enum Failure {
    /// No answer (network, deadline) or a server error: try again later.
    Transient(String),
    /// Allegro refused the request for good (4xx).
    Refused {
        /// HTTP status.
        status: u16,
        /// Allegro's words.
        message: String,
    },
    /// The account cannot call (no tokens, refresh refused): a person must connect it again.
    Account(String),
    /// The answer is not the documented shape.
    Garbage(String),
}

impl Failure {
    /// In words.
    pub fn message(&self) -> &str {
        match self {
            Failure::Transient(m) | Failure::Account(m) | Failure::Garbage(m) => m,
            Failure::Refused { message, .. } => message,
        }
    }
}

/// The client id's budget: at most `limit` calls in any 60 s, and a pause after a 429.
pub struct Budget {
    limit: usize,
    state: tokio::sync::Mutex<BudgetState>,
}

struct BudgetState {
    calls: VecDeque<Instant>,
    paused_until: Option<Instant>,
    throttled: u32,
}

impl Budget {
    fn new(per_minute: u32) -> Budget {
        Budget {
            limit: per_minute.max(1) as usize,
            state: tokio::sync::Mutex::new(BudgetState {
                calls: VecDeque::new(),
                paused_until: None,
                throttled: 0,
            }),
        }
    }

    /// Wait for a slot.
    pub async fn take(&self) {
        loop {
            let wait = {
                let mut s = self.state.lock().await;
                let now = Instant::now();
                while s
                    .calls
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
                {
                    s.calls.pop_front();
                }
                match s.paused_until {
                    Some(until) if until > now => until - now,
                    _ if s.calls.len() < self.limit => {
                        s.calls.push_back(now);
                        return;
                    }
                    _ => (s.calls[0] + Duration::from_secs(60)).saturating_duration_since(now),
                }
            };
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }

    /// Allegro answered 429: every call pauses (for `retry_after`, else 250 ms doubling to 30 s:
    /// a spike passes quickly, a spent budget waits for its minute).
    /// The 429s of calls that were in flight together are one storm: the pause grows once.
    async fn throttled(&self, retry_after: Option<u64>) {
        let mut s = self.state.lock().await;
        let now = Instant::now();
        if s.paused_until.is_some_and(|p| p > now) && retry_after.is_none() {
            return;
        }
        s.throttled = (s.throttled + 1).min(8);
        let wait = retry_after
            .map(|r| Duration::from_secs(r.clamp(1, 300)))
            .unwrap_or_else(|| {
                (Duration::from_millis(250) * (1 << (s.throttled - 1))).min(Duration::from_secs(30))
            });
        let until = now + wait;
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
    }

    async fn answered(&self) {
        let mut s = self.state.lock().await;
        s.throttled = 0;
    }
}

/// This server's Allegro client, shared by the account workers, the delivery worker and the API.
pub struct Allegro {
    client_id: String,
    client_secret: String,
    store: Store,
    /// The client id's budget.
    pub budget: Budget,
    /// One lock per account: a refresh (single-use tokens) happens once at a time.
    locks: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// The current pair of each account, so a call does not read the database.
    tokens: Mutex<HashMap<i64, Tokens>>,
    /// Woken when accounts were added or removed.
    pub wake: tokio::sync::Notify,
}

impl std::fmt::Debug for Allegro {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Allegro")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Allegro {
    /// The client of `config`, keeping tokens in `store`.
    pub fn new(config: &AllegroConfig, store: Store) -> Allegro {
        Allegro {
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            store,
            budget: Budget::new(config.requests_per_minute),
            locks: Mutex::default(),
            tokens: Mutex::default(),
            wake: tokio::sync::Notify::new(),
        }
    }

    fn basic(&self) -> String {
        use base64::Engine as _;
        let pair = format!("{}:{}", self.client_id, self.client_secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    /// Remove what is kept in memory of a removed account.
    pub fn forget(&self, account: i64) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&account);
    }

    /// Keep a new pair in memory (after it is stored).
    fn remember(&self, account: i64, tokens: Tokens) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account, tokens);
    }

    fn lock(&self, account: i64) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(account)
            .or_default()
            .clone()
    }

    /// The account's usable pair: from memory, else the database; refreshed when it is
    /// about to expire.
    async fn current(&self, account: &AccountRow) -> Result<Tokens, Failure> {
        let kept = self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&account.id)
            .cloned();
        let tokens = match kept {
            Some(t) => t,
            None => {
                let stored = self
                    .store
                    .account_tokens(account.id)
                    .await
                    .map_err(|e| Failure::Transient(format!("database: {e}")))?
                    .ok_or_else(|| {
                        Failure::Account(
                            "the account has no tokens: connect it (POST /accounts)".into(),
                        )
                    })?;
                self.remember(account.id, stored.clone());
                stored
            }
        };
        if tokens.access_expires_at - REFRESH_AHEAD_MS > now_ms() {
            return Ok(tokens);
        }
        self.refresh(account, tokens.revision).await
    }

    /// Refresh the pair `seen` (its revision), under the account's lock. When another caller
    /// refreshed meanwhile, its pair is used: a refresh token is never presented twice.
    async fn refresh(&self, account: &AccountRow, seen: i64) -> Result<Tokens, Failure> {
        let lock = self.lock(account.id);
        let _held = lock.lock().await;
        let stored = self
            .store
            .account_tokens(account.id)
            .await
            .map_err(|e| Failure::Transient(format!("database: {e}")))?
            .ok_or_else(|| Failure::Account("the account was disconnected".into()))?;
        if stored.revision != seen {
            self.remember(account.id, stored.clone());
            return Ok(stored);
        }
        match self
            .refresh_grant(&account.auth_base, &stored.refresh)
            .await
        {
            Ok(mut fresh) => {
                // Stored at once: the old refresh token is void from this moment.
                let written = self
                    .store
                    .rotate_tokens(account.id, stored.revision, &fresh)
                    .await
                    .map_err(|e| Failure::Transient(format!("database: {e}")))?;
                if !written {
                    return Err(Failure::Account("the account was disconnected".into()));
                }
                fresh.revision = stored.revision + 1;
                self.remember(account.id, fresh.clone());
                tracing::info!(
                    account = account.id,
                    revision = fresh.revision,
                    "allegro tokens rotated"
                );
                Ok(fresh)
            }
            Err(oauth::RefreshError::Refused(words)) => {
                let _ = self
                    .store
                    .account_error(account.id, Some("error"), &words)
                    .await;
                self.forget(account.id);
                Err(Failure::Account(words))
            }
            Err(oauth::RefreshError::Transient(words)) => Err(Failure::Transient(words)),
        }
    }

    /// `GET path` (with its query) as `media`, parsed as `T`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        account: &AccountRow,
        path: &str,
        media: &str,
        calls: &mut i64,
    ) -> Result<T, Failure> {
        let body = self
            .call(account, http::Method::GET, path, media, None, calls)
            .await?;
        parse(&body, "GET", path)
    }

    /// `POST path` with a JSON body as `media`, the answer parsed as `T`.
    pub async fn post<T: DeserializeOwned>(
        &self,
        account: &AccountRow,
        path: &str,
        media: &str,
        body: &serde_json::Value,
        calls: &mut i64,
    ) -> Result<T, Failure> {
        let answer = self
            .call(
                account,
                http::Method::POST,
                path,
                media,
                Some(body.to_string().into_bytes()),
                calls,
            )
            .await?;
        parse(&answer, "POST", path)
    }

    /// One API call: the budget, the token (one refresh on 401), 429s waited through.
    async fn call(
        &self,
        account: &AccountRow,
        method: http::Method,
        path: &str,
        media: &str,
        body: Option<Vec<u8>>,
        calls: &mut i64,
    ) -> Result<Vec<u8>, Failure> {
        let url = format!("{}{path}", account.api_base);
        let route = path.split('?').next().unwrap_or(path);
        let mut refreshed = false;
        let mut throttled = 0;
        loop {
            let tokens = self.current(account).await?;
            self.budget.take().await;
            let mut headers = vec![
                ("authorization", format!("Bearer {}", tokens.access)),
                ("accept", media.to_owned()),
                ("accept-language", "pl-PL".to_owned()),
            ];
            if body.is_some() {
                headers.push(("content-type", media.to_owned()));
            }
            *calls += 1;
            let answer = http::call(
                method.clone(),
                &url,
                &headers,
                body.clone().unwrap_or_default(),
            )
            .await
            .map_err(|e| Failure::Transient(e.0))?;
            tracing::debug!(account = account.id, %method, route, status = answer.status, "allegro call");
            match answer.status {
                200..=299 => {
                    self.budget.answered().await;
                    return Ok(answer.body);
                }
                401 if !refreshed => {
                    refreshed = true;
                    self.refresh(account, tokens.revision).await?;
                }
                401 => {
                    let words = format!(
                        "Allegro refused the account's fresh access token on {method} {route} (401): connect the account again"
                    );
                    let _ = self
                        .store
                        .account_error(account.id, Some("error"), &words)
                        .await;
                    self.forget(account.id);
                    return Err(Failure::Account(words));
                }
                429 => {
                    throttled += 1;
                    self.budget.throttled(answer.retry_after).await;
                    if throttled >= THROTTLED_TRIES {
                        return Err(Failure::Transient(format!(
                            "Allegro answered {method} {route} with 429 (too many requests) {throttled} times in a row; trying again later"
                        )));
                    }
                }
                status if status >= 500 => {
                    return Err(Failure::Transient(format!(
                        "Allegro answered {method} {route} with {status}{}",
                        words(&answer.body)
                    )));
                }
                status => {
                    return Err(Failure::Refused {
                        status,
                        message: format!(
                            "Allegro refused {method} {route} ({status}){}",
                            words(&answer.body)
                        ),
                    });
                }
            }
        }
    }
}

/// Allegro's error words: `errors[0].userMessage` (or `message`, or the OAuth `error`).
fn words(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let first = &v["errors"][0];
    let text = first["userMessage"]
        .as_str()
        .filter(|s| !s.is_empty())
        .or_else(|| first["message"].as_str())
        .or_else(|| v["error"].as_str());
    let path = first["path"].as_str().filter(|p| !p.is_empty());
    match (text, path) {
        (Some(t), Some(p)) => format!(": {t} (at `{p}`)"),
        (Some(t), None) => format!(": {t}"),
        _ => String::new(),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8], method: &str, path: &str) -> Result<T, Failure> {
    let route = path.split('?').next().unwrap_or(path);
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let start: String = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        Failure::Garbage(format!(
            "Allegro answered {method} {route} with something that is not its documented shape \
             ({e}; the answer began {start:?})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_words_come_from_the_first_error() {
        let body = br#"{"errors":[{"code":"VALIDATION_ERROR","message":"text too long","path":"text","userMessage":"Tekst jest za dlugi"}]}"#;
        assert_eq!(words(body), ": Tekst jest za dlugi (at `text`)");
        assert_eq!(words(b"<html>"), "");
        assert_eq!(words(br#"{"error":"invalid_grant"}"#), ": invalid_grant");
    }

    #[test]
    fn garbage_is_an_error_in_words() {
        let failure =
            parse::<shapes::ThreadsPage>(br#"{"threads": ["#, "GET", "/messaging/threads?limit=20")
                .unwrap_err();
        assert!(matches!(failure, Failure::Garbage(_)));
        assert!(
            failure
                .message()
                .contains("GET /messaging/threads with something"),
            "{}",
            failure.message()
        );
    }

    #[tokio::test]
    async fn the_budget_holds_calls_beyond_the_limit() {
        let budget = Budget::new(3);
        for _ in 0..3 {
            tokio::time::timeout(Duration::from_millis(50), budget.take())
                .await
                .expect("within the budget");
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(200), budget.take())
                .await
                .is_err(),
            "the fourth call in a minute waits"
        );
    }
}
