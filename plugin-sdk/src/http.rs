//! Outgoing HTTP for action plugins (translation, AI replies, …).
//!
//! In the component this goes through `wasi:http`: the host sends only to the hosts the tenant
//! admin granted, and checks every hop of a redirect. Natively (in unit tests) a small HTTP/1.1
//! client over TCP sends plain `http://` requests, so plugin logic can be tested against a local
//! server.

use ferrule_types::PluginError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest response body read, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 4 << 20;
/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
}

/// An outgoing request.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Absolute `http://` or `https://` URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// A response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names (lower-case) and values.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Parse a 2xx body as JSON; other statuses and bad JSON are `Unavailable` errors that quote
    /// the start of the body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        let text = String::from_utf8_lossy(&self.body);
        let excerpt: String = text.chars().take(200).collect();
        if !(200..300).contains(&self.status) {
            return Err(PluginError::unavailable(format!(
                "HTTP {}: {excerpt}",
                self.status
            )));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| PluginError::unavailable(format!("unexpected response ({e}): {excerpt}")))
    }
}

/// POST `body` as JSON to `url` with extra headers, following redirects.
pub fn post_json<B: Serialize>(
    url: &str,
    headers: &[(&str, &str)],
    body: &B,
) -> Result<Response, PluginError> {
    let mut all = vec![("content-type".to_owned(), "application/json".to_owned())];
    all.extend(
        headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    let body = serde_json::to_vec(body).map_err(|e| PluginError::failed(e.to_string()))?;
    send(Request {
        method: Method::Post,
        url: url.to_owned(),
        headers: all,
        body,
    })
}

/// Send a request, following up to [`MAX_REDIRECTS`] redirects. Each hop is a new request, so
/// the host checks each one against the grants.
pub fn send(mut request: Request) -> Result<Response, PluginError> {
    for _ in 0..=MAX_REDIRECTS {
        let response = send_once(&request)?;
        let location = match response.status {
            301 | 302 | 303 | 307 | 308 => response.header("location").map(str::to_owned),
            _ => None,
        };
        let Some(location) = location else {
            return Ok(response);
        };
        request.url = resolve(&request.url, &location)?;
        if response.status == 303 {
            request.method = Method::Get;
            request.body.clear();
        }
    }
    Err(PluginError::unavailable(format!(
        "more than {MAX_REDIRECTS} redirects"
    )))
}

/// Check that `url` (from config key `field`) is an absolute `http://` or `https://` URL with a
/// plain host, for `validate`.
pub fn parse_url_checked(url: &str, field: &str) -> Result<(), PluginError> {
    parse_url(url).map(|_| ()).map_err(|e| match e {
        PluginError::InvalidConfig { message, .. } => PluginError::invalid_config(field, message),
        other => other,
    })
}

/// The parts of an absolute URL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Url<'a> {
    pub https: bool,
    pub authority: &'a str,
    pub path: &'a str,
}

pub(crate) fn parse_url(url: &str) -> Result<Url<'_>, PluginError> {
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(PluginError::invalid_config(
            "endpoint",
            format!("`{url}` is not an http:// or https:// URL"),
        ));
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') {
        return Err(PluginError::invalid_config(
            "endpoint",
            format!("`{url}` has no plain host"),
        ));
    }
    Ok(Url {
        https,
        authority,
        path: if path.is_empty() { "/" } else { path },
    })
}

fn resolve(base: &str, location: &str) -> Result<String, PluginError> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return Ok(location.to_owned());
    }
    let url = parse_url(base)?;
    let scheme = if url.https { "https" } else { "http" };
    if location.starts_with('/') {
        Ok(format!("{scheme}://{}{location}", url.authority))
    } else {
        Err(PluginError::unavailable(format!(
            "unsupported redirect location `{location}`"
        )))
    }
}

