//! One HTTP POST to an integration (a webhook, the SMS gateway): http or https (webpki roots),
//! with a deadline, and the answer classified the way the delivery queue needs it.

pub use ::http::Method;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;

/// How long a call may take, connection included.
const DEADLINE: Duration = Duration::from_secs(30);

/// The answer to a call.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The start of the body.
    pub body: String,
}

/// Why a call got no answer.
#[derive(Debug, Clone)]
pub struct CallError(pub String);

/// The TLS client settings of every outgoing connection (HTTP calls, SMTP): webpki roots, ring.
pub fn tls_config() -> Arc<tokio_rustls::rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<tokio_rustls::rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = tokio_rustls::rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
            let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// `POST url` with a JSON `body` and `headers`, over [`call`]'s kept-alive connections; only
/// the start of the answer is kept (it goes into the delivery's record).
pub async fn post_json(
    url: &str,
    headers: &[(&str, String)],
    body: String,
) -> Result<Answer, CallError> {
    let mut all = vec![("content-type", "application/json".to_owned())];
    all.extend(headers.iter().cloned());
    let mut answer = call(Method::POST, url, &all, body.into_bytes()).await?;
    answer.body.truncate(500);
    Ok(Answer {
        status: answer.status,
        body: String::from_utf8_lossy(&answer.body).into_owned(),
    })
}

/// Whether an HTTP status means the call is refused for good (4xx but 408 and 429).
pub fn permanent(status: u16) -> bool {
    (400..500).contains(&status) && status != 408 && status != 429
}

/// A full answer (status, the headers asked for, the whole body up to [`BODY_LIMIT`]).
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// `Retry-After`, in seconds, when given as a number.
    pub retry_after: Option<u64>,
    /// The body.
    pub body: Vec<u8>,
}

/// The largest body [`call`] reads.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;
type Idle = std::sync::Mutex<std::collections::HashMap<(bool, String, u16), Vec<Sender>>>;

/// Idle keep-alive connections by (https, host, port): an API client makes thousands of calls
/// to one host, and a new TCP (and TLS) connection for each would cost more than the call.
fn idle() -> &'static Idle {
    static IDLE: OnceLock<Idle> = OnceLock::new();
    IDLE.get_or_init(Default::default)
}

/// Connections kept idle per host.
const IDLE_PER_HOST: usize = 16;

/// `method url` with `headers` and an optional body, over a kept-alive connection, within
/// the deadline.
pub async fn call(
    method: Method,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<Response, CallError> {
    tokio::time::timeout(DEADLINE, call_once(method, url, headers, body))
        .await
        .map_err(|_| CallError(format!("no answer from {url} in {} s", DEADLINE.as_secs())))?
}

async fn call_once(
    method: Method,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<Response, CallError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| CallError(format!("`{url}` is not a URL: {e}")))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(CallError(format!("`{url}` is not an http(s) URL"))),
    };
    let host = uri
        .host()
        .ok_or_else(|| CallError(format!("`{url}` has no host")))?
        .trim_matches(['[', ']'])
        .to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let key = (https, host.clone(), port);
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let build = || {
        let mut request = hyper::Request::builder()
            .method(method.clone())
            .uri(path.as_str())
            .header(
                hyper::header::HOST,
                uri.authority().map(|a| a.as_str()).unwrap_or(&host),
            )
            .header(hyper::header::USER_AGENT, "ferrule");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| CallError(format!("cannot build the request: {e}")))
    };
    // A kept connection the server has closed fails before the request is written; then a
    // new connection is made. One that fails later is not tried again (a POST may have landed).
    let mut kept = None;
    while let Some(mut sender) = {
        let mut pool = idle().lock().unwrap_or_else(|e| e.into_inner());
        pool.get_mut(&key).and_then(Vec::pop)
    } {
        if sender.ready().await.is_ok() {
            kept = Some(sender);
            break;
        }
    }
    let mut sender = match kept {
        Some(s) => s,
        None => connect(https, &host, port).await?,
    };
    let response = match sender.send_request(build()?).await {
        Ok(r) => r,
        Err(e) if e.is_canceled() => {
            let mut fresh = connect(https, &host, port).await?;
            let r = fresh
                .send_request(build()?)
                .await
                .map_err(|e| CallError(format!("{host} did not answer: {e}")))?;
            sender = fresh;
            r
        }
        Err(e) => return Err(CallError(format!("{host} did not answer: {e}"))),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let mut body = Vec::new();
    let mut stream = response.into_body();
    while let Some(frame) = stream.frame().await {
        let frame = frame.map_err(|e| CallError(format!("{host} broke off its answer: {e}")))?;
        if let Some(data) = frame.data_ref() {
            body.extend_from_slice(data);
        }
        if body.len() > BODY_LIMIT {
            return Err(CallError(format!(
                "{host} answered with more than {BODY_LIMIT} bytes"
            )));
        }
    }
    let mut pool = idle().lock().unwrap_or_else(|e| e.into_inner());
    let kept = pool.entry(key).or_default();
    if kept.len() < IDLE_PER_HOST {
        kept.push(sender);
    }
    Ok(Response {
        status,
        retry_after,
        body,
    })
}

async fn connect(https: bool, host: &str, port: u16) -> Result<Sender, CallError> {
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| CallError(format!("cannot reach {host}:{port}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    if https {
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|e| CallError(format!("`{host}` is not a TLS server name: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(tls_config())
            .connect(name, tcp)
            .await
            .map_err(|e| CallError(format!("TLS with {host}:{port} failed: {e}")))?;
        handshake(TokioIo::new(tls), host).await
    } else {
        handshake(TokioIo::new(tcp), host).await
    }
}

async fn handshake<S>(io: TokioIo<S>, host: &str) -> Result<Sender, CallError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| CallError(format!("HTTP with {host} failed: {e}")))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}
