//! Reading one mailbox over IMAP (async-imap): connect with TLS, STARTTLS or neither, log in,
//! select the mailbox, fetch what arrived after a known UID, and wait for news with IDLE (or a
//! NOOP poll when the server has no IDLE).
//!
//! Limits: every round trip must be answered within 30 s (plus time for large bodies at
//! 256 KiB/s); a message is fetched up to [`MAX_MESSAGE_BYTES`] (the rest is cut off and the
//! [`Fetched`] marked `truncated`); and no answer may be larger than what was asked for (a
//! server that sends more gets a `Protocol` error instead of our memory). After any error the
//! connection is in an unknown state: drop the [`Mailbox`] and connect again.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::error::Error as ImapProtoError;
use async_imap::imap_proto::{Response, Status};
use async_imap::types::UnsolicitedResponse;
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// How long a server may take to answer one command (and to accept the connection).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest part of one message that is fetched (32 MiB); the rest is cut off.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;
/// Messages are fetched together until their bodies add up to this much.
const BATCH_BYTES: usize = 8 * 1024 * 1024;
/// What an answer other than a message list or bodies may weigh.
const ANSWER_BYTES: usize = 1024 * 1024;
/// What the list of new messages (UID and size, ~30 bytes each) may weigh: about two million.
const LIST_BYTES: usize = 64 * 1024 * 1024;
/// Room for the protocol around each fetched body.
const PER_MESSAGE_OVERHEAD: usize = 4 * 1024;
/// The slowest transfer rate a body fetch is given time for.
const MIN_BYTES_PER_SECOND: usize = 256 * 1024;

pub use crate::domain::channels::Tls;

/// Where a mailbox is and how to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapSettings {
    /// Server host name (also the TLS server name).
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Connection protection.
    pub tls: Tls,
    /// User name for `LOGIN`.
    pub username: String,
    /// Password for `LOGIN`.
    pub password: String,
    /// The mailbox to read, e.g. `INBOX`.
    pub mailbox: String,
}

/// One message fetched from the mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Its UID (valid for the mailbox's current UIDVALIDITY).
    pub uid: u32,
    /// The raw RFC 5322 message as the server holds it (at most [`MAX_MESSAGE_BYTES`]).
    pub raw: Vec<u8>,
    /// The message is larger than [`MAX_MESSAGE_BYTES`] and `raw` is only its beginning.
    pub truncated: bool,
}

/// What went wrong, for the worker to decide whether to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapErrorKind {
    /// The server cannot be reached, did not answer in time, or dropped the connection.
    Unreachable,
    /// TLS failed (handshake, certificate, no STARTTLS) or the server wants TLS for the login.
    Tls,
    /// Wrong user name or password.
    Auth,
    /// The mailbox does not exist or cannot be selected.
    Mailbox,
    /// The server answered something unexpected or too large.
    Protocol,
}

/// An IMAP failure, with a message written for the admin who configured the mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapError {
    /// What kind of failure.
    pub kind: ImapErrorKind,
    /// What happened, e.g. "wrong user name or password (the server said: …)".
    pub message: String,
}

impl ImapError {
    fn new(kind: ImapErrorKind, message: impl Into<String>) -> ImapError {
        ImapError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for ImapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ImapError {}

/// Marks the I/O error of an answer larger than allowed.
#[derive(Debug)]
struct TooLarge(usize);

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the answer exceeded {} bytes", self.0)
    }
}

impl std::error::Error for TooLarge {}

enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Finds literal announcements (`{123}` + CRLF) in what the server sends, skipping the
/// literals themselves, so that one larger than the budget is refused before async-imap
/// allocates a buffer for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    Text,
    /// In `{digits`.
    Size(u64),
    /// After `{digits}` (or `{digits+}`), then after its CR.
    Closed(u64),
    Cr(u64),
    /// Inside a literal: this many bytes left.
    Literal(u64),
}

