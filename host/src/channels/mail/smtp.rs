//! Sending through SMTP with lettre's async (tokio) transport: one pooled transport per server
//! settings, a bounded number of connections each, and failures sorted into permanent (an SMTP
//! 5xx refusal: the delivery is dead at once) and transient (everything else: retried).

use std::collections::HashMap;
use std::error::Error as _;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::Message;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::authentication::Mechanism;
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, CertificateStore, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

pub use super::imap::Tls;

/// Where and how to send.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct SmtpSettings {
    /// The server's host name (also the name its certificate must carry).
    pub host: String,
    /// The port: 587 for STARTTLS, 465 for TLS, 25 for a relay.
    pub port: u16,
    /// How the connection is secured.
    pub tls: Tls,
    /// The login; no authentication when `None`.
    pub username: Option<String>,
    /// The password for `username`.
    pub password: Option<String>,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The server refused it for good (an SMTP 5xx reply), or it can never be sent as it is.
    #[error("{0}")]
    Permanent(String),
    /// Worth retrying: a 4xx reply, an unreachable server, a timeout, a TLS failure.
    #[error("{0}")]
    Transient(String),
}

impl SendError {
    /// Whether retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }
}

/// SMTP command and connect timeout.
const TIMEOUT: Duration = Duration::from_secs(30);
/// At most this many connections (and sends in flight) per server settings.
const CONNECTIONS_PER_SERVER: u32 = 8;
/// Settings kept before the cache forgets one (settings change rarely; this only bounds it).
const MAX_CACHED: usize = 256;

/// The cache key: the settings with the password only as a hash.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    host: String,
    port: u16,
    tls: Tls,
    username: Option<String>,
    password: Option<[u8; 32]>,
}

impl Key {
    fn of(settings: &SmtpSettings) -> Self {
        Key {
            host: settings.host.trim().to_ascii_lowercase(),
            port: settings.port,
            tls: settings.tls,
            username: settings.username.clone(),
            password: settings
                .password
                .as_ref()
                .map(|p| Sha256::digest(p.as_bytes()).into()),
        }
    }
}

/// One server's connections: idle ones kept for the next send, at most
/// [`CONNECTIONS_PER_SERVER`] in use at once.
#[derive(Clone)]
struct Mailer {
    settings: Arc<SmtpSettings>,
    idle: Arc<Mutex<Vec<AsyncSmtpConnection>>>,
    permits: Arc<Semaphore>,
}

/// Pooled SMTP transports by settings: many deliveries to one server share a few connections.
pub struct Mailers {
    cache: Mutex<HashMap<Key, Mailer>>,
}

impl Default for Mailers {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Mailers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let servers = self.cache.lock().map(|c| c.len()).unwrap_or_default();
        f.debug_struct("Mailers")
            .field("servers", &servers)
            .finish()
    }
}

