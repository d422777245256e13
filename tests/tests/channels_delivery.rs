//! Every outgoing item really leaves the host: `send-email` and `notify-user` reach a real SMTP
//! server, `send-sms` the SMS gateway, and webhooks an integration with a valid Standard
//! Webhooks signature — each once. Refusals go dead with the server's words; an unreachable
//! server is retried until it answers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ferrule_tests::mail_servers::{SmtpSink, free_port};
use ferrule_tests::receiver::{Call, Receiver};
use ferrule_tests::server::{Client, TestServer};
use ferrule_tests::wait_for;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// HMAC-SHA256 (RFC 2104), written out so the test checks the signature independently.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = block
        .iter()
        .map(|b| b ^ 0x36)
        .chain(message.iter().copied())
        .collect();
    let inner = Sha256::digest(&inner);
    let outer: Vec<u8> = block
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(inner.iter().copied())
        .collect();
    Sha256::digest(&outer).to_vec()
}

fn signature_is_valid(call: &Call, secret: &str) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let signed = format!(
        "{}.{}.{}",
        call.headers["webhook-id"], call.headers["webhook-timestamp"], call.body
    );
    let expected = format!(
        "v1,{}",
        STANDARD.encode(hmac_sha256(&key, signed.as_bytes()))
    );
    call.headers["webhook-signature"]
        .split(' ')
        .any(|s| s == expected)
}