impl Scan {
    /// Scan `bytes`; the size of the largest literal announced in them.
    fn feed(&mut self, mut bytes: &[u8]) -> u64 {
        let mut largest = 0;
        while let Some((&b, rest)) = bytes.split_first() {
            if let Scan::Literal(left) = *self {
                let skip = (left as usize).min(bytes.len());
                bytes = &bytes[skip..];
                let left = left - skip as u64;
                *self = if left == 0 {
                    Scan::Text
                } else {
                    Scan::Literal(left)
                };
                continue;
            }
            bytes = rest;
            *self = match (*self, b) {
                (Scan::Size(n), b'0'..=b'9') => {
                    Scan::Size(n.saturating_mul(10).saturating_add(u64::from(b - b'0')))
                }
                (Scan::Size(n), b'}') => Scan::Closed(n),
                (Scan::Size(n), b'+') => Scan::Size(n),
                (Scan::Closed(n), b'\r') => Scan::Cr(n),
                (Scan::Cr(n), b'\n') => {
                    largest = largest.max(n);
                    if n == 0 { Scan::Text } else { Scan::Literal(n) }
                }
                (_, b'{') => Scan::Size(0),
                _ => Scan::Text,
            };
        }
        largest
    }
}

/// The byte stream under async-imap: plain TCP or TLS, and a budget of bytes the server may
/// still send before the current command is answered.
pub struct Connection {
    transport: Transport,
    budget: usize,
    limit: usize,
    scan: Scan,
}

impl Connection {
    fn new(transport: Transport) -> Connection {
        Connection {
            transport,
            budget: ANSWER_BYTES,
            limit: ANSWER_BYTES,
            scan: Scan::Text,
        }
    }

