//! A local HTTP server for tests: a LibreTranslate-compatible `/translate`, an OpenAI-compatible
//! `/v1/chat/completions`, a redirect and a plain page. It records every request it receives.
//! It runs on its own thread and runtime, so plain (non-async) tests can call plugins that block.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Path.
    pub path: String,
    /// Headers (lower-case names).
    pub headers: HashMap<String, String>,
    /// JSON body (Null when none).
    pub body: Value,
}

/// A running fake service.
#[derive(Debug, Clone)]
pub struct FakeServices {
    /// Where it listens.
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeServices {
    /// `127.0.0.1:port`.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

type Shared = Arc<Mutex<Vec<Recorded>>>;

fn record(shared: &Shared, path: &str, headers: &HeaderMap, body: &str) {
    let headers = headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    shared.lock().unwrap().push(Recorded {
        path: path.to_owned(),
        headers,
        body,
    });
}

async fn translate(State(shared): State<Shared>, headers: HeaderMap, body: String) -> Response {
    record(&shared, "/translate", &headers, &body);
    let Ok(request) = serde_json::from_str::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "Invalid request"})),
        )
            .into_response();
    };
    let (Some(q), Some(target)) = (request["q"].as_str(), request["target"].as_str()) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "Invalid request: missing q or target"})),
        )
            .into_response();
    };
    // A fake translation: known phrases are translated, the rest is marked with the language.
    let translated = q
        .replace("Dzień dobry", "Guten Tag")
        .replace("Dziękujemy", "Vielen Dank");
    axum::Json(json!({"translatedText": format!("[{target}] {translated}")})).into_response()
}

async fn chat(State(shared): State<Shared>, headers: HeaderMap, body: String) -> Response {
    record(&shared, "/v1/chat/completions", &headers, &body);
    let Ok(request) = serde_json::from_str::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "bad json").into_response();
    };
    let model = request["model"].as_str().unwrap_or_default().to_owned();
    axum::Json(json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "Dzień dobry! Sprawdzimy, gdzie jest paczka, i odezwiemy się dziś."},
            "finish_reason": "stop"
        }]
    }))
    .into_response()
}

async fn redirect(Query(q): Query<HashMap<String, String>>) -> Response {
    let to = q.get("to").cloned().unwrap_or_default();
    (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response()
}

/// A CRM's customer look-up: the segment of `?email=`, for the bearer key `crm-secret` only.
async fn crm_customer(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    record(&shared, "/crm/customer", &headers, "");
    let authorised = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v == "Bearer crm-secret");
    if !authorised {
        return (StatusCode::UNAUTHORIZED, "bad key").into_response();
    }
    let segment = if q.get("email").is_some_and(|e| e.ends_with("@vip.example")) {
        "vip"
    } else {
        "regular"
    };
    axum::Json(json!({"segment": segment})).into_response()
}

async fn hello() -> &'static str {
    "hello from the fake service"
}

/// Start a server on a free loopback port.
pub fn start() -> FakeServices {
    let requests: Shared = Arc::default();
    let shared = requests.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = Router::new()
                .route("/translate", post(translate))
                .route("/v1/chat/completions", post(chat))
                .route("/redirect", get(redirect))
                .route("/hello", get(hello))
                .route("/crm/customer", get(crm_customer))
                .with_state(shared);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = rx.recv().expect("the fake service started");
    FakeServices { addr, requests }
}