fn deliveries(c: &Client, query: &str) -> Vec<Value> {
    c.get(&format!("/deliveries?{query}")).body["deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

fn rule(c: &Client, name: &str, actions: Value) {
    c.post_ok(
        "/rules",
        json!({"name": name, "trigger": {"events": ["ticket_created"]},
        "conditions": {"all": []}, "actions": actions}),
        201,
    );
}

fn ticket(c: &Client, source: &str, customer: Value) -> i64 {
    c.post_ok(
        "/tickets",
        json!({"subject": "Zamówienie 1234", "source": source, "customer": customer,
        "message": {"body": "Gdzie moja paczka?"}}),
        201,
    )["id"]
        .as_i64()
        .unwrap()
}

#[test]
fn email_notification_sms_and_webhooks_are_each_received_once() {
    let smtp = SmtpSink::start();
    let hooks = Receiver::start();
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let r = c.send("PUT", "/settings", &json!({
        "smtp": {"host": "127.0.0.1", "port": smtp.port(), "tls": "none", "from": "sklep@sklep.test"},
        "sms": {"endpoint": hooks.url("/sms"), "token": "sms-token-secret"}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        !r.text.contains("sms-token-secret"),
        "the token is write-only: {}",
        r.text
    );
    let agent = c.post_ok(
        "/agents",
        json!({"name": "Ola", "email": "ola@sklep.test"}),
        201,
    )["id"]
        .as_i64()
        .unwrap();
    let hook = c.post_ok(
        "/webhooks",
        json!({"url": hooks.url("/hook"),
        "events": ["ticket.created", "rule.fired", "message.created"]}),
        201,
    );
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert!(
        !c.get("/webhooks").text.contains(&secret),
        "the secret is shown once"
    );
    rule(
        &c,
        "Powiadom wszystkich",
        json!([
            {"plugin": "send-email", "config": {"to": "magazyn@sklep.test", "subject": "Nowe zgłoszenie #{{ticket.number}}", "body": "Sprawdź zamówienie."}},
            {"plugin": "notify-user", "config": {"user": agent.to_string(), "subject": "Masz zgłoszenie", "body": "{{ticket.subject}}"}},
            {"plugin": "send-sms", "config": {"to": "+48600100200", "body": "Przyjęliśmy zgłoszenie #{{ticket.number}}"}}
        ]),
    );
    let id = ticket(
        &c,
        "api",
        json!({"name": "Jan", "email": "jan@klient.test"}),
    );

    let mails = smtp.wait_for(2, Duration::from_secs(20));
    assert_eq!(mails.len(), 2);
    let to: Vec<String> = mails.iter().flat_map(|m| m.envelope_to.clone()).collect();
    assert!(
        to.contains(&"magazyn@sklep.test".into()) && to.contains(&"ola@sklep.test".into()),
        "{to:?}"
    );
    let sms = hooks.wait_for("/sms", 1, Duration::from_secs(20));
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].headers["authorization"], "Bearer sms-token-secret");
    let sms_body: Value = serde_json::from_str(&sms[0].body).unwrap();
    assert_eq!(sms_body["to"], "+48600100200");
    assert!(
        sms_body["body"]
            .as_str()
            .unwrap()
            .starts_with("Przyjęliśmy zgłoszenie #")
    );
    assert!(sms_body["id"].as_str().is_some());
    // ticket.created, message.created (the first message) and rule.fired.
    let calls = hooks.wait_for("/hook", 3, Duration::from_secs(20));
    assert_eq!(calls.len(), 3, "{calls:?}");
    let mut types: Vec<String> = Vec::new();
    for call in &calls {
        assert!(
            signature_is_valid(call, &secret),
            "a valid signature: {call:?}"
        );
        let body: Value = serde_json::from_str(&call.body).unwrap();
        assert!(body["timestamp"].as_str().is_some());
        types.push(body["type"].as_str().unwrap().into());
        if body["type"] == "ticket.created" {
            assert_eq!(body["data"]["ticket"]["id"], id);
        }
    }
    types.sort();
    assert_eq!(types, ["message.created", "rule.fired", "ticket.created"]);
    assert!(
        wait_for(10, || deliveries(&c, "state=sent").len() == 6),
        "{:?}",
        deliveries(&c, "")
    );
    // Nothing is sent twice.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(smtp.messages().len(), 2);
    assert_eq!(hooks.calls("/sms").len(), 1);
    assert_eq!(hooks.calls("/hook").len(), 3);
    let hook_id = hook["id"].as_i64().unwrap();
    let listed = c.get(&format!("/webhooks/{hook_id}/deliveries")).body["deliveries"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    assert!(!c.get("/deliveries").text.contains("sms-token-secret"));
}

#[test]
fn a_refused_recipient_is_dead_with_the_servers_words_and_can_be_sent_again() {
    let smtp = SmtpSink::start();
    let hooks = Receiver::start();
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    c.send("PUT", "/settings", &json!({"smtp": {"host": "127.0.0.1", "port": smtp.port(), "tls": "none", "from": "sklep@sklep.test"}}));
    c.post_ok(
        "/webhooks",
        json!({"url": hooks.url("/hook"), "events": ["delivery.dead"]}),
        201,
    );
    rule(
        &c,
        "Do nieistniejącego",
        json!([{"plugin": "send-email", "config": {"to": "refuse-me@sklep.test", "subject": "x", "body": "y"}}]),
    );
    ticket(&c, "api", json!({"name": "Jan"}));
    assert!(
        wait_for(20, || deliveries(&c, "state=dead").len() == 1),
        "{:?}",
        deliveries(&c, "")
    );
    let dead = deliveries(&c, "state=dead")[0].clone();
    assert_eq!(dead["attempts"], 1, "a permanent refusal is dead at once");
    assert!(
        dead["last_error"].as_str().unwrap().contains("550"),
        "{dead}"
    );
    let calls = hooks.wait_for("/hook", 1, Duration::from_secs(20));
    let body: Value = serde_json::from_str(&calls[0].body).unwrap();
    assert_eq!(body["type"], "delivery.dead");
    assert_eq!(body["data"]["delivery"]["id"], dead["id"]);

    let id = dead["id"].as_i64().unwrap();
    let again = c.send("POST", &format!("/deliveries/{id}/retry"), &json!({}));
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["state"], "pending");
    assert!(wait_for(
        20,
        || c.get(&format!("/deliveries/{id}")).body["attempts"] == 1
            && c.get(&format!("/deliveries/{id}")).body["state"] == "dead"
    ));
    let sent_one = c.send("POST", "/deliveries/999999/retry", &json!({}));
    assert_eq!(sent_one.status, 404);
}

#[test]
fn an_unreachable_smtp_server_is_retried_and_succeeds_once_it_starts() {
    let port = free_port();
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    c.send("PUT", "/settings", &json!({"smtp": {"host": "127.0.0.1", "port": port, "tls": "none", "from": "sklep@sklep.test"}}));
    rule(
        &c,
        "Do magazynu",
        json!([{"plugin": "send-email", "config": {"to": "magazyn@sklep.test", "subject": "x", "body": "y"}}]),
    );
    ticket(&c, "api", json!({"name": "Jan"}));
    assert!(
        wait_for(20, || deliveries(&c, "state=failed").len() == 1),
        "{:?}",
        deliveries(&c, "")
    );
    let failed = deliveries(&c, "state=failed")[0].clone();
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["last_error"].as_str().unwrap().contains("reach"),
        "{failed}"
    );
    assert!(failed["next_attempt_at"].as_str().is_some());
    let retry = c.send(
        "POST",
        &format!("/deliveries/{}/retry", failed["id"]),
        &json!({}),
    );
    assert_eq!(
        retry.status, 409,
        "only dead ones are sent again by hand: {}",
        retry.text
    );
    let smtp = SmtpSink::start_on(port);
    // The first retry is 10 s after the failure.
    let mails = smtp.wait_for(1, Duration::from_secs(30));
    assert_eq!(mails.len(), 1);
    assert!(wait_for(10, || deliveries(&c, "state=sent").len() == 1));
    assert_eq!(deliveries(&c, "state=sent")[0]["attempts"], 2);
}

#[test]
fn replies_on_tickets_without_a_connector_reach_the_integration_as_delivery_requested() {
    let hooks = Receiver::start();
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    rule(
        &c,
        "Odpowiedz",
        json!([{"plugin": "send-message", "config": {"body": "Dzień dobry {{customer.name}}"}}]),
    );
    // Without a webhook the reply is dead, with the reason: it is not silently lost.
    let lost = ticket(&c, "chat", json!({"name": "Jan"}));
    let dead = deliveries(&c, &format!("ticket_id={lost}"));
    assert_eq!(dead[0]["state"], "dead", "{dead:?}");
    assert!(
        dead[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("delivery.requested")
    );

    let hook = c.post_ok(
        "/webhooks",
        json!({"url": hooks.url("/chat"), "events": ["delivery.requested"]}),
        201,
    );
    let id = ticket(&c, "chat", json!({"name": "Anna"}));
    let calls = hooks.wait_for("/chat", 1, Duration::from_secs(20));
    assert_eq!(calls.len(), 1);
    assert!(signature_is_valid(
        &calls[0],
        hook["secret"].as_str().unwrap()
    ));
    let body: Value = serde_json::from_str(&calls[0].body).unwrap();
    assert_eq!(body["type"], "delivery.requested");
    assert_eq!(body["data"]["ticket"]["id"], id);
    assert_eq!(body["data"]["message"]["body"], "Dzień dobry Anna");
    // A 4xx is a refusal for good; a 5xx is retried.
    hooks.answer("/chat", 503, 1);
    let retried = ticket(&c, "chat", json!({"name": "Piotr"}));
    assert!(wait_for(20, || deliveries(
        &c,
        &format!("ticket_id={retried}")
    )[0]["state"]
        == "failed"));
    let failed = deliveries(&c, &format!("ticket_id={retried}"))[0].clone();
    assert!(
        failed["last_error"].as_str().unwrap().contains("503"),
        "{failed}"
    );
}

#[test]
fn external_ids_make_intake_idempotent() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    c.post_ok("/rules", json!({"name": "Tag", "trigger": {"events": ["ticket_created", "customer_message"]},
        "conditions": {"all": []}, "actions": [{"plugin": "add-tags", "config": {"tags": ["seen"]}}]}), 201);
    let body = json!({"subject": "Wątek", "source": "allegro-messages", "customer": {"name": "Jan"},
        "external_id": "thread-77", "message": {"body": "Dzień dobry"}});
    let first = c.post_ok("/tickets", body.clone(), 201);
    let again = c.post_ok("/tickets", body.clone(), 200);
    assert_eq!(first["id"], again["id"]);
    let id = first["id"].as_i64().unwrap();
    let runs = c.get(&format!("/tickets/{id}/runs")).body["runs"]
        .as_array()
        .unwrap()
        .len();
    // Another source may use the same id.
    let other = c.post_ok(
        "/tickets",
        json!({"subject": "Inny", "source": "email", "customer": {"name": "Jan"},
        "external_id": "thread-77"}),
        201,
    );
    assert_ne!(other["id"], first["id"]);
    let m = json!({"author": "customer", "body": "Jeszcze jedno", "external_id": "msg-1"});
    let added = c.post_ok(&format!("/tickets/{id}/messages"), m.clone(), 201);
    let repeated = c.post_ok(&format!("/tickets/{id}/messages"), m, 200);
    assert_eq!(added["id"], repeated["id"]);
    let messages = c.get(&format!("/tickets/{id}/messages")).body["messages"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(messages, 2, "the repeat added nothing");
    let after = c.get(&format!("/tickets/{id}/runs")).body["runs"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, runs + 1, "only the first message ran its rule");
    // Concurrent repeats make one ticket.
    let results: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| {
            c.send("POST", "/tickets", &json!({"subject": "Raz", "source": "web-form", "customer": {"name": "A"}, "external_id": "form-9"})).status
        })).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|s| **s == 201).count(),
        1,
        "{results:?}"
    );
    assert!(
        results.iter().all(|s| *s == 201 || *s == 200),
        "{results:?}"
    );
}

