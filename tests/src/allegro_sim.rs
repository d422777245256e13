//! A protocol simulator of Allegro's REST API (auth server and `api.allegro.pl` on one port),
//! built from Allegro's public API documentation because the real service cannot be reached
//! from the test machines. Field names, media types, status codes and error shapes follow the
//! documentation; the tests can drive the seller's side of the world (buyers writing, the
//! seller approving the device flow, Allegro staff joining a dispute) and inject faults.
//!
//! Deliberate simplifications:
//! - one client (`CLIENT_ID`), one seller (`SELLER_LOGIN`), one offer ("Kubek"); the per-client
//!   budget therefore has a single window in practice;
//! - tokens are opaque random strings, not JWTs; refresh tokens never expire;
//! - orders are not modelled: any order id is accepted and echoed;
//! - message attachments support declare (`POST /messaging/message-attachments`), upload (`PUT`)
//!   and download (`GET`, no `Accept` check); attachments on dispute messages are refused;
//! - the sim clock is real time, except that bulk seeding starts a day back so imports look
//!   recent; every created object gets a timestamp at least 1 ms after the previous one.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The only client id the sim knows.
pub const CLIENT_ID: &str = "ferrule-sim-client";
/// Its secret (HTTP Basic on the auth paths).
pub const CLIENT_SECRET: &str = "sim-secret";
/// The seller's login: author of every message written by the seller.
pub const SELLER_LOGIN: &str = "sklep-testowy";

const PUBLIC: &str = "application/vnd.allegro.public.v1+json";
const BETA: &str = "application/vnd.allegro.beta.v1+json";
const SCOPE: &str =
    "allegro:api:messaging allegro:api:disputes allegro:api:orders:read allegro:api:profile:read";
const DEVICE_CODE_LIFETIME: Duration = Duration::from_secs(3600);
const BUDGET_WINDOW: Duration = Duration::from_secs(60);
/// A minimal JPEG (SOI, APP0 marker, EOI) served for buyers' attachments.
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];

/// A running simulator.
#[derive(Clone)]
pub struct AllegroSim {
    /// Where it listens.
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

/// A message as the tests see it, in either the message center or a dispute chat.
#[derive(Debug, Clone)]
pub struct SimMessage {
    /// Message id.
    pub id: String,
    /// Its text.
    pub text: String,
    /// Written by the seller (through the API or on allegro.pl).
    pub from_seller: bool,
    /// RFC 3339 UTC with milliseconds.
    pub created_at: String,
}

#[derive(Debug, PartialEq)]
enum DeviceState {
    Pending,
    Confirmed,
    Denied,
}

#[derive(Debug)]
struct Device {
    user_code: String,
    created: Instant,
    /// The interval answered when the code was issued: what the client was told to respect.
    interval: u64,
    last_poll: Option<Instant>,
    state: DeviceState,
}

#[derive(Debug)]
struct AccessToken {
    client: String,
    expires: Instant,
}

#[derive(Debug, Clone)]
struct Attachment {
    file_name: String,
    mime_type: String,
    url: String,
}

#[derive(Debug)]
struct Upload {
    file_name: String,
    mime_type: Option<String>,
    data: Option<Vec<u8>>,
}

#[derive(Debug)]
struct Msg {
    id: String,
    text: String,
    from_seller: bool,
    created: DateTime<Utc>,
    order: Option<String>,
    attachments: Vec<Attachment>,
}

#[derive(Debug)]
struct Thread {
    id: String,
    login: String,
    read: bool,
    /// Oldest first.
    messages: Vec<Msg>,
}

impl Thread {
    fn last(&self) -> Option<DateTime<Utc>> {
        self.messages.last().map(|m| m.created)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Buyer,
    Seller,
    Admin,
}

#[derive(Debug)]
struct ChatMsg {
    id: String,
    text: String,
    role: Role,
    created: DateTime<Utc>,
}

#[derive(Debug)]
struct Issue {
    id: String,
    kind: String,
    reference: String,
    buyer_id: String,
    buyer_login: String,
    order_id: String,
    opened: DateTime<Utc>,
    first_text: String,
    /// Oldest first; never empty.
    chat: Vec<ChatMsg>,
}

#[derive(Debug)]
struct Return {
    id: String,
    created: DateTime<Utc>,
    reference: String,
    order_id: String,
    login: String,
}

#[derive(Debug)]
struct Inner {
    base: String,
    seq: u64,
    random: RandomState,
    clock: DateTime<Utc>,

    device_interval: u64,
    /// By device code.
    devices: HashMap<String, Device>,
    slow_downs: u32,
    token_lifetime: u64,
    access: HashMap<String, AccessToken>,
    /// Refresh token -> void (already used).
    refresh: HashMap<String, bool>,
    refreshes: u32,
    refresh_reuses: u32,

    threads: Vec<Thread>,
    thread_index: HashMap<String, usize>,
    seeded: usize,
    uploads: HashMap<String, Upload>,
    issues: Vec<Issue>,
    issue_index: HashMap<String, usize>,
    returns: Vec<Return>,
    buyer_ids: HashMap<String, String>,

