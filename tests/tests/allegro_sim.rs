//! The Allegro simulator speaks the documented protocol: device flow, refresh rotation, paging
//! and ordering, media-type negotiation and fault injection.

use base64::Engine;
use bytes::Bytes;
use ferrule_tests::allegro_sim::{AllegroSim, CLIENT_ID, CLIENT_SECRET, SELLER_LOGIN};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use serde_json::{Value, json};
use std::time::Duration;

const PUBLIC: &str = "application/vnd.allegro.public.v1+json";
const BETA: &str = "application/vnd.allegro.beta.v1+json";

struct Reply {
    status: u16,
    headers: hyper::HeaderMap,
    body: Value,
    text: String,
}

/// One request on a fresh connection.
fn call(sim: &AllegroSim, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("{}{path}", sim.base()))
        .header("host", sim.addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let addr = sim.addr;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let response = sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    })
}

fn basic() -> String {
    let credentials = format!("{CLIENT_ID}:{CLIENT_SECRET}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

fn token_call(sim: &AllegroSim, query: &str) -> Reply {
    let auth = basic();
    call(
        sim,
        "POST",
        &format!("/auth/oauth/token?{query}"),
        &[("authorization", &auth)],
        "",
    )
}

/// A device flow run to the end; (access token, refresh token).
fn login(sim: &AllegroSim) -> (String, String) {
    sim.set_device_interval(0);
    let auth = basic();
    let device = call(
        sim,
        "POST",
        "/auth/oauth/device",
        &[
            ("authorization", &auth),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        &format!("client_id={CLIENT_ID}"),
    );
    assert!(sim.confirm_device(device.body["user_code"].as_str().unwrap()));
    let code = device.body["device_code"].as_str().unwrap();
    let t = token_call(
        sim,
        &format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code={code}"
        ),
    );
    assert_eq!(t.status, 200, "{}", t.text);
    (
        t.body["access_token"].as_str().unwrap().to_owned(),
        t.body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

fn get(sim: &AllegroSim, token: &str, path: &str, accept: &str) -> Reply {
    let auth = format!("Bearer {token}");
    call(
        sim,
        "GET",
        path,
        &[("authorization", &auth), ("accept", accept)],
        "",
    )
}

fn post(sim: &AllegroSim, token: &str, path: &str, media: &str, body: &Value) -> Reply {
    let auth = format!("Bearer {token}");
    call(
        sim,
        "POST",
        path,
        &[
            ("authorization", &auth),
            ("accept", media),
            ("content-type", media),
        ],
        &body.to_string(),
    )
}

#[test]
fn device_flow_and_refresh_rotation() {
    let sim = AllegroSim::start();
    let device_body = format!("client_id={CLIENT_ID}");
    let unauthenticated = call(&sim, "POST", "/auth/oauth/device", &[], &device_body);
    assert_eq!(unauthenticated.status, 401);
    assert_eq!(unauthenticated.body["error"], "unauthorized");

    sim.set_device_interval(1);
    let auth = basic();
    let device = call(
        &sim,
        "POST",
        "/auth/oauth/device",
        &[("authorization", &auth)],
        &device_body,
    );
    assert_eq!(device.status, 200, "{}", device.text);
    assert_eq!(device.body["interval"], 1);
    let user_code = device.body["user_code"].as_str().unwrap().to_owned();
    assert_eq!(user_code.len(), 9);
    assert_eq!(sim.pending_user_codes(), vec![user_code.clone()]);
    let code = device.body["device_code"].as_str().unwrap().to_owned();
    let poll =
        format!("grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code={code}");

    let first = token_call(&sim, &poll);
    assert_eq!(
        (first.status, first.body["error"].clone()),
        (400, json!("authorization_pending"))
    );
    let hasty = token_call(&sim, &poll);
    assert_eq!(hasty.body["error"], "slow_down");
    assert_eq!(sim.slow_downs(), 1);

    assert!(sim.confirm_device(&user_code));
    assert!(sim.pending_user_codes().is_empty());
    std::thread::sleep(Duration::from_millis(1100));
    let tokens = token_call(&sim, &poll);
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert_eq!(tokens.body["token_type"], "bearer");
    assert_eq!(tokens.body["expires_in"], 43199);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        token_call(&sim, &poll).body["error"],
        "invalid_grant",
        "consumed"
    );

    let access = tokens.body["access_token"].as_str().unwrap();
    let me = get(&sim, access, "/me", PUBLIC);
    assert_eq!(
        (me.status, me.body["login"].clone()),
        (200, json!(SELLER_LOGIN))
    );
    assert_eq!(me.headers["content-type"], PUBLIC);

    // Rotation: the form-body variant of the token call, then a replay of the same token.
    let refresh = tokens.body["refresh_token"].as_str().unwrap();
    let form = format!("grant_type=refresh_token&refresh_token={refresh}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let rotated = call(&sim, "POST", "/auth/oauth/token", &headers, &form);
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_ne!(rotated.body["refresh_token"].as_str().unwrap(), refresh);
    let replay = call(&sim, "POST", "/auth/oauth/token", &headers, &form);
    assert_eq!(replay.status, 400);
    assert_eq!(replay.body["error"], "invalid_grant");
    assert_eq!(
        replay.body["error_description"],
        format!("Invalid refresh token: {refresh}")
    );
    assert_eq!((sim.refreshes(), sim.refresh_reuses()), (1, 1));
    let unknown = token_call(&sim, "grant_type=refresh_token&refresh_token=nope");
    assert_eq!(unknown.status, 400);
    assert_eq!(sim.refresh_reuses(), 1, "an unknown token is no reuse");

    sim.expire_access_tokens();
    let expired = get(&sim, access, "/me", PUBLIC);
    assert_eq!(expired.status, 401);
    assert_eq!(
        expired.body["error_description"],
        format!("Access token expired: {access}")
    );
    assert_eq!(sim.api_calls(), 2, "auth calls are not API calls");
}

#[test]
fn messaging_paging_ordering_and_negotiation() {
    let sim = AllegroSim::start();
    let (token, _) = login(&sim);
    sim.seed_threads(25, 3);

    let mut seen = Vec::new();
    for offset in [0, 20] {
        let page = get(
            &sim,
            &token,
            &format!("/messaging/threads?limit=20&offset={offset}"),
            PUBLIC,
        );
        assert_eq!(page.status, 200, "{}", page.text);
        seen.extend(page.body["threads"].as_array().unwrap().clone());
    }
    assert_eq!(seen.len(), 25);
    let times: Vec<&str> = seen
        .iter()
        .map(|t| t["lastMessageDateTime"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "{times:?}");
    assert_eq!(seen[0]["interlocutor"]["login"], "kupujacy-25");
    let bad_limit = get(&sim, &token, "/messaging/threads?limit=21", PUBLIC);
    assert_eq!(bad_limit.status, 422);
    assert_eq!(bad_limit.body["errors"][0]["path"], "limit");

    // The oldest thread: newest message first, `before` filters strictly.
    let thread = seen[24]["id"].as_str().unwrap().to_owned();
    let path = format!("/messaging/threads/{thread}/messages");
    let messages = get(&sim, &token, &path, PUBLIC).body["messages"].clone();
    let created: Vec<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["createdAt"].as_str().unwrap())
        .collect();
    assert_eq!(created.len(), 3);
    assert!(created.windows(2).all(|w| w[0] > w[1]), "{created:?}");
    assert_eq!(created[0].len(), "2026-12-03T10:15:30.123Z".len());
    let older = get(
        &sim,
        &token,
        &format!("{path}?before={}", created[0]),
        PUBLIC,
    );
    assert_eq!(older.body["messages"].as_array().unwrap().len(), 2);

    // The seller answers: 201, and the thread moves to the top.
    let sent = post(
        &sim,
        &token,
        &path,
        PUBLIC,
        &json!({"text": "Wysyłka jutro"}),
    );
    assert_eq!(sent.status, 201, "{}", sent.text);
    assert_eq!(
        sent.body["author"],
        json!({"login": SELLER_LOGIN, "isInterlocutor": false})
    );
    let top = get(&sim, &token, "/messaging/threads?limit=1", PUBLIC);
    assert_eq!(top.body["threads"][0]["id"], thread.as_str());
    let empty = post(&sim, &token, &path, PUBLIC, &json!({"text": ""}));
    assert_eq!(
        (empty.status, empty.body["errors"][0]["path"].clone()),
        (422, json!("text"))
    );
    assert!(sim.thread_messages(&thread).last().unwrap().from_seller);

    sim.buyer_writes(&thread, "W załączniku zdjęcie", Some("order-1"));
    let newest = &get(&sim, &token, &format!("{path}?limit=1"), PUBLIC).body["messages"][0];
    assert_eq!(newest["attachments"][0]["fileName"], "zdjecie.jpg");
    assert_eq!(newest["relatesTo"]["order"]["id"], "order-1");

    // Media types: the wrong Accept is 406, the wrong body type 415.
    let wrong = get(&sim, &token, "/messaging/threads", "application/json");
    assert_eq!(wrong.status, 406);
    assert_eq!(wrong.body["errors"][0]["code"], "NotAcceptableException");
    assert_eq!(get(&sim, &token, "/sale/issues", PUBLIC).status, 406);
    let auth = format!("Bearer {token}");
    let json_body = call(
        &sim,
        "POST",
        &path,
        &[
            ("authorization", &auth),
            ("accept", PUBLIC),
            ("content-type", "application/json"),
        ],
        r#"{"text": "x"}"#,
    );
    assert_eq!(json_body.status, 415);

    // Issues and returns on the beta media type; staff write without a login.
    let issue = sim.add_issue("DISPUTE", "kupujacy-1", "order-9", "Kubek pęknięty");
    sim.issue_admin_writes(&issue, "Prosimy o zdjęcia");
    let chat = get(&sim, &token, &format!("/sale/issues/{issue}/chat"), BETA);
    assert_eq!(chat.body["chat"][0]["author"], json!({"role": "ADMIN"}));
    assert_eq!(chat.body["chat"][1]["author"]["role"], "BUYER");
    sim.set_issue_type(&issue, "CLAIM");
    let issues = get(&sim, &token, "/sale/issues", BETA);
    assert_eq!(
        issues.body["issues"][0]["currentState"]["status"],
        "CLAIM_SUBMITTED"
    );
    sim.add_return("kupujacy-2", "order-7");
    let returns = get(&sim, &token, "/order/customer-returns", BETA);
    assert_eq!(returns.body["count"], 1);
    assert_eq!(returns.body["customerReturns"][0]["orderId"], "order-7");
}

#[test]
fn faults_and_budget() {
    let sim = AllegroSim::start();
    let (token, _) = login(&sim);

    sim.throttle(2);
    for _ in 0..2 {
        let r = get(&sim, &token, "/me", PUBLIC);
        assert_eq!(r.status, 429);
        assert_eq!(r.body["errors"][0]["code"], "TOO_MANY_REQUESTS");
        assert!(!r.headers.contains_key("retry-after"));
    }
    assert_eq!(get(&sim, &token, "/me", PUBLIC).status, 200);

    sim.garbage(3);
    let bodies: Vec<String> = (0..3)
        .map(|_| {
            let r = get(&sim, &token, "/messaging/threads", PUBLIC);
            assert_eq!(r.status, 200);
            r.text
        })
        .collect();
    assert_eq!(
        bodies,
        [
            r#"{"threads": ["#,
            "<html>Service Unavailable</html>",
            r#"{"unexpected": true}"#
        ]
    );

    sim.set_budget_per_minute(Some(2));
    assert_eq!(get(&sim, &token, "/me", PUBLIC).status, 200);
    assert_eq!(get(&sim, &token, "/me", PUBLIC).status, 200);
    let over = get(&sim, &token, "/me", PUBLIC);
    assert_eq!(over.status, 429);
    let retry: u64 = over.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");

    assert_eq!(sim.api_calls(), 9);
    // A prefix: "/me" also matches "/messaging/...".
    assert_eq!(sim.calls("GET", "/messaging/"), 3);
    assert_eq!(sim.calls("GET", "/me"), 9);
    assert_eq!(sim.calls("POST", "/auth/oauth/token"), 1);
}