#[test]
fn bad_channel_input_names_the_field() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let cases = [
        (
            "POST",
            "/webhooks",
            json!({"url": "ftp://x", "events": ["ticket.created"]}),
            "url",
        ),
        (
            "POST",
            "/webhooks",
            json!({"url": "https://x.test/h", "events": ["ticket.exploded"]}),
            "events[0]",
        ),
        (
            "POST",
            "/webhooks",
            json!({"url": "https://x.test/h", "events": []}),
            "events",
        ),
        (
            "PUT",
            "/settings",
            json!({"smtp": {"host": "h", "port": 25, "tls": "none"}}),
            "smtp.from",
        ),
        (
            "PUT",
            "/settings",
            json!({"sms": {"endpoint": "not a url"}}),
            "sms.endpoint",
        ),
        (
            "POST",
            "/tickets",
            json!({"subject": "x", "source": "api", "customer": {"name": "A"}, "external_id": " "}),
            "external_id",
        ),
    ];
    for (method, path, body, field) in cases {
        let r = c.send(method, path, &body);
        assert!(matches!(r.status, 400 | 422), "{path} {body}: {}", r.text);
        assert_eq!(r.body["error"]["field"], field, "{path} {body}: {}", r.text);
    }
    let r = c.get("/deliveries?state=lost");
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"]["field"], "state");
}