    /// Allow the server `bytes` more until the next call.
    fn allow(&mut self, bytes: usize) {
        self.budget = bytes;
        self.limit = bytes;
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.transport {
            Transport::Plain(_) => "plain",
            Transport::Tls(_) => "tls",
        };
        f.debug_struct("Connection")
            .field("transport", &kind)
            .field("budget", &self.budget)
            .finish()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.budget == 0 {
            return Poll::Ready(Err(io::Error::other(TooLarge(this.limit))));
        }
        let before = buf.filled().len();
        let polled = match &mut this.transport {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        let read = &buf.filled()[before..];
        let announced = this.scan.feed(read);
        match this.budget.checked_sub(read.len()) {
            Some(left) if announced <= this.budget as u64 => this.budget = left,
            _ => return Poll::Ready(Err(io::Error::other(TooLarge(this.limit)))),
        }
        polled
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().transport {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().transport {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().transport {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

type Session = async_imap::Session<Connection>;

/// A logged-in IMAP connection with the configured mailbox selected.
#[derive(Debug)]
pub struct Mailbox {
    session: Session,
    /// `host:port`, for messages.
    server: String,
    mailbox: String,
    uid_validity: u32,
    idle: bool,
}

/// The TLS client configuration: the Mozilla roots of `webpki-roots`, ring.
fn default_tls_config() -> Result<Arc<ClientConfig>, ImapError> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(config.clone());
    }
    let roots: RootCertStore = webpki_roots::TLS_SERVER_ROOTS.iter().cloned().collect();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapError::new(ImapErrorKind::Tls, format!("TLS set-up failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(CONFIG.get_or_init(|| Arc::new(config)).clone())
}

impl Mailbox {
    /// Connect, protect the connection as `settings.tls` says (certificates checked against the
    /// Mozilla roots), log in and select the mailbox.
    pub async fn connect(settings: &ImapSettings) -> Result<Mailbox, ImapError> {
        Mailbox::connect_with_tls_config(settings, default_tls_config()?).await
    }

    /// [`Mailbox::connect`] with another TLS configuration (e.g. a test's own root certificate).
    pub async fn connect_with_tls_config(
        settings: &ImapSettings,
        tls_config: Arc<ClientConfig>,
    ) -> Result<Mailbox, ImapError> {
        let server = format!("{}:{}", settings.host, settings.port);
        let tcp = within(&server, COMMAND_TIMEOUT, async {
            TcpStream::connect((settings.host.as_str(), settings.port))
                .await
                .map_err(|e| {
                    ImapError::new(
                        ImapErrorKind::Unreachable,
                        format!("cannot reach {server}: {}", io_text(&e)),
                    )
                })
        })
        .await?;
        let _ = tcp.set_nodelay(true);
        let transport = match settings.tls {
            Tls::None | Tls::Starttls => Transport::Plain(tcp),
            Tls::Tls => handshake(&settings.host, &server, tcp, tls_config.clone()).await?,
        };
        let mut client = async_imap::Client::new(Connection::new(transport));
        within(&server, COMMAND_TIMEOUT, greeting(&mut client, &server)).await?;
        if settings.tls == Tls::Starttls {
            within(&server, COMMAND_TIMEOUT, async {
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| match e {
                        ImapProtoError::Bad(_) | ImapProtoError::No(_) => ImapError::new(
                            ImapErrorKind::Tls,
                            format!(
                                "{server} does not offer STARTTLS (the server said: {})",
                                server_text(&e)
                            ),
                        ),
                        other => lost(&server, other),
                    })
            })
            .await?;
            let Transport::Plain(tcp) = client.into_inner().transport else {
                unreachable!("STARTTLS starts from a plain connection");
            };
            let transport = handshake(&settings.host, &server, tcp, tls_config).await?;
            client = async_imap::Client::new(Connection::new(transport));
        }
        let mut session = within(&server, COMMAND_TIMEOUT, async {
            client
                .login(&settings.username, &settings.password)
                .await
                .map_err(|(e, _)| login_error(&server, e))
        })
        .await?;
        let idle = within(&server, COMMAND_TIMEOUT, async {
            session
                .capabilities()
                .await
                .map(|caps| caps.has_str("IDLE"))
                .map_err(|e| unexpected(&server, "CAPABILITY", e))
        })
        .await?;
        let selected =
            within(&server, COMMAND_TIMEOUT, async {
                session.select(&settings.mailbox).await.map_err(|e| match e {
                ImapProtoError::No(_) | ImapProtoError::Bad(_) | ImapProtoError::Validate(_) => {
                    ImapError::new(
                        ImapErrorKind::Mailbox,
                        format!(
                            "mailbox `{}` does not exist or cannot be opened (the server said: {})",
                            settings.mailbox,
                            server_text(&e)
                        ),
                    )
                }
                other => unexpected(&server, "SELECT", other),
            })
            })
            .await?;
        let Some(uid_validity) = selected.uid_validity else {
            return Err(ImapError::new(
                ImapErrorKind::Protocol,
                format!(
                    "{server} did not report the UIDVALIDITY of mailbox `{}`",
                    settings.mailbox
                ),
            ));
        };
        Ok(Mailbox {
            session,
            server,
            mailbox: settings.mailbox.clone(),
            uid_validity,
            idle,
        })
    }

    /// The mailbox's UIDVALIDITY: when it changes, UIDs seen before mean nothing.
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    /// Whether the server offers IDLE (else [`Mailbox::wait`] polls).
    pub fn supports_idle(&self) -> bool {
        self.idle
    }

    /// The messages with a UID above `last_uid`, ascending, at most `max`, without marking them
    /// seen. Each is fetched up to [`MAX_MESSAGE_BYTES`].
    pub async fn fetch_after(
        &mut self,
        last_uid: u32,
        max: usize,
    ) -> Result<Vec<Fetched>, ImapError> {
        let Some(first) = last_uid.checked_add(1) else {
            return Ok(Vec::new());
        };
        if max == 0 {
            return Ok(Vec::new());
        }
        self.session.get_mut().allow(ANSWER_BYTES);
        let server = self.server.clone();
        // A server shows messages that arrived since the last command only after telling us
        // (EXISTS at the end of a command): a NOOP first, so the search sees them all. The news
        // it brings is covered by this fetch.
        let session = &mut self.session;
        within(&server, COMMAND_TIMEOUT, async {
            session
                .noop()
                .await
                .map_err(|e| unexpected(&server, "NOOP", e))
        })
        .await?;
        self.take_changes();
        // `n:*` also matches the highest UID when n is above it: filter. One short line per
        // message (parsed one at a time, unlike a SEARCH answer's single line).
        let sizes = self.sizes(&format!("{first}:*")).await?;
        let uids: Vec<u32> = sizes
            .keys()
            .copied()
            .filter(|uid| *uid > last_uid)
            .take(max)
            .collect();
        let mut fetched = BTreeMap::new();
        for batch in batches(&uids, &sizes) {
            self.fetch_batch(&batch, &mut fetched).await?;
        }
        Ok(fetched.into_values().collect())
    }

    /// The UIDs in `uid_set` and the sizes the server reports for them.
    async fn sizes(&mut self, uid_set: &str) -> Result<BTreeMap<u32, u32>, ImapError> {
        self.session.get_mut().allow(LIST_BYTES);
        let server = self.server.clone();
        let session = &mut self.session;
        within(&server, COMMAND_TIMEOUT, async {
            let mut sizes = BTreeMap::new();
            let mut answers = session
                .uid_fetch(uid_set, "(UID RFC822.SIZE)")
                .await
                .map_err(|e| unexpected(&server, "UID FETCH", e))?;
            while let Some(fetch) = answers
                .try_next()
                .await
                .map_err(|e| unexpected(&server, "UID FETCH", e))?
            {
                if let Some(uid) = fetch.uid {
                    // A message whose size was not reported may be as large as allowed.
                    let size = fetch.size.unwrap_or(MAX_MESSAGE_BYTES as u32);
                    sizes.insert(uid, size);
                }
            }
            Ok(sizes)
        })
        .await
    }

    async fn fetch_batch(
        &mut self,
        batch: &[(u32, usize)],
        into: &mut BTreeMap<u32, Fetched>,
    ) -> Result<(), ImapError> {
        let expected: usize = batch.iter().map(|(_, bytes)| bytes).sum();
        let budget = expected + (batch.len() + 16) * PER_MESSAGE_OVERHEAD;
        self.session.get_mut().allow(budget);
        let uids: Vec<u32> = batch.iter().map(|(uid, _)| *uid).collect();
        let timeout = COMMAND_TIMEOUT + Duration::from_secs((budget / MIN_BYTES_PER_SECOND) as u64);
        let server = self.server.clone();
        let session = &mut self.session;
        within(&server, timeout, async {
            let mut answers = session
                .uid_fetch(
                    uid_set(&uids),
                    format!("(UID RFC822.SIZE BODY.PEEK[]<0.{MAX_MESSAGE_BYTES}>)"),
                )
                .await
                .map_err(|e| unexpected(&server, "UID FETCH", e))?;
            while let Some(fetch) = answers
                .try_next()
                .await
                .map_err(|e| unexpected(&server, "UID FETCH", e))?
            {
                // Unsolicited FETCH answers (flag changes of other messages) have no body.
                let (Some(uid), Some(body)) = (fetch.uid, fetch.body()) else {
                    continue;
                };
                if uids.binary_search(&uid).is_err() {
                    continue;
                }
                let mut raw = body.to_vec();
                let mut truncated = fetch.size.is_some_and(|size| size as usize > raw.len());
                if raw.len() > MAX_MESSAGE_BYTES {
                    raw.truncate(MAX_MESSAGE_BYTES);
                    truncated = true;
                }
                if truncated {
                    tracing::warn!(
                        server = %server, uid, size = ?fetch.size,
                        "message larger than {MAX_MESSAGE_BYTES} bytes: only its beginning is read"
                    );
                }
                into.insert(
                    uid,
                    Fetched {
                        uid,
                        raw,
                        truncated,
                    },
                );
            }
            Ok(())
        })
        .await
    }

    /// Wait until the server reports a change in the mailbox, or `timeout` passes: with IDLE
    /// (ended with DONE), else a NOOP after sleeping `timeout`. Returns at once when a change was
    /// already reported during earlier commands.
    pub async fn wait(mut self, timeout: Duration) -> Result<Mailbox, ImapError> {
        if self.take_changes() {
            return Ok(self);
        }
        let server = self.server.clone();
        self.session.get_mut().allow(ANSWER_BYTES);
        if !self.idle {
            tokio::time::sleep(timeout).await;
            let session = &mut self.session;
            within(&server, COMMAND_TIMEOUT, async {
                session
                    .noop()
                    .await
                    .map_err(|e| unexpected(&server, "NOOP", e))
            })
            .await?;
            return Ok(self);
        }
        let Mailbox {
            session,
            server,
            mailbox,
            uid_validity,
            idle,
        } = self;
        let mut handle = session.idle();
        within(&server, COMMAND_TIMEOUT, async {
            handle
                .init()
                .await
                .map_err(|e| unexpected(&server, "IDLE", e))
        })
        .await?;
        {
            // The handle's own timeout restarts with every keep-alive line: bound the total too.
            let (news, _interrupt) = handle.wait_with_timeout(timeout);
            if let Ok(Err(e)) = tokio::time::timeout(timeout, news).await {
                return Err(unexpected(&server, "IDLE", e));
            }
        }
        let session = within(&server, COMMAND_TIMEOUT, async {
            handle
                .done()
                .await
                .map_err(|e| unexpected(&server, "DONE", e))
        })
        .await?;
        Ok(Mailbox {
            session,
            server,
            mailbox,
            uid_validity,
            idle,
        })
    }

    /// Whether the server reported new or removed messages since the last look (and forget it).
    fn take_changes(&mut self) -> bool {
        let mut changed = false;
        while let Ok(response) = self.session.unsolicited_responses.try_recv() {
            changed |= matches!(
                response,
                UnsolicitedResponse::Exists(_)
                    | UnsolicitedResponse::Recent(_)
                    | UnsolicitedResponse::Expunge(_)
            );
        }
        changed
    }

    /// Log out politely (bounded by a short timeout; errors are ignored: we are leaving).
    pub async fn logout(mut self) {
        self.session.get_mut().allow(ANSWER_BYTES);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
        tracing::debug!(server = %self.server, mailbox = %self.mailbox, "logged out");
    }
}

/// Run `work`, or fail with "no answer from … in N s" after `timeout`.
async fn within<T>(
    server: &str,
    timeout: Duration,
    work: impl Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(ImapError::new(
            ImapErrorKind::Unreachable,
            format!("no answer from {server} in {} s", timeout.as_secs()),
        )),
    }
}

async fn handshake(
    host: &str,
    server: &str,
    tcp: TcpStream,
    config: Arc<ClientConfig>,
) -> Result<Transport, ImapError> {
    let name = ServerName::try_from(host.to_owned()).map_err(|_| {
        ImapError::new(
            ImapErrorKind::Tls,
            format!("`{host}` is not a valid TLS server name"),
        )
    })?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let stream = within(server, COMMAND_TIMEOUT, async {
        connector.connect(name, tcp).await.map_err(|e| {
            ImapError::new(
                ImapErrorKind::Tls,
                format!("TLS refused by {server}: {}", io_text(&e)),
            )
        })
    })
    .await?;
    Ok(Transport::Tls(Box::new(stream)))
}

/// Read the server's greeting: `* OK` (or the reason it turns us away).
async fn greeting(
    client: &mut async_imap::Client<Connection>,
    server: &str,
) -> Result<(), ImapError> {
    let response = client
        .read_response()
        .await
        .map_err(|e| lost(server, e.into()))?
        .ok_or_else(|| {
            ImapError::new(
                ImapErrorKind::Unreachable,
                format!("{server} closed the connection without a greeting"),
            )
        })?;
    match response.parsed() {
        Response::Data {
            status: Status::Ok, ..
        } => Ok(()),
        Response::Data {
            status: Status::Bye,
            information,
            ..
        } => Err(ImapError::new(
            ImapErrorKind::Unreachable,
            format!(
                "{server} turned the connection away (the server said: {})",
                information.as_deref().unwrap_or("BYE")
            ),
        )),
        other => Err(ImapError::new(
            ImapErrorKind::Protocol,
            format!(
                "{server} did not greet as an IMAP server: {}",
                clip(&format!("{other:?}"))
            ),
        )),
    }
}

fn login_error(server: &str, e: ImapProtoError) -> ImapError {
    match &e {
        ImapProtoError::No(text) | ImapProtoError::Bad(text) => {
            let said = server_text(&e);
            let wants_tls = [
                "PRIVACYREQUIRED",
                "LOGINDISABLED",
                "SSL/TLS",
                "STARTTLS",
                "WITHOUT TLS",
            ]
            .iter()
            .any(|w| text.to_ascii_uppercase().contains(w));
            if wants_tls {
                ImapError::new(
                    ImapErrorKind::Tls,
                    format!(
                        "{server} accepts the password only over TLS: set tls to `starttls` or \
                         `tls` (the server said: {said})"
                    ),
                )
            } else {
                ImapError::new(
                    ImapErrorKind::Auth,
                    format!("wrong user name or password (the server said: {said})"),
                )
            }
        }
        ImapProtoError::Validate(_) => ImapError::new(
            ImapErrorKind::Auth,
            "the user name or password contains a line break",
        ),
        _ => lost(server, e),
    }
}

/// A failure of an established connection.
fn lost(server: &str, e: ImapProtoError) -> ImapError {
    match e {
        ImapProtoError::Io(io) => {
            if let Some(too_large) = io.get_ref().and_then(|e| e.downcast_ref::<TooLarge>()) {
                return ImapError::new(
                    ImapErrorKind::Protocol,
                    format!("{server} sent more than asked for: {too_large}"),
                );
            }
            ImapError::new(
                ImapErrorKind::Unreachable,
                format!("lost the connection to {server}: {}", io_text(&io)),
            )
        }
        ImapProtoError::ConnectionLost => ImapError::new(
            ImapErrorKind::Unreachable,
            format!("lost the connection to {server}"),
        ),
        other => ImapError::new(
            ImapErrorKind::Protocol,
            format!(
                "unexpected answer from {server}: {}",
                clip(&other.to_string())
            ),
        ),
    }
}

/// A failure of `command` on an established connection.
fn unexpected(server: &str, command: &str, e: ImapProtoError) -> ImapError {
    match e {
        ImapProtoError::No(_) | ImapProtoError::Bad(_) => ImapError::new(
            ImapErrorKind::Protocol,
            format!(
                "{server} refused {command} (the server said: {})",
                server_text(&e)
            ),
        ),
        other => lost(server, other),
    }
}

/// The server's own words in async-imap's `code: …, info: Some("…")` error text.
fn server_text(e: &ImapProtoError) -> String {
    let text = match e {
        ImapProtoError::No(t) | ImapProtoError::Bad(t) => t.as_str(),
        _ => return clip(&e.to_string()),
    };
    let words = text
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map(|(info, _)| info.replace("\\\"", "\"").replace("\\\\", "\\"));
    clip(words.as_deref().unwrap_or(text))
}

/// Server text in a message: one line, at most 300 characters.
fn clip(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    line.trim().to_owned()
}

/// "connection refused" rather than "Connection refused (os error 111)".
fn io_text(e: &io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => format!("{:?}", e.kind()),
    }
}

/// `1:4,7,9:10` for ascending UIDs.
fn uid_set(uids: &[u32]) -> String {
    let mut set = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = uids[i];
        }
        if !set.is_empty() {
            set.push(',');
        }
        if start == end {
            set.push_str(&start.to_string());
        } else {
            set.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    set
}

/// UIDs grouped so that each group's bodies add up to at most [`BATCH_BYTES`] (a larger message
/// is a group of its own), each with the bytes expected for it.
fn batches(uids: &[u32], sizes: &BTreeMap<u32, u32>) -> Vec<Vec<(u32, usize)>> {
    let mut batches = Vec::new();
    let mut batch: Vec<(u32, usize)> = Vec::new();
    let mut bytes = 0;
    for &uid in uids {
        let expected = sizes
            .get(&uid)
            .map_or(MAX_MESSAGE_BYTES, |s| (*s as usize).min(MAX_MESSAGE_BYTES));
        if !batch.is_empty() && bytes + expected > BATCH_BYTES {
            batches.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        batch.push((uid, expected));
        bytes += expected;
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_announcements_are_found_and_literals_skipped() {
        let mut scan = Scan::Text;
        assert_eq!(scan.feed(b"* 1 FETCH (UID 1 BODY[] {12}\r\n"), 12);
        // The literal's own bytes (which announce a huge one) are not announcements.
        assert_eq!(scan.feed(b"{99999}\r\n"), 0);
        assert_eq!(scan.feed(b"ab)\r\n"), 0);
        assert_eq!(scan, Scan::Text);
        // Announcements split across reads, and a saturating size.
        assert_eq!(scan.feed(b"* 2 FETCH (BODY[] {4"), 0);
        assert_eq!(scan.feed(b"2}\r"), 0);
        assert_eq!(scan.feed(b"\n"), 42);
        let mut scan = Scan::Text;
        assert_eq!(scan.feed(b"{99999999999999999999999}\r\n"), u64::MAX);
        assert_eq!(Scan::Text.feed(b"* OK {not a literal}\r\n"), 0);
    }

    #[test]
    fn consecutive_uids_become_ranges() {
        assert_eq!(uid_set(&[1, 2, 3, 4, 7, 9, 10]), "1:4,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[u32::MAX - 1, u32::MAX]), "4294967294:4294967295");
    }

    #[test]
    fn large_messages_are_fetched_in_their_own_batch() {
        let sizes = BTreeMap::from([(1, 100), (2, 40 * 1024 * 1024), (3, 200), (4, 300)]);
        let groups = batches(&[1, 2, 3, 4], &sizes);
        assert_eq!(
            groups,
            vec![
                vec![(1, 100)],
                vec![(2, MAX_MESSAGE_BYTES)],
                vec![(3, 200), (4, 300)]
            ]
        );
    }

    #[test]
    fn a_message_of_unknown_size_is_budgeted_at_the_limit() {
        let groups = batches(&[1, 2], &BTreeMap::from([(1, 10)]));
        assert_eq!(groups, vec![vec![(1, 10)], vec![(2, MAX_MESSAGE_BYTES)]]);
    }

    #[test]
    fn the_servers_words_are_taken_from_async_imaps_error_text() {
        let e = ImapProtoError::No(
            "code: Some(AuthenticationFailed), info: Some(\"Authentication failed.\")".into(),
        );
        assert_eq!(server_text(&e), "Authentication failed.");
        let e = ImapProtoError::No("something else\r\nentirely".into());
        assert_eq!(server_text(&e), "something else  entirely");
    }

    #[test]
    fn a_login_refused_for_want_of_tls_is_a_tls_error() {
        let e = ImapProtoError::No(
            "code: Some(PrivacyRequired), info: Some(\"Plaintext authentication disallowed\")"
                .into(),
        );
        assert_eq!(login_error("h:143", e).kind, ImapErrorKind::Tls);
        let e = ImapProtoError::No("code: None, info: Some(\"Authentication failed.\")".into());
        let error = login_error("h:143", e);
        assert_eq!(error.kind, ImapErrorKind::Auth);
        assert_eq!(
            error.to_string(),
            "wrong user name or password (the server said: Authentication failed.)"
        );
    }
}
