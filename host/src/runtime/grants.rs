//! Outgoing HTTP through `wasi:http`, only to the hosts an installation granted. Every request is
//! checked, so each hop of a redirect (which the guest follows by sending a new request) is too.

use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// Capability grants of one installation: `{"http": ["api.example.com", "127.0.0.1:8089"]}`.
///
/// An entry `host` allows that host on the scheme's default port (80 for `http`, 443 for
/// `https`); `host:port` allows exactly that port. Names compare ignoring ASCII case. There are
/// no wildcards and no implicit "self": what is not listed is denied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Hosts outgoing HTTP may reach.
    #[serde(default)]
    pub http: Vec<String>,
}

/// Why a grant list is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("http[{index}]: {message}")]
pub struct GrantError {
    /// Position of the bad entry.
    pub index: usize,
    /// What is wrong.
    pub message: String,
}

impl Grants {
    /// Check every entry is a plain `host` or `host:port`.
    pub fn validate(&self) -> Result<(), GrantError> {
        for (index, entry) in self.http.iter().enumerate() {
            let bad = |message: &str| GrantError {
                index,
                message: message.to_owned(),
            };
            if entry.is_empty() {
                return Err(bad("empty host"));
            }
            if entry.contains('*') {
                return Err(bad("wildcards are not allowed; list each host"));
            }
            if entry.contains("://") || entry.contains('/') || entry.contains('@') {
                return Err(bad("give a host or host:port, not a URL"));
            }
            let (host, port) = split_authority(entry);
            if host.is_empty()
                || !host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-_[]:".contains(c))
            {
                return Err(bad("not a host name or IP address"));
            }
            if let Some(port) = port
                && port.parse::<u16>().is_err()
            {
                return Err(bad("port is not a number from 0 to 65535"));
            }
        }
        Ok(())
    }

    /// Whether a request with this scheme and authority may be sent.
    pub fn allows(&self, https: bool, authority: &str) -> bool {
        let (host, port) = split_authority(authority);
        let default_port = if https { "443" } else { "80" };
        let port = port.unwrap_or(default_port);
        self.http.iter().any(|entry| {
            let (h, p) = split_authority(entry);
            h.eq_ignore_ascii_case(host) && p.unwrap_or(default_port) == port
        })
    }
}

/// `host:port` → (`host`, Some(`port`)); IPv6 literals keep their brackets.
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.find("]:") {
            Some(i) => (&authority[..=i], Some(&authority[i + 2..])),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (authority, None),
    }
}

/// The `wasi:http` hooks of one run: the grant check and the request timeouts.
pub struct HttpHooks {
    pub(crate) grants: Arc<Grants>,
    pub(crate) timeout: Duration,
    /// The first denied authority, so the run reports `CapabilityDenied` even when the plugin
    /// swallows the error.
    pub(crate) denied: Arc<Mutex<Option<String>>>,
}

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                    ),
                    HttpError,
                >,
            > + Send,
    > {
        drop(fut);
        let https = request.uri().scheme_str() == Some("https");
        let authority = request
            .uri()
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default();
        if !self.grants.allows(https, &authority) {
            let mut denied = self.denied.lock().unwrap_or_else(|e| e.into_inner());
            denied.get_or_insert_with(|| format!("HTTP to `{authority}` is not granted"));
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let limit = Some(self.timeout);
        let options = options.unwrap_or_default();
        // The guest may ask for shorter timeouts, never longer ones.
        let cap = |t: Option<Duration>| t.map_or(limit, |t| Some(t.min(self.timeout)));
        let options = RequestOptions {
            connect_timeout: cap(options.connect_timeout),
            first_byte_timeout: cap(options.first_byte_timeout),
            between_bytes_timeout: cap(options.between_bytes_timeout),
        };
        Box::new(async move {
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            let response = response.map(BodyExt::boxed_unsync);
            Ok((response, Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(hosts: &[&str]) -> Grants {
        Grants {
            http: hosts.iter().map(|h| (*h).to_owned()).collect(),
        }
    }

    #[test]
    fn a_bare_host_allows_only_the_default_port() {
        let g = grants(&["api.example.com"]);
        assert!(g.allows(true, "api.example.com"));
        assert!(g.allows(true, "API.example.com:443"));
        assert!(g.allows(false, "api.example.com:80"));
        assert!(!g.allows(true, "api.example.com:8443"));
        assert!(!g.allows(true, "evil.example.com"));
        assert!(!g.allows(true, "api.example.com.evil.com"));
    }

    #[test]
    fn host_and_port_allows_exactly_that_port() {
        let g = grants(&["127.0.0.1:8089"]);
        assert!(g.allows(false, "127.0.0.1:8089"));
        assert!(!g.allows(false, "127.0.0.1:8090"));
        assert!(!g.allows(false, "127.0.0.1"));
        assert!(
            !g.allows(false, "localhost:8089"),
            "no name resolution tricks"
        );
    }

    #[test]
    fn nothing_is_allowed_without_grants() {
        assert!(!Grants::default().allows(false, "127.0.0.1:80"));
    }

    #[test]
    fn wildcards_urls_and_garbage_are_rejected() {
        for bad in [
            "*.example.com",
            "https://api.example.com",
            "a.com/x",
            "",
            "a.com:99999",
            "user@a.com",
        ] {
            assert!(grants(&[bad]).validate().is_err(), "{bad}");
        }
        assert!(
            grants(&["api.example.com", "127.0.0.1:8089", "[::1]:80"])
                .validate()
                .is_ok()
        );
    }
}