#[cfg(target_arch = "wasm32")]
fn send_once(request: &Request) -> Result<Response, PluginError> {
    use crate::wit::action::wasi::http::{outgoing_handler, types as ht};
    use crate::wit::action::wasi::io::streams::StreamError;

    let url = parse_url(&request.url)?;
    let headers = ht::Fields::new();
    for (name, value) in &request.headers {
        headers
            .append(name, value.as_bytes())
            .map_err(|e| PluginError::failed(format!("header `{name}`: {e:?}")))?;
    }
    let outgoing = ht::OutgoingRequest::new(headers);
    let method = match request.method {
        Method::Get => ht::Method::Get,
        Method::Post => ht::Method::Post,
    };
    let scheme = if url.https {
        ht::Scheme::Https
    } else {
        ht::Scheme::Http
    };
    let set = outgoing.set_method(&method).is_ok()
        && outgoing.set_scheme(Some(&scheme)).is_ok()
        && outgoing.set_authority(Some(url.authority)).is_ok()
        && outgoing.set_path_with_query(Some(url.path)).is_ok();
    if !set {
        return Err(PluginError::failed(format!(
            "cannot build a request to `{}`",
            request.url
        )));
    }
    let body = outgoing
        .body()
        .map_err(|_| PluginError::failed("request body taken twice"))?;
    // The request is handed over before its body is written: the host streams the body.
    let future = outgoing_handler::handle(outgoing, None).map_err(|e| http_error(&url, e))?;
    {
        let stream = body
            .write()
            .map_err(|_| PluginError::failed("request body stream"))?;
        for chunk in request.body.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| PluginError::unavailable(format!("sending the body: {e:?}")))?;
        }
    }
    ht::OutgoingBody::finish(body, None).map_err(|e| http_error(&url, e))?;
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(e))) => return Err(http_error(&url, e)),
        _ => return Err(PluginError::unavailable("no response")),
    };
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(n, v)| {
            (
                n.to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect();
    let incoming = response
        .consume()
        .map_err(|_| PluginError::unavailable("response body"))?;
    let mut bytes = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|_| PluginError::unavailable("response body"))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_RESPONSE_BYTES {
                        return Err(PluginError::unavailable("response body too large"));
                    }
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(PluginError::unavailable(format!(
                        "reading the response: {}",
                        e.to_debug_string()
                    )));
                }
            }
        }
    }
    ht::IncomingBody::finish(incoming);
    Ok(Response {
        status,
        headers,
        body: bytes,
    })
}

#[cfg(target_arch = "wasm32")]
fn http_error(url: &Url<'_>, e: crate::wit::action::wasi::http::types::ErrorCode) -> PluginError {
    use crate::wit::action::wasi::http::types::ErrorCode;
    match e {
        ErrorCode::HttpRequestDenied => PluginError::CapabilityDenied {
            message: format!("HTTP to `{}` is not granted to this plugin", url.authority),
        },
        other => PluginError::unavailable(format!("HTTP to `{}` failed: {other:?}", url.authority)),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn send_once(request: &Request) -> Result<Response, PluginError> {
    native::send_once(request)
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    pub fn send_once(request: &Request) -> Result<Response, PluginError> {
        let url = parse_url(&request.url)?;
        if url.https {
            return Err(PluginError::unavailable(
                "natively only http:// is supported",
            ));
        }
        let unavailable =
            |e: std::io::Error| PluginError::unavailable(format!("{}: {e}", url.authority));
        let mut stream = TcpStream::connect(url.authority).map_err(unavailable)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(unavailable)?;
        let method = match request.method {
            Method::Get => "GET",
            Method::Post => "POST",
        };
        let mut head = format!(
            "{method} {} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: {}\r\n",
            url.path,
            url.authority,
            request.body.len()
        );
        for (name, value) in &request.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).map_err(unavailable)?;
        stream.write_all(&request.body).map_err(unavailable)?;
        let mut raw = Vec::new();
        stream
            .take(MAX_RESPONSE_BYTES as u64 + 65536)
            .read_to_end(&mut raw)
            .map_err(unavailable)?;
        parse_response(&raw)
    }

    fn parse_response(raw: &[u8]) -> Result<Response, PluginError> {
        let bad = || PluginError::unavailable("malformed HTTP response");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(bad)?;
        let head = String::from_utf8_lossy(&raw[..split]);
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut body = raw[split + 4..].to_vec();
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
        if chunked {
            body = dechunk(&body).ok_or_else(bad)?;
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let line_end = data.windows(2).position(|w| w == b"\r\n")?;
            let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            data = &data[line_end + 2..];
            if size == 0 {
                return Some(out);
            }
            out.extend_from_slice(data.get(..size)?);
            data = data.get(size + 2..)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        assert_eq!(
            parse_url("https://api.example.com/v1/chat?x=1").unwrap(),
            Url {
                https: true,
                authority: "api.example.com",
                path: "/v1/chat?x=1"
            }
        );
        assert_eq!(parse_url("http://127.0.0.1:8089").unwrap().path, "/");
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("http://user@evil.com/").is_err());
    }

    #[test]
    fn relative_redirects_stay_on_the_same_host() {
        assert_eq!(resolve("http://a:1/x", "/y").unwrap(), "http://a:1/y");
        assert_eq!(resolve("http://a:1/x", "http://b/z").unwrap(), "http://b/z");
    }
}
