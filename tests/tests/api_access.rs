//! Who may call what, and what a caller gets back for bad input, through the real HTTP server:
//! every protected route refuses a missing, unknown or malformed token; the operator and tenants
//! stay on their own endpoints; one tenant never sees or changes another's objects; bad bodies
//! are 400 (wrong JSON) or 422 (invalid value) naming the field, and never a 5xx.

use ferrule_tests::server::{Client, Reply, TestServer};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};

/// Who may call a route (the `auth` column of `host/src/api/openapi.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Public,
    Operator,
    Tenant,
    /// The operator or a vendor.
    Publisher,
    Anyone,
}

/// Every route of the API; `every_documented_route_is_in_the_access_table` keeps it complete.
const ROUTES: &[(&str, &str, Who)] = &[
    ("POST", "/tenants", Who::Operator),
    ("GET", "/plugins", Who::Anyone),
    ("GET", "/plugins/{name}", Who::Anyone),
    ("POST", "/plugins", Who::Publisher),
    ("POST", "/vendors", Who::Operator),
    ("GET", "/vendors/{id}/keys", Who::Publisher),
    ("POST", "/vendors/{id}/keys", Who::Publisher),
    ("GET", "/installations", Who::Tenant),
    ("GET", "/installations/{plugin}", Who::Tenant),
    ("PUT", "/installations/{plugin}", Who::Tenant),
    ("DELETE", "/installations/{plugin}", Who::Tenant),
    ("GET", "/agents", Who::Tenant),
    ("POST", "/agents", Who::Tenant),
    ("GET", "/inboxes", Who::Tenant),
    ("POST", "/inboxes", Who::Tenant),
    ("POST", "/tickets", Who::Tenant),
    ("GET", "/tickets", Who::Tenant),
    ("GET", "/tickets/{id}", Who::Tenant),
    ("PATCH", "/tickets/{id}", Who::Tenant),
    ("POST", "/tickets/{id}/messages", Who::Tenant),
    ("GET", "/tickets/{id}/messages", Who::Tenant),
    ("POST", "/tickets/{id}/events", Who::Tenant),
    ("GET", "/tickets/{id}/events", Who::Tenant),
    ("GET", "/tickets/{id}/outbox", Who::Tenant),
    ("GET", "/tickets/{id}/runs", Who::Tenant),
    ("GET", "/rules", Who::Tenant),
    ("POST", "/rules", Who::Tenant),
    ("GET", "/rules/{id}", Who::Tenant),
    ("PUT", "/rules/{id}", Who::Tenant),
    ("PATCH", "/rules/{id}", Who::Tenant),
    ("DELETE", "/rules/{id}", Who::Tenant),
    ("GET", "/rules/{id}/revisions", Who::Tenant),
    ("POST", "/rules/{id}/dry-run", Who::Tenant),
    ("GET", "/runs", Who::Tenant),
    ("GET", "/rule-templates", Who::Tenant),
    ("POST", "/rule-templates/{id}", Who::Tenant),
    ("GET", "/inboxes/{id}", Who::Tenant),
    ("PATCH", "/inboxes/{id}", Who::Tenant),
    ("GET", "/settings", Who::Tenant),
    ("PUT", "/settings", Who::Tenant),
    ("DELETE", "/agents/{id}", Who::Tenant),
    ("POST", "/accounts", Who::Tenant),
    ("GET", "/accounts", Who::Tenant),
    ("GET", "/accounts/{id}", Who::Tenant),
    ("DELETE", "/accounts/{id}", Who::Tenant),
    ("POST", "/webhooks", Who::Tenant),
    ("GET", "/webhooks", Who::Tenant),
    ("GET", "/webhooks/{id}", Who::Tenant),
    ("DELETE", "/webhooks/{id}", Who::Tenant),
    ("GET", "/webhooks/{id}/deliveries", Who::Tenant),
    ("GET", "/deliveries", Who::Tenant),
    ("GET", "/deliveries/{id}", Who::Tenant),
    ("POST", "/deliveries/{id}/retry", Who::Tenant),
    ("GET", "/tickets/{id}/attachments/{attachment}", Who::Tenant),
    ("GET", "/healthz", Who::Public),
    ("GET", "/metrics", Who::Public),
    ("GET", "/openapi.json", Who::Public),
];

/// A route's path with real-looking parameters.
fn concrete(path: &str) -> String {
    path.replace("/rule-templates/{id}", "/rule-templates/status-flow")
        .replace("{id}", "1")
        .replace("{attachment}", "1")
        .replace("{name}", "set-status")
        .replace("{plugin}", "set-status")
}

/// A body for methods that take one (access is checked before the body is read).
fn body_for(method: &str) -> Option<&'static str> {
    matches!(method, "POST" | "PUT" | "PATCH").then_some("{}")
}

/// Send a request with exactly this `Authorization` header (raw bytes), or none.
fn raw_call(s: &TestServer, method: &str, path: &str, authorization: Option<&[u8]>) -> Reply {
    let addr = s.addr;
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}/api/v1{path}"))
        .header("host", addr.to_string());
    if let Some(value) = authorization {
        let value = hyper::header::HeaderValue::from_bytes(value).unwrap();
        request = request.header("authorization", value);
    }
    let body = body_for(method);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
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