    throttle: u32,
    garbage: u32,
    garbage_seq: u32,
    budget: Option<u32>,
    windows: HashMap<String, VecDeque<Instant>>,
    api_calls: u64,
    calls: HashMap<(String, String), u64>,
}

impl AllegroSim {
    /// Start on a free port, on its own thread and a 2-worker runtime (benchmarks push
    /// thousands of requests through it).
    pub fn start() -> AllegroSim {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let now = now_ms();
        let inner = Arc::new(Mutex::new(Inner {
            base: format!("http://{addr}"),
            seq: 0,
            random: RandomState::new(),
            clock: now - TimeDelta::days(1),
            device_interval: 5,
            devices: HashMap::new(),
            slow_downs: 0,
            token_lifetime: 43199,
            access: HashMap::new(),
            refresh: HashMap::new(),
            refreshes: 0,
            refresh_reuses: 0,
            threads: Vec::new(),
            thread_index: HashMap::new(),
            seeded: 0,
            uploads: HashMap::new(),
            issues: Vec::new(),
            issue_index: HashMap::new(),
            returns: Vec::new(),
            buyer_ids: HashMap::new(),
            throttle: 0,
            garbage: 0,
            garbage_seq: 0,
            budget: None,
            windows: HashMap::new(),
            api_calls: 0,
            calls: HashMap::new(),
        }));
        let shared = inner.clone();
        std::thread::Builder::new()
            .name("allegro-sim".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    let app = Router::new().fallback(handle).with_state(shared);
                    axum::serve(listener, app).await.unwrap();
                });
            })
            .unwrap();
        AllegroSim { addr, inner }
    }

    /// `http://127.0.0.1:port`: the auth server and the API at once.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `interval` answered for device codes issued from now on (default 5 s).
    pub fn set_device_interval(&self, secs: u64) {
        self.lock().device_interval = secs;
    }

    /// User codes waiting for the seller, oldest first.
    pub fn pending_user_codes(&self) -> Vec<String> {
        let inner = self.lock();
        let mut pending: Vec<&Device> = inner
            .devices
            .values()
            .filter(|d| {
                d.state == DeviceState::Pending && d.created.elapsed() < DEVICE_CODE_LIFETIME
            })
            .collect();
        pending.sort_by_key(|d| d.created);
        pending.iter().map(|d| d.user_code.clone()).collect()
    }

    /// The seller approves the application in the browser; false when no such pending code.
    pub fn confirm_device(&self, user_code: &str) -> bool {
        self.lock().decide(user_code, DeviceState::Confirmed)
    }

    /// The seller refuses; false when no such pending code.
    pub fn deny_device(&self, user_code: &str) -> bool {
        self.lock().decide(user_code, DeviceState::Denied)
    }

    /// Polls that came sooner than the interval (each answered `slow_down`).
    pub fn slow_downs(&self) -> u32 {
        self.lock().slow_downs
    }

    /// `expires_in` of tokens issued from now on (default 43199 s, Allegro's 12 hours).
    pub fn set_access_token_lifetime(&self, secs: u64) {
        self.lock().token_lifetime = secs;
    }

    /// Every access token issued so far answers 401 from now on (refresh tokens stay valid).
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        for token in self.lock().access.values_mut() {
            token.expires = now;
        }
    }

    /// Successful `refresh_token` grants.
    pub fn refreshes(&self) -> u32 {
        self.lock().refreshes
    }

    /// Refresh tokens presented again after they were used (refused): a client that lost a
    /// rotation.
    pub fn refresh_reuses(&self) -> u32 {
        self.lock().refresh_reuses
    }

    /// A new, empty thread with `buyer_login`; its id.
    pub fn add_thread(&self, buyer_login: &str) -> String {
        self.lock().add_thread(buyer_login)
    }

    /// The buyer writes in `thread`; its message id. A text containing "załącznik" carries one
    /// JPEG attachment.
    pub fn buyer_writes(&self, thread: &str, text: &str, order_id: Option<&str>) -> String {
        let mut inner = self.lock();
        let created = inner.stamp();
        inner.write(thread, text, false, created, order_id, Vec::new())
    }

    /// The seller writes on allegro.pl, outside ferrule; its message id.
    pub fn seller_writes(&self, thread: &str, text: &str) -> String {
        let mut inner = self.lock();
        let created = inner.stamp();
        inner.write(thread, text, true, created, None, Vec::new())
    }

    /// `threads` new threads with buyers "kupujacy-N" (N continues across calls), each with
    /// `messages_per_thread` buyer messages written round-robin, so threads' time ranges
    /// interleave.
    pub fn seed_threads(&self, threads: usize, messages_per_thread: usize) {
        let mut inner = self.lock();
        let first = inner.seeded + 1;
        inner.seeded += threads;
        let ids: Vec<String> = (first..first + threads)
            .map(|n| inner.add_thread(&format!("kupujacy-{n}")))
            .collect();
        for m in 1..=messages_per_thread {
            for (n, id) in (first..).zip(&ids) {
                inner.clock += TimeDelta::milliseconds(1);
                let created = inner.clock;
                let text = format!("Dzień dobry, pytanie {m} od kupujacy-{n}: kiedy wysyłka?");
                inner.write(id, &text, false, created, None, Vec::new());
            }
        }
    }

    /// Every message of `thread`, oldest first (empty for an unknown thread).
    pub fn thread_messages(&self, thread: &str) -> Vec<SimMessage> {
        let inner = self.lock();
        let Some(&i) = inner.thread_index.get(thread) else {
            return Vec::new();
        };
        inner.threads[i]
            .messages
            .iter()
            .map(|m| SimMessage {
                id: m.id.clone(),
                text: m.text.clone(),
                from_seller: m.from_seller,
                created_at: fmt(m.created),
            })
            .collect()
    }

    /// A buyer opens a post-purchase issue ("DISPUTE" or "CLAIM"); `first_text` is the first
    /// chat message. Its id.
    pub fn add_issue(
        &self,
        kind: &str,
        buyer_login: &str,
        order_id: &str,
        first_text: &str,
    ) -> String {
        assert!(
            kind == "DISPUTE" || kind == "CLAIM",
            "unknown issue type {kind}"
        );
        let mut inner = self.lock();
        let opened = inner.stamp();
        let id = inner.uuid();
        let message_id = inner.uuid();
        let reference = format!("DR-{}-{:06}", opened.format("%Y"), inner.issues.len() + 123);
        let buyer_id = inner.buyer_id(buyer_login);
        let index = inner.issues.len();
        inner.issue_index.insert(id.clone(), index);
        inner.issues.push(Issue {
            id: id.clone(),
            kind: kind.to_owned(),
            reference,
            buyer_id,
            buyer_login: buyer_login.to_owned(),
            order_id: order_id.to_owned(),
            opened,
            first_text: first_text.to_owned(),
            chat: vec![ChatMsg {
                id: message_id,
                text: first_text.to_owned(),
                role: Role::Buyer,
                created: opened,
            }],
        });
        id
    }

    /// The buyer writes in the issue's chat; the message id.
    pub fn issue_buyer_writes(&self, issue: &str, text: &str) -> String {
        self.lock().issue_write(issue, text, Role::Buyer)
    }

    /// Allegro staff write in the issue's chat (role ADMIN, no login); the message id.
    pub fn issue_admin_writes(&self, issue: &str, text: &str) -> String {
        self.lock().issue_write(issue, text, Role::Admin)
    }

    /// Change the issue's type (a dispute escalated to a claim); the status follows.
    pub fn set_issue_type(&self, issue: &str, kind: &str) {
        assert!(
            kind == "DISPUTE" || kind == "CLAIM",
            "unknown issue type {kind}"
        );
        let mut inner = self.lock();
        let i = *inner.issue_index.get(issue).expect("unknown issue");
        inner.issues[i].kind = kind.to_owned();
    }

    /// The issue's chat, oldest first; `from_seller` means role SELLER.
    pub fn issue_chat(&self, issue: &str) -> Vec<SimMessage> {
        let inner = self.lock();
        let Some(&i) = inner.issue_index.get(issue) else {
            return Vec::new();
        };
        inner.issues[i]
            .chat
            .iter()
            .map(|m| SimMessage {
                id: m.id.clone(),
                text: m.text.clone(),
                from_seller: m.role == Role::Seller,
                created_at: fmt(m.created),
            })
            .collect()
    }

    /// A buyer returns an order; the return id.
    pub fn add_return(&self, buyer_login: &str, order_id: &str) -> String {
        let mut inner = self.lock();
        let created = inner.stamp();
        let id = inner.uuid();
        let r = inner.next_u64();
        let letters: String = (0..3)
            .map(|k| char::from(b'A' + ((r >> (k * 8)) % 26) as u8))
            .collect();
        let reference = format!("ZWR-{letters}-{:03}", (r >> 32) % 1000);
        inner.returns.push(Return {
            id: id.clone(),
            created,
            reference,
            order_id: order_id.to_owned(),
            login: buyer_login.to_owned(),
        });
        id
    }

    /// The next `n` API calls answer 429 (without Retry-After, like Allegro's global limiter).
    pub fn throttle(&self, n: u32) {
        self.lock().throttle = n;
    }

    /// The next `n` API calls answer 200 with a body that is not the documented shape.
    pub fn garbage(&self, n: u32) {
        self.lock().garbage = n;
    }

    /// Calls allowed per client id over a sliding 60 s window; beyond it 429 with Retry-After.
    pub fn set_budget_per_minute(&self, n: Option<u32>) {
        let mut inner = self.lock();
        inner.budget = n;
        inner.windows.clear();
    }

    /// API calls answered (not /auth), refused ones included.
    pub fn api_calls(&self) -> u64 {
        self.lock().api_calls
    }

    /// Requests with `method` whose path starts with `path_prefix`; /auth paths are counted
    /// here too (token polls, refreshes).
    pub fn calls(&self, method: &str, path_prefix: &str) -> u64 {
        self.lock()
            .calls
            .iter()
            .filter(|((m, p), _)| m.eq_ignore_ascii_case(method) && p.starts_with(path_prefix))
            .map(|(_, n)| n)
            .sum()
    }
}