impl Mailers {
    /// An empty cache.
    pub fn new() -> Self {
        Mailers {
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Sends `message` to `envelope_to` (its envelope sender is the message's From) and answers
    /// the server's reply to DATA, e.g. `250 OK queued`. Call it inside a tokio runtime.
    pub async fn send(
        &self,
        settings: &SmtpSettings,
        message: &Message,
        envelope_to: &[String],
    ) -> Result<String, SendError> {
        let envelope = envelope(message, envelope_to)?;
        let mailer = self.mailer(settings)?;
        let _permit = mailer
            .permits
            .acquire()
            .await
            .map_err(|_| SendError::Transient("the mailer is shutting down".into()))?;
        let raw = message.formatted();
        let sent = mailer.send(&envelope, &raw).await;
        match sent {
            Ok(response) => {
                let lines: Vec<&str> = response.message().collect();
                let reply = format!("{} {}", response.code(), lines.join(" "));
                tracing::debug!(host = %settings.host, port = settings.port, %reply, "smtp accepted");
                Ok(reply.trim_end().to_owned())
            }
            Err(err) => {
                let error = describe(&err, settings);
                tracing::debug!(host = %settings.host, port = settings.port, %error, "smtp failed");
                Err(error)
            }
        }
    }

    fn mailer(&self, settings: &SmtpSettings) -> Result<Mailer, SendError> {
        let key = Key::of(settings);
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(mailer) = cache.get(&key) {
            return Ok(mailer.clone());
        }
        if settings.host.trim().is_empty() {
            return Err(SendError::Permanent(
                "the SMTP settings have no host".into(),
            ));
        }
        let mailer = Mailer {
            settings: Arc::new(settings.clone()),
            idle: Default::default(),
            permits: Arc::new(Semaphore::new(CONNECTIONS_PER_SERVER as usize)),
        };
        if cache.len() >= MAX_CACHED
            && let Some(old) = cache.keys().next().cloned()
        {
            cache.remove(&old);
        }
        cache.insert(key, mailer.clone());
        tracing::debug!(host = %settings.host, port = settings.port, tls = ?settings.tls, "smtp transport created");
        Ok(mailer)
    }
}

fn envelope(message: &Message, envelope_to: &[String]) -> Result<Envelope, SendError> {
    let mut to = Vec::with_capacity(envelope_to.len());
    for address in envelope_to {
        let parsed = address
            .trim()
            .parse::<Address>()
            .map_err(|_| SendError::Permanent(format!("`{address}` is not an e-mail address")))?;
        to.push(parsed);
    }
    let from = message.envelope().from().cloned();
    Envelope::new(from, to)
        .map_err(|e| SendError::Permanent(format!("the envelope is not valid: {e}")))
}

/// Why a send failed: a lettre error, or our own connect.
enum Failed {
    Smtp(lettre::transport::smtp::Error),
    Connect(std::io::Error),
    Tls(String),
    Timeout,
}

/// Implicit TLS on our own socket (lettre takes any stream for a connection).
#[derive(Debug)]
struct TlsTcp(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl tokio::io::AsyncRead for TlsTcp {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsTcp {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl Mailer {
    /// Send on an idle connection, or a new one. A pooled connection the server has closed
    /// meanwhile fails on its first command; then the send is tried once on a new one.
    async fn send(&self, envelope: &Envelope, raw: &[u8]) -> Result<Response, Failed> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let reused = pooled.is_some();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.connect().await?,
        };
        let mut sent = tokio::time::timeout(TIMEOUT, conn.send(envelope, raw)).await;
        if reused && matches!(&sent, Ok(Err(e)) if e.status().is_none()) {
            conn = self.connect().await?;
            sent = tokio::time::timeout(TIMEOUT, conn.send(envelope, raw)).await;
        }
        match sent {
            Err(_) => Err(Failed::Timeout),
            Ok(Err(e)) => Err(Failed::Smtp(e)),
            Ok(Ok(response)) => {
                if !conn.has_broken() {
                    self.idle
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(conn);
                }
                Ok(response)
            }
        }
    }

    /// A new connection: greeted, secured as the settings say, logged in.
    ///
    /// The socket is ours, with TCP_NODELAY: lettre writes a message and its final `.` in two
    /// writes, and with Nagle's algorithm on, the second waited for the server's delayed ACK
    /// (≈ 40 ms per mail).
    async fn connect(&self) -> Result<AsyncSmtpConnection, Failed> {
        let s = &*self.settings;
        let host = s.host.trim();
        let hello = ClientId::default();
        let tls = || {
            TlsParameters::builder(host.to_owned())
                .certificate_store(CertificateStore::WebpkiRoots)
                .build_rustls()
                .map_err(Failed::Smtp)
        };
        let connect = async {
            let tcp = tokio::net::TcpStream::connect((host, s.port))
                .await
                .map_err(Failed::Connect)?;
            let _ = tcp.set_nodelay(true);
            let mut conn = match s.tls {
                Tls::Tls => {
                    let name =
                        tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned())
                            .map_err(|e| {
                                Failed::Tls(format!("`{host}` is not a TLS server name: {e}"))
                            })?;
                    let stream =
                        tokio_rustls::TlsConnector::from(crate::channels::http::tls_config())
                            .connect(name, tcp)
                            .await
                            .map_err(|e| Failed::Tls(e.to_string()))?;
                    AsyncSmtpConnection::connect_with_transport(Box::new(TlsTcp(stream)), &hello)
                        .await
                        .map_err(Failed::Smtp)?
                }
                Tls::None | Tls::Starttls => {
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
                        .await
                        .map_err(Failed::Smtp)?
                }
            };
            if s.tls == Tls::Starttls {
                conn.starttls(tls()?, &hello).await.map_err(Failed::Smtp)?;
            }
            if let Some(user) = &s.username {
                let credentials =
                    Credentials::new(user.clone(), s.password.clone().unwrap_or_default());
                conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                    .await
                    .map_err(Failed::Smtp)?;
            }
            Ok(conn)
        };
        tokio::time::timeout(TIMEOUT, connect)
            .await
            .map_err(|_| Failed::Timeout)?
    }
}

fn describe(failed: &Failed, settings: &SmtpSettings) -> SendError {
    let target = format!("{}:{}", settings.host.trim(), settings.port);
    match failed {
        Failed::Smtp(e) => classify(e, settings),
        Failed::Connect(io) => SendError::Transient(unreachable(&target, io)),
        Failed::Tls(e) => SendError::Transient(format!("TLS with {target} failed: {e}")),
        Failed::Timeout => SendError::Transient(format!("{target} did not answer in time")),
    }
}

/// Sorts a lettre error: the server's 4xx/5xx reply text is kept; other failures are described
/// with the server they concern.
fn classify(err: &lettre::transport::smtp::Error, settings: &SmtpSettings) -> SendError {
    let target = format!("{}:{}", settings.host.trim(), settings.port);
    let source = err.source().map(|s| s.to_string()).unwrap_or_default();
    if let Some(code) = err.status() {
        let code = code.to_string().parse().unwrap_or(0);
        return from_reply(code, &source);
    }
    if err.is_timeout() {
        return SendError::Transient(format!("{target} did not answer in time"));
    }
    if err.is_tls() {
        return SendError::Transient(format!("TLS with {target} failed: {source}"));
    }
    let io = err
        .source()
        .and_then(|s| s.downcast_ref::<std::io::Error>());
    match io {
        Some(io) => SendError::Transient(unreachable(&target, io)),
        None if source.is_empty() => {
            SendError::Transient(format!("sending through {target} failed: {err}"))
        }
        None => SendError::Transient(format!("sending through {target} failed: {source}")),
    }
}

/// A server reply: 5xx is permanent, anything else transient; the server's text is kept.
fn from_reply(code: u16, text: &str) -> SendError {
    let reply = format!("{code} {}", text.trim()).trim_end().to_owned();
    match code {
        500..=599 => SendError::Permanent(format!("the server refused: {reply}")),
        400..=499 => SendError::Transient(format!("the server deferred: {reply}")),
        _ => SendError::Transient(format!("the server answered unexpectedly: {reply}")),
    }
}

/// "cannot reach smtp.example.com:587: connection refused".
fn unreachable(target: &str, io: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let reason = match io.kind() {
        ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        ErrorKind::TimedOut => "timed out".to_owned(),
        ErrorKind::ConnectionReset => "connection reset".to_owned(),
        ErrorKind::HostUnreachable => "host unreachable".to_owned(),
        ErrorKind::NetworkUnreachable => "network unreachable".to_owned(),
        _ => io.to_string(),
    };
    format!("cannot reach {target}: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    #[test]
    fn a_5xx_reply_is_permanent_and_keeps_the_server_text() {
        let err = from_reply(550, "5.1.1 <refuse@x>: mailbox unavailable");
        assert_eq!(
            err,
            SendError::Permanent(
                "the server refused: 550 5.1.1 <refuse@x>: mailbox unavailable".into()
            )
        );
        assert!(err.is_permanent());
        assert_eq!(
            err.to_string(),
            "the server refused: 550 5.1.1 <refuse@x>: mailbox unavailable"
        );
        assert!(from_reply(535, "5.7.8 authentication failed").is_permanent());
    }

    #[test]
    fn a_4xx_reply_is_transient() {
        let err = from_reply(451, "4.7.1 greylisted, try later ");
        assert_eq!(
            err,
            SendError::Transient("the server deferred: 451 4.7.1 greylisted, try later".into())
        );
        assert!(!from_reply(421, "").is_permanent());
    }

    #[test]
    fn an_unreachable_server_is_described_by_host_and_port() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            unreachable("smtp.example.com:587", &refused),
            "cannot reach smtp.example.com:587: connection refused"
        );
    }

    #[test]
    fn settings_debug_hides_the_password() {
        let settings = plain(25);
        let debug = format!(
            "{:?}",
            SmtpSettings {
                password: Some("hunter2".into()),
                ..settings
            }
        );
        assert!(
            !debug.contains("hunter2") && debug.contains("<redacted>"),
            "{debug}"
        );
    }

    #[test]
    fn tls_reads_lowercase() {
        let tls: Vec<Tls> = serde_json::from_str(r#"["none","starttls","tls"]"#).unwrap();
        assert_eq!(tls, [Tls::None, Tls::Starttls, Tls::Tls]);
    }

    fn plain(port: u16) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: Tls::None,
            username: None,
            password: None,
        }
    }

    fn message() -> Message {
        Message::builder()
            .from("reklamacje@sklep.pl".parse().unwrap())
            .to("jan@example.com".parse().unwrap())
            .subject("test")
            .body("hello\n".to_owned())
            .unwrap()
    }

    /// A tiny SMTP server: refuses RCPT for `refuse@…`, queues everything else; counts connections.
    async fn fake_server() -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                    let mut in_data = false;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if in_data {
                            if line != "." {
                                continue;
                            }
                            in_data = false;
                            b"250 OK queued\r\n"
                        } else if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                            b"250-fake\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("RCPT") && upper.contains("REFUSE@") {
                            b"550 5.1.1 <refuse@x>: mailbox unavailable\r\n"
                        } else if upper.starts_with("DATA") {
                            in_data = true;
                            b"354 go ahead\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 OK\r\n"
                        };
                        if write.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (port, connections)
    }

    #[tokio::test]
    async fn sends_answer_the_data_reply_and_share_one_connection() {
        let (port, connections) = fake_server().await;
        let mailers = Mailers::new();
        let settings = plain(port);
        for _ in 0..3 {
            let reply = mailers
                .send(&settings, &message(), &["jan@example.com".into()])
                .await
                .unwrap();
            assert_eq!(reply, "250 OK queued");
        }
        assert_eq!(connections.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_to_one_server_opens_a_bounded_number_of_connections() {
        let (port, connections) = fake_server().await;
        let mailers = Arc::new(Mailers::new());
        let sends: Vec<_> = (0..200)
            .map(|_| {
                let mailers = mailers.clone();
                tokio::spawn(async move {
                    mailers
                        .send(&plain(port), &message(), &["jan@example.com".into()])
                        .await
                })
            })
            .collect();
        for send in sends {
            assert_eq!(send.await.unwrap().unwrap(), "250 OK queued");
        }
        let opened = connections.load(Ordering::SeqCst);
        assert!(
            opened <= CONNECTIONS_PER_SERVER as usize + 2,
            "{opened} connections for 200 sends"
        );
    }

    #[tokio::test]
    async fn a_refused_recipient_is_a_permanent_error_with_the_server_text() {
        let (port, _) = fake_server().await;
        let err = Mailers::new()
            .send(&plain(port), &message(), &["refuse@x".into()])
            .await
            .unwrap_err();
        assert_eq!(
            err,
            SendError::Permanent(
                "the server refused: 550 5.1.1 <refuse@x>: mailbox unavailable".into()
            )
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_a_transient_error_naming_the_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = Mailers::new()
            .send(&plain(port), &message(), &["jan@example.com".into()])
            .await
            .unwrap_err();
        assert_eq!(
            err,
            SendError::Transient(format!("cannot reach 127.0.0.1:{port}: connection refused"))
        );
    }

    #[tokio::test]
    async fn a_bad_envelope_address_is_permanent() {
        let err = Mailers::new()
            .send(&plain(1), &message(), &["nope".into()])
            .await
            .unwrap_err();
        assert_eq!(
            err,
            SendError::Permanent("`nope` is not an e-mail address".into())
        );
    }
}