/// The response is `{"error": {"code": code, "message": "…"}}` with this status.
#[track_caller]
fn assert_error(r: &Reply, status: u16, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text);
    assert_eq!(r.body["error"]["code"], code, "{what}: {}", r.text);
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty(),
        "{what}: the error has a message: {}",
        r.text
    );
}

/// The ids in a list response (`{"tickets": [{"id": …}, …]}`).
fn ids(r: &Reply, key: &str) -> Vec<i64> {
    assert_eq!(r.status, 200, "list {key}: {}", r.text);
    let items = r.body[key]
        .as_array()
        .unwrap_or_else(|| panic!("no `{key}` list: {}", r.text));
    items.iter().map(|x| x["id"].as_i64().unwrap()).collect()
}

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

fn ticket_body(subject: &str) -> Value {
    json!({"subject": subject, "source": "email", "customer": {"name": "Jan"}})
}

fn rule_body(name: &str) -> Value {
    json!({"name": name, "trigger": {"events": ["ticket_created"]},
           "actions": [{"plugin": "set-status", "config": {"status": "open"}}]})
}

#[test]
fn every_documented_route_is_in_the_access_table() {
    let s = TestServer::start();
    let r = s.call("GET", "/openapi.json", None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    let mut documented = Vec::new();
    for (path, operations) in r.body["paths"].as_object().unwrap() {
        for (method, op) in operations.as_object().unwrap() {
            let public = op["security"] == json!([]);
            documented.push((method.to_uppercase(), path.clone(), public));
        }
    }
    documented.sort();
    let mut table: Vec<(String, String, bool)> = ROUTES
        .iter()
        .map(|(m, p, who)| ((*m).to_owned(), (*p).to_owned(), *who == Who::Public))
        .collect();
    table.sort();
    assert_eq!(
        documented, table,
        "(method, path, public) of the OpenAPI document vs this file's table"
    );
}

#[test]
fn public_endpoints_answer_200_without_a_token() {
    let s = TestServer::start();
    for (method, path, who) in ROUTES {
        if *who != Who::Public {
            continue;
        }
        let r = s.call(method, path, None, None);
        assert_eq!(r.status, 200, "{method} {path} without a token: {}", r.text);
        let r = s.call(method, path, Some("not-a-token"), None);
        assert_eq!(
            r.status, 200,
            "{method} {path} ignores a bad token: {}",
            r.text
        );
    }
}

#[test]
fn every_protected_endpoint_refuses_missing_unknown_and_malformed_tokens_with_401() {
    let s = TestServer::start();
    let key = s.tenant("Existing tenant");
    let control = raw_call(
        &s,
        "GET",
        "/tickets",
        Some(format!("Bearer {key}").as_bytes()),
    );
    assert_eq!(control.status, 200, "a valid key works: {}", control.text);
    let headers: &[(&str, Option<&[u8]>)] = &[
        ("no Authorization header", None),
        ("an unknown bearer token", Some(b"Bearer fk_not-a-real-key")),
        ("Basic authentication", Some(b"Basic x")),
        (
            "Basic with the operator secret",
            Some(b"Basic operator-secret"),
        ),
        ("Bearer with an empty token", Some(b"Bearer ")),
        ("Bearer with only spaces", Some(b"Bearer    ")),
        ("the bare word Bearer", Some(b"Bearer")),
        (
            "the operator token without a scheme",
            Some(b"operator-secret"),
        ),
        ("a header that is not text", Some(b"Bearer \xff\xfe")),
    ];
    let mut checked = 0;
    for (method, path, who) in ROUTES {
        if *who == Who::Public {
            continue;
        }
        let path = concrete(path);
        for (what, header) in headers {
            let r = raw_call(&s, method, &path, *header);
            assert_error(
                &r,
                401,
                "unauthorized",
                &format!("{method} {path} with {what}"),
            );
            assert!(
                r.body["error"].get("field").is_none(),
                "{method} {path} with {what}: {}",
                r.text
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        54 * headers.len(),
        "every protected route was tried"
    );
}

#[test]
fn a_tenant_key_cannot_create_tenants() {
    let s = TestServer::start();
    let key = s.tenant("Shop");
    let r = s.call(
        "POST",
        "/tenants",
        Some(&key),
        Some(r#"{"name": "Intruder", "timezone": "UTC"}"#),
    );
    assert_error(&r, 403, "forbidden", "POST /tenants with a tenant key");
    assert!(r.body.get("api_key").is_none());
    let r = s.call(
        "POST",
        "/tenants",
        Some(&s.operator),
        Some(r#"{"name": "Second shop"}"#),
    );
    assert_eq!(r.status, 201, "the operator may: {}", r.text);
}

#[test]
fn the_operator_token_is_refused_on_every_tenant_endpoint() {
    let s = TestServer::start();
    let key = s.tenant("Shop");
    let ticket = id_of(
        &s.as_tenant(&key)
            .post_ok("/tickets", ticket_body("Hello"), 201),
    );
    let rule = id_of(&s.as_tenant(&key).post_ok("/rules", rule_body("r"), 201));
    for (method, path, who) in ROUTES {
        if *who != Who::Tenant {
            continue;
        }
        // Real ids of the one tenant: the operator is still refused, not shown them.
        let id = if path.starts_with("/rules/") {
            rule
        } else {
            ticket
        };
        let path = concrete(path).replace("/1", &format!("/{id}"));
        let r = s.call(method, &path, Some(&s.operator), body_for(method));
        assert_error(
            &r,
            403,
            "forbidden",
            &format!("{method} {path} with the operator token"),
        );
    }
    assert_eq!(
        s.as_tenant(&key).get(&format!("/rules/{rule}")).body["revision"],
        1,
        "nothing changed"
    );
}

#[test]
fn a_vendor_key_is_refused_on_tenant_and_operator_endpoints_and_a_tenant_key_on_publisher_ones() {
    let s = TestServer::start();
    let key = s.tenant("Shop");
    let (_, vendor) = s.vendor("Vendor");
    let mut checked = 0;
    for (method, path, who) in ROUTES {
        let path = concrete(path);
        let token = match who {
            Who::Tenant | Who::Operator => &vendor,
            Who::Publisher => &key,
            _ => continue,
        };
        let r = s.call(method, &path, Some(token), body_for(method));
        assert_error(
            &r,
            403,
            "forbidden",
            &format!("{method} {path} with the wrong kind of key"),
        );
        checked += 1;
    }
    assert!(checked > 30);
    // A vendor may read the catalog.
    assert_eq!(s.call("GET", "/plugins", Some(&vendor), None).status, 200);
}

#[test]
fn the_plugin_catalog_is_open_to_the_operator_and_tenants() {
    let s = TestServer::start();
    let key = s.tenant("Shop");
    for token in [s.operator.as_str(), key.as_str()] {
        for path in ["/plugins", "/plugins/set-status"] {
            let r = s.call("GET", path, Some(token), None);
            assert_eq!(r.status, 200, "GET {path}: {}", r.text);
        }
    }
}

/// Two tenants: A owns an agent, an inbox, a rule and a ticket (which the rule ran on); B owns a
/// rule and a ticket of its own.
struct TwoTenants {
    server: TestServer,
    a: String,
    b: String,
    agent: i64,
    inbox: i64,
    rule: i64,
    ticket: i64,
    b_rule: i64,
    b_ticket: i64,
}

impl TwoTenants {
    fn new() -> TwoTenants {
        let server = TestServer::start();
        let (a, b) = (server.tenant("Shop A"), server.tenant("Shop B"));
        let ca = server.as_tenant(&a);
        let agent = id_of(&ca.post_ok(
            "/agents",
            json!({"name": "Ola", "email": "ola@a.example"}),
            201,
        ));
        let inbox = id_of(&ca.post_ok("/inboxes", json!({"name": "Returns"}), 201));
        let rule = id_of(&ca.post_ok("/rules", rule_body("A's rule"), 201));
        let mut body = ticket_body("A's ticket");
        body["inbox"] = inbox.into();
        body["message"] = json!({"body": "Where is my parcel?"});
        let ticket = id_of(&ca.post_ok("/tickets", body, 201));
        let cb = server.as_tenant(&b);
        let b_rule = id_of(&cb.post_ok("/rules", rule_body("B's rule"), 201));
        let b_ticket = id_of(&cb.post_ok("/tickets", ticket_body("B's ticket"), 201));
        TwoTenants {
            server,
            a,
            b,
            agent,
            inbox,
            rule,
            ticket,
            b_rule,
            b_ticket,
        }
    }

    fn a(&self) -> Client<'_> {
        self.server.as_tenant(&self.a)
    }

    fn b(&self) -> Client<'_> {
        self.server.as_tenant(&self.b)
    }

    /// What A sees of its own ticket and rule, to prove B changed nothing.
    fn a_snapshot(&self) -> Vec<Value> {
        let a = self.a();
        let mut ticket = a.get(&format!("/tickets/{}", self.ticket)).body;
        ticket.as_object_mut().unwrap().remove("runs");
        vec![
            ticket,
            a.get(&format!("/tickets/{}/messages", self.ticket)).body,
            a.get(&format!("/tickets/{}/runs", self.ticket)).body,
            a.get(&format!("/rules/{}", self.rule)).body,
            a.get(&format!("/rules/{}/revisions", self.rule)).body,
        ]
    }
}

#[test]
fn another_tenants_ticket_is_404_on_every_ticket_endpoint_and_stays_unchanged() {
    let w = TwoTenants::new();
    let before = w.a_snapshot();
    let t = w.ticket;
    let attempts = [
        ("GET", format!("/tickets/{t}"), json!(null)),
        (
            "PATCH",
            format!("/tickets/{t}"),
            json!({"status": "closed", "tags": ["hijacked"]}),
        ),
        ("GET", format!("/tickets/{t}/messages"), json!(null)),
        (
            "POST",
            format!("/tickets/{t}/messages"),
            json!({"author": "agent", "body": "Hi from B"}),
        ),
        ("GET", format!("/tickets/{t}/runs"), json!(null)),
        (
            "POST",
            format!("/tickets/{t}/events"),
            json!({"kind": "return_created"}),
        ),
    ];
    for (method, path, body) in &attempts {
        let r = if body.is_null() {
            w.b().get(path)
        } else {
            w.b().send(method, path, body)
        };
        assert_error(&r, 404, "not_found", &format!("B: {method} {path}"));
    }
    assert_eq!(
        w.a_snapshot(),
        before,
        "A's ticket, messages and runs are as they were"
    );
}

#[test]
fn another_tenants_rule_is_404_on_every_rule_endpoint_and_stays_unchanged() {
    let w = TwoTenants::new();
    let before = w.a_snapshot();
    let (rule, own_ticket) = (w.rule, w.b_ticket);
    let attempts = [
        ("GET", format!("/rules/{rule}"), json!(null)),
        ("PUT", format!("/rules/{rule}"), rule_body("taken over")),
        ("PATCH", format!("/rules/{rule}"), json!({"enabled": false})),
        ("DELETE", format!("/rules/{rule}"), json!(null)),
        ("GET", format!("/rules/{rule}/revisions"), json!(null)),
        (
            "POST",
            format!("/rules/{rule}/dry-run"),
            json!({"ticket_id": own_ticket}),
        ),
    ];
    for (method, path, body) in &attempts {
        let r = match (*method, body.is_null()) {
            ("GET", _) => w.b().get(path),
            (_, true) => w.server.call(method, path, Some(&w.b), None),
            _ => w.b().send(method, path, body),
        };
        assert_error(&r, 404, "not_found", &format!("B: {method} {path}"));
    }
    assert_eq!(
        w.a_snapshot(),
        before,
        "A's rule and its revisions are as they were"
    );
    assert!(
        ids(&w.a().get("/rules"), "rules").contains(&rule),
        "A's rule is not deleted"
    );
}

#[test]
fn lists_show_only_the_callers_own_objects() {
    let w = TwoTenants::new();
    let a_runs = ids(&w.a().get("/runs"), "runs");
    assert!(!a_runs.is_empty(), "A's rule ran on A's ticket");
    let a_objects = [
        ("/tickets", "tickets", vec![w.ticket]),
        ("/rules", "rules", vec![w.rule]),
        ("/agents", "agents", vec![w.agent]),
        ("/inboxes", "inboxes", vec![w.inbox]),
        ("/runs", "runs", a_runs.clone()),
    ];
    for (path, key, theirs) in &a_objects {
        assert!(
            theirs
                .iter()
                .all(|id| ids(&w.a().get(path), key).contains(id)),
            "A sees its own {key}"
        );
        let seen = ids(&w.b().get(path), key);
        assert!(
            seen.iter().all(|id| !theirs.contains(id)),
            "B's GET {path} shows A's {key}: {seen:?} vs {theirs:?}"
        );
    }
    assert_eq!(
        ids(&w.b().get("/tickets"), "tickets"),
        [w.b_ticket],
        "B sees exactly its own ticket"
    );
    assert_eq!(
        ids(&w.b().get("/rules"), "rules"),
        [w.b_rule],
        "B sees exactly its own rule"
    );
    let filtered = [
        (format!("/runs?rule_id={}", w.rule), "runs"),
        (format!("/tickets?assignee={}", w.agent), "tickets"),
        (
            format!("/tickets?limit=500&before={}", w.ticket + 1000),
            "tickets",
        ),
    ];
    for (path, key) in &filtered {
        let seen = ids(&w.b().get(path), key);
        let theirs = if *key == "runs" {
            &a_runs
        } else {
            &vec![w.ticket]
        };
        assert!(
            seen.iter().all(|id| !theirs.contains(id)),
            "B's GET {path} shows A's {key}: {seen:?}"
        );
    }
}

#[test]
fn another_tenants_ids_are_invalid_references_in_a_tenants_own_requests() {
    let w = TwoTenants::new();
    let mut body = ticket_body("Uses A's inbox");
    body["inbox"] = w.inbox.into();
    let r = w.b().send("POST", "/tickets", &body);
    assert_error(&r, 422, "invalid", "B creates a ticket in A's inbox");
    assert_eq!(r.body["error"]["field"], "inbox", "{}", r.text);

    let r = w.b().send(
        "POST",
        &format!("/rules/{}/dry-run", w.b_rule),
        &json!({"ticket_id": w.ticket}),
    );
    assert_error(&r, 422, "invalid", "B dry-runs its own rule on A's ticket");
    assert_eq!(r.body["error"]["field"], "ticket_id", "{}", r.text);

    let r = w.b().send(
        "PATCH",
        &format!("/tickets/{}", w.b_ticket),
        &json!({"assignee": w.agent}),
    );
    assert_error(&r, 422, "invalid", "B assigns its ticket to A's agent");
    assert_eq!(r.body["error"]["field"], "assignee", "{}", r.text);

    assert_eq!(
        ids(&w.b().get("/tickets"), "tickets"),
        [w.b_ticket],
        "no ticket was created"
    );
    let own = w.b().get(&format!("/tickets/{}", w.b_ticket));
    assert_eq!(
        own.body["assignee"],
        Value::Null,
        "B's ticket is not assigned: {}",
        own.text
    );
}

#[test]
fn ids_that_are_not_numbers_or_name_nothing_are_404() {
    let s = TestServer::start();
    let key = s.tenant("Shop");
    let c = s.as_tenant(&key);
    let ticket = id_of(&c.post_ok("/tickets", ticket_body("Hello"), 201));
    let rule = id_of(&c.post_ok("/rules", rule_body("r"), 201));
    for bad in [
        "abc",
        "1.5",
        "1e3",
        "0x10",
        "%20",
        "99999999999999999999",
        "-1",
        "0",
    ] {
        let attempts = [
            ("GET", format!("/tickets/{bad}"), None),
            (
                "PATCH",
                format!("/tickets/{bad}"),
                Some(json!({"tags": ["x"]})),
            ),
            ("GET", format!("/tickets/{bad}/messages"), None),
            (
                "POST",
                format!("/tickets/{bad}/messages"),
                Some(json!({"author": "agent", "body": "hi"})),
            ),
            ("GET", format!("/tickets/{bad}/runs"), None),
            (
                "POST",
                format!("/tickets/{bad}/events"),
                Some(json!({"kind": "return_created"})),
            ),
            ("GET", format!("/rules/{bad}"), None),
            ("PUT", format!("/rules/{bad}"), Some(rule_body("r"))),
            (
                "PATCH",
                format!("/rules/{bad}"),
                Some(json!({"enabled": false})),
            ),
            ("DELETE", format!("/rules/{bad}"), None),
            ("GET", format!("/rules/{bad}/revisions"), None),
            (
                "POST",
                format!("/rules/{bad}/dry-run"),
                Some(json!({"ticket_id": ticket})),
            ),
            ("POST", format!("/rule-templates/{bad}"), Some(json!({}))),
            ("GET", format!("/plugins/{bad}"), None),
        ];
        for (method, path, body) in &attempts {
            let r = match body {
                Some(body) => c.send(method, path, body),
                None => s.call(method, path, Some(&key), None),
            };
            assert_error(&r, 404, "not_found", &format!("{method} {path}"));
        }
    }
    assert_eq!(
        c.get(&format!("/rules/{rule}")).body["revision"],
        1,
        "the real rule is untouched"
    );
}

/// What a case expects of `error.field`.
#[derive(Debug, Clone, Copy)]
enum Field {
    /// Whatever (malformed JSON has no place to name).
    Any,
    /// Exactly this path.
    Is(&'static str),
    /// This path or one inside it (`conditions.all[0].config.phrases` is within
    /// `conditions.all[0].config`).
    Within(&'static str),
}

/// One bad request and what it must get.
#[derive(Debug)]
struct Case {
    operator: bool,
    method: &'static str,
    path: String,
    body: String,
    status: u16,
    field: Field,
}

/// A tenant's request with a JSON (or deliberately broken) body.
fn case(
    method: &'static str,
    path: impl Into<String>,
    body: impl ToString,
    status: u16,
    field: Field,
) -> Case {
    Case {
        operator: false,
        method,
        path: path.into(),
        body: body.to_string(),
        status,
        field,
    }
}

/// The same as the operator.
fn op_case(
    method: &'static str,
    path: &str,
    body: impl ToString,
    status: u16,
    field: Field,
) -> Case {
    Case {
        operator: true,
        ..case(method, path, body, status, field)
    }
}

/// `POST /tickets` with one key of a valid body replaced (or added).
fn ticket_with(key: &str, value: Value, status: u16, field: Field) -> Case {
    let mut body = ticket_body("Order 123");
    body[key] = value;
    case("POST", "/tickets", body, status, field)
}

/// `POST /rules` with one key of a valid body replaced (or added).
fn rule_with(key: &str, value: Value, status: u16, field: Field) -> Case {
    let mut body = rule_body("r");
    body[key] = value;
    case("POST", "/rules", body, status, field)
}

/// The same request with another method and path (e.g. `PUT /rules/{id}`).
fn at(method: &'static str, path: String, c: Case) -> Case {
    Case { method, path, ..c }
}

/// Run every case; report all that fail at once; no case may be a 5xx.
fn check_cases(s: &TestServer, key: &str, cases: &[Case]) {
    let mut failures = Vec::new();
    for c in cases {
        let token = if c.operator { s.operator.as_str() } else { key };
        let body = (c.method != "GET").then_some(c.body.as_str());
        let r = s.call(c.method, &c.path, Some(token), body);
        let label = format!("{} {} {}", c.method, c.path, c.body);
        assert!(
            r.status < 500,
            "{label}: a server error: {} {}",
            r.status,
            r.text
        );
        let code = if c.status == 400 {
            "bad_request"
        } else {
            "invalid"
        };
        let field = r.body["error"]["field"].as_str();
        let field_ok = match c.field {
            Field::Any => true,
            Field::Is(want) => field == Some(want),
            Field::Within(want) => {
                field.is_some_and(|f| f == want || f.starts_with(&format!("{want}.")))
            }
        };
        let message_ok = r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty());
        if r.status != c.status || r.body["error"]["code"] != code || !field_ok || !message_ok {
            failures.push(format!(
                "{label}\n    want {} {code} field {:?}\n    got  {} {}",
                c.status, c.field, r.status, r.text
            ));
        }
    }
    let n = failures.len();
    assert!(
        failures.is_empty(),
        "{n} of {} cases failed:\n{}",
        cases.len(),
        failures.join("\n")
    );
}

/// A server with one tenant that has a ticket and a rule, for the bad-input tables.
fn server_with_ticket_and_rule() -> (TestServer, String, i64, i64) {
    let s = TestServer::start();
    let key = s.tenant("Shop");
    let ticket = id_of(
        &s.as_tenant(&key)
            .post_ok("/tickets", ticket_body("Order 123"), 201),
    );
    let rule = id_of(&s.as_tenant(&key).post_ok("/rules", rule_body("r"), 201));
    (s, key, ticket, rule)
}

#[test]
fn malformed_json_and_wrong_json_types_are_400_naming_the_field() {
    let (s, key, t, r) = server_with_ticket_and_rule();
    use Field::{Any, Is};
    let (ticket, rule) = (format!("/tickets/{t}"), format!("/rules/{r}"));
    let messages = format!("{ticket}/messages");
    let template = "/rule-templates/status-flow";
    #[rustfmt::skip] // a table: one case a line
    let cases = [
        // Not JSON.
        case("POST", "/tickets", r#"{"subject": "#, 400, Any),
        case("POST", "/tickets", "", 400, Any),
        case("POST", "/agents", "name=Ola", 400, Any),
        case("POST", "/rules", r#"{"name": "r","#, 400, Any),
        case("PUT", &rule, "{", 400, Any),
        case("PATCH", &rule, "{", 400, Any),
        case("PATCH", &ticket, "{", 400, Any),
        case("POST", &messages, "{", 400, Any),
        case("POST", format!("{rule}/dry-run"), "{", 400, Any),
        case("POST", template, "{", 400, Any),
        op_case("POST", "/tenants", "{", 400, Any),
        // JSON of the wrong shape.
        case("POST", "/tickets", "[]", 400, Any),
        case("PATCH", &rule, "[1]", 400, Any),
        ticket_with("subject", json!(5), 400, Is("subject")),
        ticket_with("source", json!(null), 400, Is("source")),
        ticket_with("customer", json!("Jan"), 400, Is("customer")),
        ticket_with("customer", json!({"name": 3}), 400, Is("customer.name")),
        ticket_with("inbox", json!("Returns"), 400, Is("inbox")),
        ticket_with("tags", json!("vip"), 400, Is("tags")),
        ticket_with("tags", json!(["vip", 7]), 400, Is("tags[1]")),
        ticket_with("message", json!({"body": 1}), 400, Is("message.body")),
        case("PATCH", &ticket, json!({"status": 2}), 400, Is("status")),
        case("PATCH", &ticket, json!({"assignee": "Ola"}), 400, Is("assignee")),
        case("PATCH", &ticket, json!({"tags": {}}), 400, Is("tags")),
        case("POST", &messages, json!({"author": 1, "body": "x"}), 400, Is("author")),
        case("POST", format!("{ticket}/events"), json!({"kind": []}), 400, Is("kind")),
        rule_with("enabled", json!("yes"), 400, Is("enabled")),
        rule_with("name", json!(5), 400, Is("name")),
        rule_with("position", json!("first"), 400, Is("position")),
        rule_with("actions", json!({}), 400, Is("actions")),
        rule_with("trigger", json!({"events": "ticket_created"}), 400, Is("trigger.events")),
        rule_with("conditions", json!({"all": {}}), 400, Is("conditions.all")),
        rule_with("actions", json!([{"plugin": 5}]), 400, Is("actions[0].plugin")),
        rule_with("actions", json!([{"plugin": "set-status", "config": []}]), 400, Is("actions[0].config")),
        at("PUT", rule.clone(), rule_with("enabled", json!("yes"), 400, Is("enabled"))),
        case("PATCH", &rule, json!({"enabled": "no"}), 400, Is("enabled")),
        case("POST", format!("{rule}/dry-run"), json!({"ticket_id": "x"}), 400, Is("ticket_id")),
        case("POST", "/agents", json!({"name": 5}), 400, Is("name")),
        case("POST", "/inboxes", json!({"name": "x", "group": 5}), 400, Is("group")),
        op_case("POST", "/tenants", json!({"name": 5}), 400, Is("name")),
        case("POST", template, json!({"parameters": "x"}), 400, Is("parameters")),
        case("POST", template, json!({"parameters": {"agent_reply_status": 5}}), 400, Is("parameters.agent_reply_status")),
    ];
    check_cases(&s, &key, &cases);
}

#[test]
fn invalid_values_are_422_naming_the_field() {
    let (s, key, t, r) = server_with_ticket_and_rule();
    use Field::{Is, Within};
    let (ticket, rule) = (format!("/tickets/{t}"), format!("/rules/{r}"));
    let messages = format!("{ticket}/messages");
    let template = "/rule-templates/status-flow";
    let phrases =
        |list: Value| json!({"all": [{"plugin": "subject-contains", "config": {"phrases": list}}]});
    let hours = |calendar: Value| json!({"name": "x", "working_hours": calendar});
    #[rustfmt::skip] // a table: one case a line
    let cases = [
        ticket_with("subject", json!(""), 422, Is("subject")),
        ticket_with("subject", json!("   "), 422, Is("subject")),
        ticket_with("source", json!("e mail"), 422, Is("source")),
        ticket_with("customer", json!({"name": ""}), 422, Is("customer.name")),
        ticket_with("customer", json!({"name": "Jan", "email": "jan"}), 422, Is("customer.email")),
        ticket_with("created_at", json!("yesterday"), 422, Is("created_at")),
        ticket_with("inbox", json!(999_999), 422, Is("inbox")),
        ticket_with("tags", json!(["vip", " "]), 422, Is("tags[1]")),
        ticket_with("message", json!({"body": ""}), 422, Is("message.body")),
        ticket_with("message", json!({"body": "hi", "sent_at": "soon"}), 422, Is("message.sent_at")),
        case("PATCH", &ticket, json!({"status": "on-fire"}), 422, Is("status")),
        case("PATCH", &ticket, json!({"assignee": 999_999}), 422, Is("assignee")),
        case("PATCH", &ticket, json!({"subject": ""}), 422, Is("subject")),
        case("PATCH", &ticket, json!({"tags": ["ok", ""]}), 422, Is("tags[1]")),
        case("POST", &messages, json!({"author": "bot", "body": "hi"}), 422, Is("author")),
        case("POST", &messages, json!({"author": "agent", "body": " "}), 422, Is("body")),
        case("POST", &messages, json!({"author": "agent", "body": "hi", "sent_at": "noon"}), 422, Is("sent_at")),
        case("POST", format!("{ticket}/events"), json!({"kind": "ticket_created"}), 422, Is("kind")),
        rule_with("trigger", json!({"events": ["ticket_updated"]}), 422, Is("trigger.events[0]")),
        rule_with("trigger", json!({"events": []}), 422, Is("trigger.events")),
        rule_with("trigger", json!({}), 422, Is("trigger")),
        rule_with("name", json!(""), 422, Is("name")),
        rule_with("actions", json!([]), 422, Is("actions")),
        rule_with("actions", json!([{"plugin": "launch-rockets"}]), 422, Is("actions[0].plugin")),
        // A condition plugin as an action and the other way round.
        rule_with("actions", json!([{"plugin": "subject-contains", "config": {"phrases": ["x"]}}]), 422, Is("actions[0].plugin")),
        rule_with("conditions", json!({"all": [{"plugin": "set-status", "config": {"status": "open"}}]}), 422, Is("conditions.all[0].plugin")),
        // Configs their plugins reject.
        rule_with("conditions", phrases(json!([])), 422, Within("conditions.all[0].config")),
        rule_with("actions", json!([{"plugin": "set-status", "config": {"status": " "}}]), 422, Within("actions[0].config")),
        rule_with("conditions", json!({"all": [{"either": []}]}), 400, Is("conditions.all[0].either")),
        at("PUT", rule.clone(), rule_with("actions", json!([{"plugin": "nope"}]), 422, Is("actions[0].plugin"))),
        case("PATCH", &rule, json!({"conditions": phrases(json!([""]))}), 422, Within("conditions.all[0].config")),
        case("PATCH", &rule, json!({"id": 5}), 422, Is("id")),
        case("POST", format!("{rule}/dry-run"), json!({"ticket_id": 999_999}), 422, Is("ticket_id")),
        case("POST", "/agents", json!({"name": " "}), 422, Is("name")),
        case("POST", "/agents", json!({"name": "Ola", "email": "ola"}), 422, Is("email")),
        case("POST", "/inboxes", hours(json!({"timezone": "Mars/Base"})), 422, Is("working_hours.timezone")),
        case("POST", "/inboxes", hours(json!({"timezone": "UTC", "weekly": {"mon": [["17:00", "09:00"]]}})), 422, Within("working_hours")),
        op_case("POST", "/tenants", json!({"name": "x", "timezone": "Mars/Base"}), 422, Is("timezone")),
        op_case("POST", "/tenants", json!({"name": ""}), 422, Is("name")),
        case("GET", "/tickets?limit=0", "", 422, Is("limit")),
        case("GET", "/runs?limit=5000", "", 422, Is("limit")),
        case("GET", format!("{ticket}/runs?limit=0"), "", 422, Is("limit")),
        case("POST", template, json!({"parameters": {"colour": "red"}}), 400, Is("parameters.colour")),
        // A parameter that makes the template's rule invalid.
        case("POST", template, json!({"parameters": {"agent_reply_status": " "}}), 422, Within("actions[0].config")),
    ];
    check_cases(&s, &key, &cases);
}

#[test]
fn unknown_keys_are_rejected_naming_the_key() {
    let (s, key, t, r) = server_with_ticket_and_rule();
    use Field::{Is, Within};
    let (ticket, rule) = (format!("/tickets/{t}"), format!("/rules/{r}"));
    let colour = |mut body: Value| {
        body["colour"] = "red".into();
        body
    };
    // Bodies parsed into typed structs refuse unknown keys with 400; rule and template bodies,
    // checked key by key, with 422.
    #[rustfmt::skip] // a table: one case a line
    let cases = [
        case("POST", "/tickets", colour(ticket_body("x")), 400, Is("colour")),
        ticket_with("customer", json!({"name": "Jan", "colour": 1}), 400, Is("customer.colour")),
        ticket_with("message", json!({"body": "hi", "colour": 1}), 400, Is("message.colour")),
        case("PATCH", &ticket, json!({"colour": "red"}), 400, Is("colour")),
        case("POST", format!("{ticket}/messages"), colour(json!({"author": "agent", "body": "hi"})), 400, Is("colour")),
        case("POST", format!("{ticket}/events"), colour(json!({"kind": "return_created"})), 400, Is("colour")),
        case("POST", format!("{rule}/dry-run"), colour(json!({"ticket_id": t})), 400, Is("colour")),
        case("POST", "/agents", colour(json!({"name": "Ola"})), 400, Is("colour")),
        case("POST", "/inboxes", colour(json!({"name": "Returns"})), 400, Is("colour")),
        op_case("POST", "/tenants", colour(json!({"name": "x"})), 400, Is("colour")),
        case("POST", "/rules", colour(rule_body("r")), 400, Is("colour")),
        rule_with("actions", json!([{"plugin": "set-status", "cfg": {}}]), 400, Is("actions[0].cfg")),
        rule_with("actions", json!([{"plugin": "set-status", "config": {"status": "open", "colour": 1}}]), 422, Within("actions[0].config")),
        case("PUT", &rule, colour(rule_body("r")), 400, Is("colour")),
        case("PATCH", &rule, json!({"colour": "red"}), 400, Is("colour")),
        case("POST", "/rule-templates/status-flow", json!({"colour": "red"}), 400, Is("colour")),
    ];
    check_cases(&s, &key, &cases);
    let c = s.as_tenant(&key);
    assert_eq!(
        ids(&c.get("/rules"), "rules"),
        [r],
        "no rejected rule was saved"
    );
    assert_eq!(
        ids(&c.get("/tickets"), "tickets"),
        [t],
        "no rejected ticket was saved"
    );
}

// Edge cases of the body and query parsers (each was a bug once).

#[test]
fn a_body_with_text_after_the_json_is_rejected_and_saves_nothing() {
    let (s, key, t, r) = server_with_ticket_and_rule();
    use Field::Any;
    let garbage = |body: Value| format!("{body} x");
    #[rustfmt::skip] // a table: one case a line
    let cases = [
        case("POST", "/inboxes", garbage(json!({"name": "x"})), 400, Any),
        case("POST", "/agents", r#"{"name": "Ola"}{"name": "Ela"}"#, 400, Any),
        case("POST", "/tickets", garbage(ticket_body("x")), 400, Any),
        case("POST", "/rules", garbage(rule_body("x")), 400, Any),
        case("PATCH", format!("/rules/{r}"), garbage(json!({"enabled": false})), 400, Any),
        case("PATCH", format!("/tickets/{t}"), garbage(json!({"tags": ["x"]})), 400, Any),
    ];
    check_cases(&s, &key, &cases);
    let c = s.as_tenant(&key);
    assert!(
        ids(&c.get("/inboxes"), "inboxes").is_empty(),
        "no inbox was saved"
    );
    assert_eq!(
        ids(&c.get("/tickets"), "tickets"),
        [t],
        "no ticket was saved"
    );
    assert_eq!(
        c.get(&format!("/rules/{r}")).body["enabled"],
        true,
        "the rule was not patched"
    );
}

#[test]
fn a_bad_query_parameter_is_a_json_400_naming_the_parameter() {
    let (s, key, t, _) = server_with_ticket_and_rule();
    use Field::Is;
    #[rustfmt::skip] // a table: one case a line
    let cases = [
        case("GET", "/tickets?limit=abc", "", 400, Is("limit")),
        case("GET", "/tickets?assignee=Ola", "", 400, Is("assignee")),
        case("GET", "/runs?rule_id=abc", "", 400, Is("rule_id")),
        case("GET", format!("/tickets/{t}/runs?limit=x"), "", 400, Is("limit")),
    ];
    check_cases(&s, &key, &cases);
}

#[test]
fn a_missing_required_field_is_named() {
    let (s, key, t, r) = server_with_ticket_and_rule();
    use Field::Is;
    #[rustfmt::skip] // a table: one case a line
    let cases = [
        case("POST", "/tickets", json!({"source": "email", "customer": {"name": "Jan"}}), 400, Is("subject")),
        ticket_with("customer", json!({}), 400, Is("customer.name")),
        case("POST", format!("/tickets/{t}/messages"), json!({"body": "hi"}), 400, Is("author")),
        case("POST", format!("/rules/{r}/dry-run"), json!({}), 400, Is("ticket_id")),
        case("POST", "/agents", json!({}), 400, Is("name")),
    ];
    check_cases(&s, &key, &cases);
}

#[test]
fn a_template_body_that_is_not_an_object_names_no_empty_field() {
    let (s, key, _, _) = server_with_ticket_and_rule();
    let r = s.call(
        "POST",
        "/rule-templates/status-flow",
        Some(&key),
        Some("[1]"),
    );
    assert_error(
        &r,
        400,
        "bad_request",
        "POST /rule-templates/status-flow [1]",
    );
    assert!(
        r.body["error"].get("field").is_none(),
        "no field, or a real one: {}",
        r.text
    );
}