impl Inner {
    fn next_u64(&mut self) -> u64 {
        self.seq += 1;
        let mut hasher = self.random.build_hasher();
        hasher.write_u64(self.seq);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        hasher.finish()
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    fn random_string(&mut self, len: usize, alphabet: &[u8]) -> String {
        (0..len)
            .map(|_| char::from(alphabet[(self.next_u64() % alphabet.len() as u64) as usize]))
            .collect()
    }

    /// A timestamp for an object created now: real time, but always after the previous one.
    fn stamp(&mut self) -> DateTime<Utc> {
        self.clock = (self.clock + TimeDelta::milliseconds(1)).max(now_ms());
        self.clock
    }

    fn buyer_id(&mut self, login: &str) -> String {
        let next = (self.buyer_ids.len() + 40_000_001).to_string();
        self.buyer_ids
            .entry(login.to_owned())
            .or_insert(next)
            .clone()
    }

    fn decide(&mut self, user_code: &str, state: DeviceState) -> bool {
        let found = self.devices.values_mut().find(|d| {
            d.user_code.eq_ignore_ascii_case(user_code.trim())
                && d.state == DeviceState::Pending
                && d.created.elapsed() < DEVICE_CODE_LIFETIME
        });
        match found {
            Some(device) => {
                device.state = state;
                true
            }
            None => false,
        }
    }

    fn add_thread(&mut self, login: &str) -> String {
        let id = self.uuid();
        self.thread_index.insert(id.clone(), self.threads.len());
        self.threads.push(Thread {
            id: id.clone(),
            login: login.to_owned(),
            read: true,
            messages: Vec::new(),
        });
        id
    }

    fn write(
        &mut self,
        thread: &str,
        text: &str,
        from_seller: bool,
        created: DateTime<Utc>,
        order: Option<&str>,
        mut attachments: Vec<Attachment>,
    ) -> String {
        let id = self.uuid();
        if !from_seller && text.to_lowercase().contains("załącznik") {
            let attachment_id = self.uuid();
            let url = format!(
                "{}/messaging/message-attachments/{attachment_id}",
                self.base
            );
            self.uploads.insert(
                attachment_id,
                Upload {
                    file_name: "zdjecie.jpg".into(),
                    mime_type: Some("image/jpeg".into()),
                    data: Some(JPEG.to_vec()),
                },
            );
            attachments.push(Attachment {
                file_name: "zdjecie.jpg".into(),
                mime_type: "image/jpeg".into(),
                url,
            });
        }
        let i = *self
            .thread_index
            .get(thread)
            .unwrap_or_else(|| panic!("unknown thread {thread}"));
        let thread = &mut self.threads[i];
        thread.read = from_seller;
        thread.messages.push(Msg {
            id: id.clone(),
            text: text.to_owned(),
            from_seller,
            created,
            order: order.map(str::to_owned),
            attachments,
        });
        id
    }

    fn issue_write(&mut self, issue: &str, text: &str, role: Role) -> String {
        let i = *self
            .issue_index
            .get(issue)
            .unwrap_or_else(|| panic!("unknown issue {issue}"));
        let created = self.stamp();
        let id = self.uuid();
        self.issues[i].chat.push(ChatMsg {
            id: id.clone(),
            text: text.to_owned(),
            role,
            created,
        });
        id
    }

    // ----- HTTP -----

    fn route(&mut self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
        let path = uri.path();
        *self
            .calls
            .entry((method.as_str().to_owned(), path.to_owned()))
            .or_default() += 1;
        let mut params = parse_form(uri.query().unwrap_or(""));
        match path {
            "/auth/oauth/device" | "/auth/oauth/token" => {
                if method != Method::POST {
                    return oauth_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None);
                }
                if !basic_ok(headers) {
                    return oauth_error(
                        StatusCode::UNAUTHORIZED,
                        "unauthorized",
                        Some("Full authentication is required to access this resource"),
                    );
                }
                params.extend(parse_form(&String::from_utf8_lossy(body)));
                let params: HashMap<String, String> = params.into_iter().collect();
                if path == "/auth/oauth/device" {
                    self.device(&params)
                } else {
                    self.token(&params)
                }
            }
            "/skojarz-aplikacje" => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<html><body>Wpisz kod, aby powiązać aplikację z kontem Allegro.</body></html>",
            )
                .into_response(),
            _ if path.starts_with("/auth/") => {
                oauth_error(StatusCode::NOT_FOUND, "not_found", None)
            }
            _ => {
                let params: HashMap<String, String> = params.into_iter().collect();
                self.api(method, path, &params, headers, body)
            }
        }
    }

    fn device(&mut self, params: &HashMap<String, String>) -> Response {
        if params.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", None);
        }
        let device_code = self.random_string(32, ALNUM);
        let user_code = self.random_string(9, UPPER_ALNUM);
        self.devices.insert(
            device_code.clone(),
            Device {
                user_code: user_code.clone(),
                created: Instant::now(),
                interval: self.device_interval,
                last_poll: None,
                state: DeviceState::Pending,
            },
        );
        json_reply(
            StatusCode::OK,
            "application/json",
            &json!({
                "device_code": device_code,
                "expires_in": DEVICE_CODE_LIFETIME.as_secs(),
                "user_code": user_code,
                "interval": self.device_interval,
                "verification_uri": format!("{}/skojarz-aplikacje", self.base),
                "verification_uri_complete":
                    format!("{}/skojarz-aplikacje?code={user_code}", self.base),
            }),
        )
    }

    fn token(&mut self, params: &HashMap<String, String>) -> Response {
        let bad = |error: &str, description: Option<&str>| {
            oauth_error(StatusCode::BAD_REQUEST, error, description)
        };
        match params.get("grant_type").map(String::as_str) {
            Some("urn:ietf:params:oauth:grant-type:device_code") => {
                let code = params.get("device_code").map(String::as_str).unwrap_or("");
                let Some(device) = self.devices.get_mut(code) else {
                    return bad("invalid_grant", Some("Invalid device code"));
                };
                let now = Instant::now();
                if now.duration_since(device.created) >= DEVICE_CODE_LIFETIME {
                    return bad("expired_token", None);
                }
                let previous = device.last_poll.replace(now);
                if previous
                    .is_some_and(|p| now.duration_since(p) < Duration::from_secs(device.interval))
                {
                    self.slow_downs += 1;
                    return bad("slow_down", None);
                }
                match device.state {
                    DeviceState::Pending => bad("authorization_pending", None),
                    DeviceState::Denied => bad("access_denied", None),
                    DeviceState::Confirmed => {
                        self.devices.remove(code);
                        self.issue_tokens()
                    }
                }
            }
            Some("refresh_token") => {
                let token = params
                    .get("refresh_token")
                    .map(String::as_str)
                    .unwrap_or("");
                match self.refresh.get_mut(token) {
                    Some(void) if !*void => {
                        *void = true;
                        self.refreshes += 1;
                        self.issue_tokens()
                    }
                    known => {
                        if known.is_some() {
                            self.refresh_reuses += 1;
                        }
                        bad(
                            "invalid_grant",
                            Some(&format!("Invalid refresh token: {token}")),
                        )
                    }
                }
            }
            _ => bad("unsupported_grant_type", None),
        }
    }

    fn issue_tokens(&mut self) -> Response {
        let access = self.random_string(64, ALNUM);
        let refresh = self.random_string(64, ALNUM);
        let jti = self.uuid();
        self.access.insert(
            access.clone(),
            AccessToken {
                client: CLIENT_ID.to_owned(),
                expires: Instant::now() + Duration::from_secs(self.token_lifetime),
            },
        );
        self.refresh.insert(refresh.clone(), false);
        json_reply(
            StatusCode::OK,
            "application/json",
            &json!({
                "access_token": access,
                "token_type": "bearer",
                "refresh_token": refresh,
                "expires_in": self.token_lifetime,
                "scope": SCOPE,
                "allegro_api": true,
                "jti": jti,
            }),
        )
    }

    fn api(
        &mut self,
        method: &Method,
        path: &str,
        params: &HashMap<String, String>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        self.api_calls += 1;
        let media = if path.starts_with("/sale/") || path.starts_with("/order/") {
            BETA
        } else {
            PUBLIC
        };
        if self.throttle > 0 {
            self.throttle -= 1;
            return too_many(media, None);
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.get(..7)
                    .filter(|s| s.eq_ignore_ascii_case("bearer "))
                    .map(|_| v[7..].trim())
            })
            .map(str::to_owned);
        if let Some(limit) = self.budget {
            let client = bearer
                .as_deref()
                .and_then(|t| self.access.get(t))
                .map_or("anonymous", |t| t.client.as_str())
                .to_owned();
            let now = Instant::now();
            let window = self.windows.entry(client).or_default();
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= BUDGET_WINDOW)
            {
                window.pop_front();
            }
            if window.len() >= limit as usize {
                let frees = window.front().map_or(Duration::ZERO, |t| {
                    BUDGET_WINDOW.saturating_sub(now.duration_since(*t))
                });
                let secs = frees.as_secs() + u64::from(frees.subsec_nanos() > 0);
                return too_many(media, Some(secs.max(1)));
            }
            window.push_back(now);
        }
        if self.garbage > 0 {
            self.garbage -= 1;
            self.garbage_seq += 1;
            let body = match self.garbage_seq % 3 {
                1 => r#"{"threads": ["#,
                2 => "<html>Service Unavailable</html>",
                _ => r#"{"unexpected": true}"#,
            };
            return (StatusCode::OK, [(header::CONTENT_TYPE, media)], body).into_response();
        }
        let Some(token) = bearer else {
            return invalid_token("Invalid access token");
        };
        match self.access.get(&token) {
            None => return invalid_token("Invalid access token"),
            Some(t) if Instant::now() >= t.expires => {
                return invalid_token(&format!("Access token expired: {token}"));
            }
            Some(_) => {}
        }

        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let endpoint = match (method.as_str(), segments.as_slice()) {
            ("GET", ["me"]) => Ep::Me,
            ("GET", ["messaging", "threads"]) => Ep::Threads,
            ("GET", ["messaging", "threads", id]) => Ep::Thread(id),
            ("PUT", ["messaging", "threads", id, "read"]) => Ep::ThreadRead(id),
            ("GET", ["messaging", "threads", id, "messages"]) => Ep::ThreadMessages(id),
            ("POST", ["messaging", "threads", id, "messages"]) => Ep::PostThreadMessage(id),
            ("POST", ["messaging", "messages"]) => Ep::PostMessage,
            ("POST", ["messaging", "message-attachments"]) => Ep::DeclareAttachment,
            ("PUT", ["messaging", "message-attachments", id]) => Ep::UploadAttachment(id),
            ("GET", ["messaging", "message-attachments", id]) => Ep::DownloadAttachment(id),
            ("GET", ["sale", "issues"]) => Ep::Issues,
            ("GET", ["sale", "issues", id]) => Ep::Issue(id),
            ("GET", ["sale", "issues", id, "chat"]) => Ep::IssueChat(id),
            ("POST", ["sale", "issues", id, "message"]) => Ep::PostIssueMessage(id),
            ("GET", ["order", "customer-returns"]) => Ep::Returns,
            ("GET", ["order", "customer-returns", id]) => Ep::Return(id),
            _ => return not_found(media, "Resource not found"),
        };

        if !matches!(endpoint, Ep::DownloadAttachment(_)) && !accepts(headers, media) {
            return api_error(
                StatusCode::NOT_ACCEPTABLE,
                media,
                "NotAcceptableException",
                "Not acceptable representation",
                None,
                &format!("Use the Accept header {media}"),
            );
        }
        let with_body = method == Method::POST || method == Method::PUT;
        if with_body
            && !matches!(endpoint, Ep::UploadAttachment(_))
            && content_type(headers).as_deref() != Some(media)
        {
            return api_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                "UnsupportedMediaTypeException",
                "Content type not supported",
                None,
                &format!("Use the Content-Type header {media}"),
            );
        }
        let json_body = if with_body && !matches!(endpoint, Ep::UploadAttachment(_)) {
            match serde_json::from_slice::<Value>(body) {
                Ok(v) if v.is_object() => v,
                _ => {
                    return api_error(
                        StatusCode::BAD_REQUEST,
                        media,
                        "BAD_REQUEST",
                        "Malformed JSON request body",
                        None,
                        "The request body is not a JSON object",
                    );
                }
            }
        } else {
            Value::Null
        };

        let result = match endpoint {
            Ep::Me => Ok((
                StatusCode::OK,
                json!({
                    "id": "seller-1",
                    "login": SELLER_LOGIN,
                    "firstName": "Anna",
                    "lastName": "Sklepowa",
                    "email": "sklep@example.pl",
                    "baseMarketplace": {"id": "allegro-pl"},
                }),
            )),
            Ep::Threads => self.list_threads(params),
            Ep::Thread(id) => self
                .thread(id)
                .map(|i| (StatusCode::OK, thread_json(&self.threads[i]))),
            Ep::ThreadRead(id) => self.mark_read(id, &json_body),
            Ep::ThreadMessages(id) => self.list_messages(id, params),
            Ep::PostThreadMessage(id) => self.post_thread_message(id, &json_body),
            Ep::PostMessage => self.post_message(&json_body),
            Ep::DeclareAttachment => self.declare_attachment(&json_body),
            Ep::UploadAttachment(id) => self.upload_attachment(id, headers, body),
            Ep::DownloadAttachment(id) => return self.download_attachment(id),
            Ep::Issues => self.list_issues(params),
            Ep::Issue(id) => self
                .issue(id)
                .map(|i| (StatusCode::OK, issue_json(&self.issues[i]))),
            Ep::IssueChat(id) => self.list_chat(id, params),
            Ep::PostIssueMessage(id) => self.post_issue_message(id, &json_body),
            Ep::Returns => self.list_returns(params),
            Ep::Return(id) => self
                .returns
                .iter()
                .find(|r| r.id == id)
                .map(|r| (StatusCode::OK, return_json(r)))
                .ok_or(ApiError::NotFound("Customer return not found")),
        };
        match result {
            Ok((status, body)) => json_reply(status, media, &body),
            Err(ApiError::NotFound(message)) => not_found(media, message),
            Err(ApiError::Invalid(path, message)) => api_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                media,
                "VALIDATION_ERROR",
                &message,
                Some(path),
                &message,
            ),
        }
    }

    fn thread(&self, id: &str) -> Result<usize, ApiError> {
        self.thread_index
            .get(id)
            .copied()
            .ok_or(ApiError::NotFound("Thread not found"))
    }

    fn issue(&self, id: &str) -> Result<usize, ApiError> {
        self.issue_index
            .get(id)
            .copied()
            .ok_or(ApiError::NotFound("Issue not found"))
    }

    fn list_threads(&self, params: &HashMap<String, String>) -> ApiResult {
        let (limit, offset) = page(params, 20, 20)?;
        let mut order: Vec<&Thread> = self.threads.iter().collect();
        order.sort_by(|a, b| b.last().cmp(&a.last()).then_with(|| a.id.cmp(&b.id)));
        let threads: Vec<Value> = order
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(thread_json)
            .collect();
        Ok((
            StatusCode::OK,
            json!({"threads": threads, "offset": offset, "limit": limit}),
        ))
    }

    fn mark_read(&mut self, id: &str, body: &Value) -> ApiResult {
        let i = self.thread(id)?;
        let read = body["read"]
            .as_bool()
            .ok_or_else(|| invalid("read", "read must be a boolean"))?;
        self.threads[i].read = read;
        Ok((StatusCode::OK, thread_json(&self.threads[i])))
    }

    fn list_messages(&self, id: &str, params: &HashMap<String, String>) -> ApiResult {
        let thread = &self.threads[self.thread(id)?];
        let (limit, offset) = page(params, 20, 20)?;
        let before = time_param(params, "before")?;
        let after = time_param(params, "after")?;
        let messages: Vec<Value> = thread
            .messages
            .iter()
            .rev()
            .filter(|m| before.is_none_or(|b| m.created < b) && after.is_none_or(|a| m.created > a))
            .skip(offset)
            .take(limit)
            .map(|m| message_json(thread, m))
            .collect();
        Ok((
            StatusCode::OK,
            json!({"messages": messages, "offset": offset, "limit": limit}),
        ))
    }

    /// Validates `text` and `attachments` of a message-center post.
    fn message_parts(&self, body: &Value) -> Result<(String, Vec<Attachment>), ApiError> {
        let text = body["text"].as_str().unwrap_or("");
        let chars = text.chars().count();
        if !(1..=2000).contains(&chars) {
            return Err(invalid(
                "text",
                "text must be between 1 and 2000 characters",
            ));
        }
        let mut attachments = Vec::new();
        match &body["attachments"] {
            Value::Null => {}
            Value::Array(items) => {
                for (k, item) in items.iter().enumerate() {
                    let path = format!("attachments[{k}].id");
                    let id = item["id"].as_str().unwrap_or("");
                    let upload = self
                        .uploads
                        .get(id)
                        .filter(|u| u.data.is_some())
                        .ok_or_else(|| invalid(&path, "unknown or not uploaded attachment"))?;
                    attachments.push(Attachment {
                        file_name: upload.file_name.clone(),
                        mime_type: upload.mime_type.clone().unwrap_or_default(),
                        url: format!("{}/messaging/message-attachments/{id}", self.base),
                    });
                }
            }
            _ => return Err(invalid("attachments", "attachments must be an array")),
        }
        Ok((text.to_owned(), attachments))
    }

    fn post_thread_message(&mut self, id: &str, body: &Value) -> ApiResult {
        let i = self.thread(id)?;
        let (text, attachments) = self.message_parts(body)?;
        let created = self.stamp();
        self.write(id, &text, true, created, None, attachments);
        let thread = &self.threads[i];
        Ok((
            StatusCode::CREATED,
            message_json(thread, thread.messages.last().unwrap()),
        ))
    }

    fn post_message(&mut self, body: &Value) -> ApiResult {
        let login = body["recipient"]["login"]
            .as_str()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| invalid("recipient.login", "recipient.login is required"))?
            .to_owned();
        let (text, attachments) = self.message_parts(body)?;
        let order = match &body["order"] {
            Value::Null => None,
            o => Some(
                o["id"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| invalid("order.id", "order.id is required"))?
                    .to_owned(),
            ),
        };
        let thread_id = match self.threads.iter().find(|t| t.login == login) {
            Some(t) => t.id.clone(),
            None => self.add_thread(&login),
        };
        let created = self.stamp();
        self.write(
            &thread_id,
            &text,
            true,
            created,
            order.as_deref(),
            attachments,
        );
        let thread = &self.threads[self.thread_index[&thread_id]];
        Ok((
            StatusCode::CREATED,
            message_json(thread, thread.messages.last().unwrap()),
        ))
    }

    fn declare_attachment(&mut self, body: &Value) -> ApiResult {
        let file_name = body["filename"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("filename", "filename is required"))?
            .to_owned();
        if !body["size"].is_u64() {
            return Err(invalid("size", "size is required"));
        }
        let id = self.uuid();
        self.uploads.insert(
            id.clone(),
            Upload {
                file_name,
                mime_type: None,
                data: None,
            },
        );
        Ok((StatusCode::CREATED, json!({"id": id})))
    }

    fn upload_attachment(&mut self, id: &str, headers: &HeaderMap, body: &[u8]) -> ApiResult {
        let mime = content_type(headers).unwrap_or_default();
        let upload = self
            .uploads
            .get_mut(id)
            .ok_or(ApiError::NotFound("Attachment not found"))?;
        const ALLOWED: &[&str] = &[
            "image/png",
            "image/gif",
            "image/bmp",
            "image/tiff",
            "image/jpeg",
            "application/pdf",
        ];
        if !ALLOWED.contains(&mime.as_str()) {
            return Err(invalid("Content-Type", "unsupported attachment type"));
        }
        upload.mime_type = Some(mime);
        upload.data = Some(body.to_vec());
        Ok((StatusCode::OK, json!({"id": id})))
    }

    fn download_attachment(&self, id: &str) -> Response {
        match self.uploads.get(id) {
            Some(Upload {
                mime_type: Some(mime),
                data: Some(data),
                ..
            }) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, mime.clone())],
                data.clone(),
            )
                .into_response(),
            _ => not_found(PUBLIC, "Attachment not found"),
        }
    }

    fn list_issues(&self, params: &HashMap<String, String>) -> ApiResult {
        let (limit, offset) = page(params, 10, 100)?;
        let mut order: Vec<&Issue> = self.issues.iter().collect();
        order.sort_by(|a, b| b.opened.cmp(&a.opened).then_with(|| a.id.cmp(&b.id)));
        let issues: Vec<Value> = order
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(issue_json)
            .collect();
        Ok((StatusCode::OK, json!({"issues": issues})))
    }

    fn list_chat(&self, id: &str, params: &HashMap<String, String>) -> ApiResult {
        let issue = &self.issues[self.issue(id)?];
        let (limit, offset) = page(params, 10, 100)?;
        let chat: Vec<Value> = issue
            .chat
            .iter()
            .rev()
            .skip(offset)
            .take(limit)
            .map(|m| chat_json(issue, m))
            .collect();
        Ok((StatusCode::OK, json!({"chat": chat})))
    }

    fn post_issue_message(&mut self, id: &str, body: &Value) -> ApiResult {
        let i = self.issue(id)?;
        let text = body["text"].as_str().unwrap_or("");
        if !(1..=20000).contains(&text.chars().count()) {
            return Err(invalid(
                "text",
                "text must be between 1 and 20000 characters",
            ));
        }
        if !matches!(body["type"].as_str(), Some("REGULAR" | "END_REQUEST")) {
            return Err(invalid("type", "type must be REGULAR or END_REQUEST"));
        }
        match &body["attachments"] {
            Value::Null => {}
            Value::Array(items) if items.is_empty() => {}
            _ => return Err(invalid("attachments[0].id", "unknown attachment")),
        }
        let text = text.to_owned();
        let id = self.issue_write(id, &text, Role::Seller);
        let issue = &self.issues[i];
        let message = issue.chat.iter().find(|m| m.id == id).unwrap();
        Ok((StatusCode::CREATED, chat_json(issue, message)))
    }

    fn list_returns(&self, params: &HashMap<String, String>) -> ApiResult {
        let (limit, offset) = page(params, 100, 1000)?;
        let since = time_param(params, "createdAt.gte")?;
        let matching: Vec<&Return> = self
            .returns
            .iter()
            .filter(|r| since.is_none_or(|s| r.created >= s))
            .collect();
        let returns: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|r| return_json(r))
            .collect();
        Ok((
            StatusCode::OK,
            json!({"customerReturns": returns, "count": matching.len()}),
        ))
    }
}

