//! A real ferrule server for tests: `ferrule serve`'s application on a fresh SQLite database and a
//! free port, on its own thread and runtime, with a small blocking HTTP client.

use ferrule_host::server::{ServeConfig, build};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

/// A running server.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The operator token.
    pub operator: String,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    options: Options,
}

/// How a test server is configured.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Accept only signed plugin uploads.
    pub require_signatures: bool,
}

/// A response: status and JSON body (Null when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
    /// Raw body text.
    pub text: String,
}

impl TestServer {
    /// Start a server on a fresh database file.
    pub fn start() -> TestServer {
        TestServer::start_with(Options::default())
    }

    /// Start a server with these options on a fresh database file.
    pub fn start_with(options: Options) -> TestServer {
        TestServer::start_in(tempfile::tempdir().unwrap(), options)
    }

    /// The folder of the server's database (and its secret key file).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Stop the server abruptly (work in flight is cut off, as in a crash) and start a new one
    /// on the same database.
    pub fn restart(self) -> TestServer {
        let TestServer {
            runtime,
            _dir,
            options,
            ..
        } = self;
        runtime.shutdown_timeout(Duration::from_secs(1));
        TestServer::start_in(_dir, options)
    }

    /// Stop the server abruptly, run `while_down` with the database file, and start a new
    /// server on the same database.
    pub fn restart_with(self, while_down: impl FnOnce(&std::path::Path)) -> TestServer {
        let TestServer {
            runtime,
            _dir,
            options,
            ..
        } = self;
        runtime.shutdown_timeout(Duration::from_secs(1));
        while_down(&_dir.path().join("ferrule.db"));
        TestServer::start_in(_dir, options)
    }

    fn start_in(dir: tempfile::TempDir, options: Options) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let config = ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: format!("sqlite://{}", dir.path().join("ferrule.db").display()),
            tick: Duration::from_secs(60),
            operator_token: Some("operator-secret".into()),
            cache_dir: Some(cache_dir()),
            require_signatures: options.require_signatures,
            secret_key: None,
            secret_key_file: None,
            tenant_concurrency: None,
            allegro: None,
            limits: Default::default(),
        };
        let addr = runtime.block_on(async {
            let (app, _) = build(&config).await.expect("the server starts");
            let listener = tokio::net::TcpListener::bind(config.listen).await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            addr
        });
        TestServer {
            addr,
            operator: "operator-secret".into(),
            runtime,
            _dir: dir,
            options,
        }
    }

    /// Send a request; `token` becomes a bearer token; `body` is sent as is.
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Reply {
        let headers: &[(&str, &str)] = if body.is_some() {
            &[("content-type", "application/json")]
        } else {
            &[]
        };
        self.call_raw(
            method,
            path,
            token,
            body.unwrap_or_default().as_bytes().to_vec(),
            headers,
        )
    }

    /// Send a request with raw body bytes and extra headers.
    pub fn call_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let addr = self.addr;
        let uri = format!("http://{addr}/api/v1{path}");
        let mut request = Request::builder()
            .method(method)
            .uri(&uri)
            .header("host", addr.to_string());
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(Bytes::from(body))).unwrap();
        self.runtime.block_on(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(conn);
            let response = sender.send_request(request).await.unwrap();
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            Reply {
                status,
                body: serde_json::from_str(&text).unwrap_or(Value::Null),
                text,
            }
        })
    }

    /// Create a tenant; returns its API key.
    pub fn tenant(&self, name: &str) -> String {
        let r = self.call(
            "POST",
            "/tenants",
            Some(&self.operator),
            Some(&format!(
                r#"{{"name": "{name}", "timezone": "Europe/Warsaw"}}"#
            )),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["api_key"].as_str().unwrap().to_owned()
    }

    /// Upload a component with `token`, signed when `signature` is given.
    pub fn upload(&self, token: &str, bytes: &[u8], signature: Option<&str>) -> Reply {
        let mut headers = vec![("content-type", "application/wasm")];
        if let Some(sig) = signature {
            headers.push(("x-ferrule-signature", sig));
        }
        self.call_raw("POST", "/plugins", Some(token), bytes.to_vec(), &headers)
    }

    /// Create a vendor; returns (id, API key).
    pub fn vendor(&self, name: &str) -> (i64, String) {
        let r = self.call(
            "POST",
            "/vendors",
            Some(&self.operator),
            Some(&serde_json::json!({"name": name}).to_string()),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        (
            r.body["vendor"]["id"].as_i64().unwrap(),
            r.body["api_key"].as_str().unwrap().to_owned(),
        )
    }

    /// A client for one tenant.
    pub fn as_tenant<'a>(&'a self, key: &'a str) -> Client<'a> {
        Client { server: self, key }
    }
}

/// Requests with one tenant's key.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    server: &'a TestServer,
    key: &'a str,
}

impl Client<'_> {
    /// GET.
    pub fn get(&self, path: &str) -> Reply {
        self.server.call("GET", path, Some(self.key), None)
    }

    /// A request with a JSON body.
    pub fn send(&self, method: &str, path: &str, body: &Value) -> Reply {
        self.server
            .call(method, path, Some(self.key), Some(&body.to_string()))
    }

    /// POST JSON and expect `status`; returns the body.
    pub fn post_ok(&self, path: &str, body: Value, status: u16) -> Value {
        let r = self.send("POST", path, &body);
        assert_eq!(r.status, status, "POST {path}: {}", r.text);
        r.body
    }
}

/// One compiled-code cache for every test server of the run, so start-up does not recompile.
fn cache_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-plugin-cache");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
