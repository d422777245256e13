//! An integration's HTTP endpoint for tests: records every request (path, headers, raw body) and
//! answers with the status set for its path (default 200), optionally failing the first calls.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request received.
#[derive(Debug, Clone)]
pub struct Call {
    /// Path.
    pub path: String,
    /// Headers (lower-case names).
    pub headers: HashMap<String, String>,
    /// The raw body.
    pub body: String,
}

#[derive(Debug, Default)]
struct Inner {
    calls: Vec<Call>,
    /// Status by path; `(status, times)`: answered `times` times, then 200.
    answers: HashMap<String, (u16, u32)>,
}

/// A running receiver.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    /// Start on a free port, on its own thread.
    pub fn start() -> Receiver {
        let inner: Arc<Mutex<Inner>> = Default::default();
        let shared = inner.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let app = Router::new().fallback(answer).with_state(shared);
                axum::serve(listener, app).await.unwrap();
            });
        });
        Receiver {
            addr: rx.recv().unwrap(),
            inner,
        }
    }

    /// `http://127.0.0.1:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answer `status` to the next `times` calls to `path` (u32::MAX: always).
    pub fn answer(&self, path: &str, status: u16, times: u32) {
        self.inner
            .lock()
            .unwrap()
            .answers
            .insert(path.into(), (status, times));
    }

    /// Every call to `path` so far.
    pub fn calls(&self, path: &str) -> Vec<Call> {
        let inner = self.inner.lock().unwrap();
        inner
            .calls
            .iter()
            .filter(|c| c.path == path)
            .cloned()
            .collect()
    }

    /// Wait until `path` has `n` calls (or the timeout), and return them.
    pub fn wait_for(&self, path: &str, n: usize, timeout: Duration) -> Vec<Call> {
        let deadline = Instant::now() + timeout;
        loop {
            let calls = self.calls(path);
            if calls.len() >= n || Instant::now() > deadline {
                return calls;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

async fn answer(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let mut inner = inner.lock().unwrap();
    let path = uri.path().to_owned();
    inner.calls.push(Call {
        path: path.clone(),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let status = match inner.answers.get_mut(&path) {
        Some((status, times)) if *times > 0 => {
            if *times != u32::MAX {
                *times -= 1;
            }
            *status
        }
        _ => 200,
    };
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        "recorded",
    )
}