enum Ep<'a> {
    Me,
    Threads,
    Thread(&'a str),
    ThreadRead(&'a str),
    ThreadMessages(&'a str),
    PostThreadMessage(&'a str),
    PostMessage,
    DeclareAttachment,
    UploadAttachment(&'a str),
    DownloadAttachment(&'a str),
    Issues,
    Issue(&'a str),
    IssueChat(&'a str),
    PostIssueMessage(&'a str),
    Returns,
    Return(&'a str),
}

enum ApiError {
    NotFound(&'static str),
    /// 422 on a field path.
    Invalid(String, String),
}

type ApiResult = Result<(StatusCode, Value), ApiError>;

fn invalid(path: &str, message: &str) -> ApiError {
    ApiError::Invalid(path.to_owned(), message.to_owned())
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    inner.route(&method, &uri, &headers, &body)
}

fn now_ms() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

fn fmt(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `limit` in 1..=max (default `default`) and `offset` ≥ 0, or a 422 on the field.
fn page(
    params: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<(usize, usize), ApiError> {
    let limit = match params.get("limit") {
        None => default,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| invalid("limit", &format!("limit must be between 1 and {max}")))?,
    };
    let offset = match params.get("offset") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| invalid("offset", "offset must be a non-negative number"))?,
    };
    Ok((limit, offset))
}

/// An RFC 3339 query parameter; a '+' left unencoded in the offset arrives as a space.
fn time_param(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    params
        .get(name)
        .map(|v| {
            DateTime::parse_from_rfc3339(&v.replace(' ', "+"))
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| invalid(name, &format!("{name} must be an RFC 3339 date-time")))
        })
        .transpose()
}

fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn basic_ok(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value
        .get(..6)
        .filter(|s| s.eq_ignore_ascii_case("basic "))
        .map(|_| value[6..].trim())
    else {
        return false;
    };
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .is_ok_and(|d| d == format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes())
}

fn accepts(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            item.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(media)
        })
}

/// The media type of the body, without parameters.
fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

fn json_reply(status: StatusCode, media: &str, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_str(media).unwrap());
    response
}

fn oauth_error(status: StatusCode, error: &str, description: Option<&str>) -> Response {
    let body = match description {
        Some(d) => json!({"error": error, "error_description": d}),
        None => json!({"error": error}),
    };
    json_reply(status, "application/json", &body)
}

fn invalid_token(description: &str) -> Response {
    let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", Some(description));
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    response
}

fn api_error(
    status: StatusCode,
    media: &str,
    code: &str,
    message: &str,
    path: Option<String>,
    user_message: &str,
) -> Response {
    json_reply(
        status,
        media,
        &json!({"errors": [{
            "code": code,
            "message": message,
            "details": null,
            "path": path,
            "userMessage": user_message,
        }]}),
    )
}

fn not_found(media: &str, message: &str) -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        media,
        "NOT_FOUND",
        message,
        None,
        message,
    )
}

fn too_many(media: &str, retry_after: Option<u64>) -> Response {
    let mut response = api_error(
        StatusCode::TOO_MANY_REQUESTS,
        media,
        "TOO_MANY_REQUESTS",
        "Too many requests",
        None,
        "Too many requests. Please try again later.",
    );
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

fn thread_json(t: &Thread) -> Value {
    json!({
        "id": t.id,
        "read": t.read,
        "lastMessageDateTime": t.last().map(fmt),
        "interlocutor": {"login": t.login, "avatarUrl": null},
    })
}

fn message_json(t: &Thread, m: &Msg) -> Value {
    let attachments: Vec<Value> = m
        .attachments
        .iter()
        .map(|a| {
            json!({"fileName": a.file_name, "mimeType": a.mime_type, "url": a.url, "status": "SAFE"})
        })
        .collect();
    json!({
        "id": m.id,
        "status": "DELIVERED",
        "type": "MESSAGE_CENTER",
        "createdAt": fmt(m.created),
        "thread": {"id": t.id},
        "author": {
            "login": if m.from_seller { SELLER_LOGIN } else { t.login.as_str() },
            "isInterlocutor": !m.from_seller,
        },
        "text": m.text,
        "subject": null,
        "relatesTo": {"offer": null, "order": m.order.as_ref().map(|o| json!({"id": o}))},
        "hasAdditionalAttachments": false,
        "attachments": attachments,
        "additionalInformation": null,
    })
}

fn chat_json(issue: &Issue, m: &ChatMsg) -> Value {
    let author = match m.role {
        Role::Buyer => json!({"login": issue.buyer_login, "role": "BUYER"}),
        Role::Seller => json!({"login": SELLER_LOGIN, "role": "SELLER"}),
        Role::Admin => json!({"role": "ADMIN"}),
    };
    json!({
        "id": m.id,
        "text": m.text,
        "author": author,
        "createdAt": fmt(m.created),
        "attachments": [],
    })
}

fn issue_json(i: &Issue) -> Value {
    let last = i.chat.last().map_or(i.opened, |m| m.created);
    let status = if i.kind == "CLAIM" {
        "CLAIM_SUBMITTED"
    } else {
        "DISPUTE_ONGOING"
    };
    json!({
        "id": i.id,
        "type": i.kind,
        "referenceNumber": i.reference,
        "subject": "Produkt uszkodzony",
        "currentState": {"status": status, "statusDueDate": null, "chatActive": true},
        "openedDate": fmt(i.opened),
        "buyer": {"id": i.buyer_id, "login": i.buyer_login},
        "checkoutForm": {"id": i.order_id, "createdAt": fmt(i.opened - TimeDelta::days(2))},
        "offer": {"id": "12345678", "name": "Kubek"},
        "reason": {"type": "NOT_AS_DESCRIBED", "description": i.first_text},
        "chat": {
            "initialMessage": chat_json(i, &i.chat[0]),
            "lastMessage": {"status": "NEW", "createdAt": fmt(last)},
            "messagesCount": i.chat.len(),
        },
        "decisionDueDate": null,
    })
}

fn return_json(r: &Return) -> Value {
    json!({
        "id": r.id,
        "createdAt": fmt(r.created),
        "referenceNumber": r.reference,
        "orderId": r.order_id,
        "status": "CREATED",
        "buyer": {"email": format!("{}@example.pl", r.login), "login": r.login},
        "items": [{
            "offerId": "12345678",
            "quantity": 1,
            "name": "Kubek",
            "price": {"amount": "49.99", "currency": "PLN"},
            "reason": {"type": "DONT_LIKE_IT", "userComment": "Nie pasuje"},
        }],
        "refund": null,
        "parcels": [],
        "marketplaceId": "allegro-pl",
    })
}
