//! The plugin lifecycle through the real server: vendors upload signed components, tenant admins
//! install them with grants, defaults and secrets, pin and upgrade versions, disable them — and
//! other tenants never see them run.

use ferrule_host::catalog::signature;
use ferrule_tests::components::{
    CRM_LOOKUP_V1, CRM_LOOKUP_V2, HOSTILE_CONDITION, LEGACY_CONDITION,
};
use ferrule_tests::fake_services;
use ferrule_tests::server::{Client, Options, TestServer};
use serde_json::{Value, json};

/// A vendor with a registered signing key: (id, API key, secret signing key).
fn vendor_with_key(server: &TestServer, name: &str) -> (i64, String, ed25519_dalek::SigningKey) {
    let (id, key) = server.vendor(name);
    let secret = signature::parse_secret_key(&signature::generate_secret_key()).unwrap();
    let public = signature::encode_public_key(&secret.verifying_key());
    let r = server.call(
        "POST",
        &format!("/vendors/{id}/keys"),
        Some(&key),
        Some(&json!({"public_key": public}).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    (id, key, secret)
}

fn upload_signed(
    server: &TestServer,
    vendor_key: &str,
    secret: &ed25519_dalek::SigningKey,
    bytes: &[u8],
) -> Value {
    let sig = signature::sign(secret, bytes);
    let r = server.upload(vendor_key, bytes, Some(&sig));
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

/// A server with `crm-lookup` 1.0.0 uploaded (signed) and installed by a tenant with the grant
/// for `crm` and the secret the CRM wants; returns the tenant's key.
fn crm_installed(server: &TestServer, crm: &fake_services::FakeServices) -> String {
    let (_, vendor_key, secret) = vendor_with_key(server, "CRM Co");
    upload_signed(server, &vendor_key, &secret, CRM_LOOKUP_V1);
    let key = server.tenant("Sklep");
    let r = server.as_tenant(&key).send(
        "PUT",
        "/installations/crm-lookup",
        &json!({"grants": {"http": [crm.authority()]}, "secrets": {"api_key": "crm-secret"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    key
}

fn crm_rule(c: &Client, name: &str, endpoint: &str, tag: &str) -> Value {
    c.send(
        "POST",
        "/rules",
        &json!({
            "name": name,
            "trigger": {"events": ["ticket_created"]},
            "actions": [{"plugin": "crm-lookup", "config": {"endpoint": endpoint, "tag": tag}}]
        }),
    )
    .body
}

fn new_ticket(c: &Client, email: &str) -> Value {
    c.post_ok(
        "/tickets",
        json!({"subject": "Gdzie paczka?", "source": "email", "customer": {"name": "Jan", "email": email}}),
        201,
    )
}

/// The full run records of a ticket (the ticket's own answer lists only their outcomes).
fn runs(c: &Client, t: &Value) -> Vec<Value> {
    c.get(&format!("/tickets/{}/runs", t["id"])).body["runs"]
        .as_array()
        .unwrap()
        .clone()
}

fn tags(t: &Value) -> Vec<String> {
    t["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_signed_vendor_plugin_runs_with_its_grant_and_secret_only_for_the_tenant_that_enabled_it() {
    let crm = fake_services::start();
    let server = TestServer::start_with(Options {
        require_signatures: true,
    });
    let (vendor_id, vendor_key, secret) = vendor_with_key(&server, "CRM Co");
    let uploaded = upload_signed(&server, &vendor_key, &secret, CRM_LOOKUP_V1);
    assert_eq!(uploaded["name"], "crm-lookup");
    assert_eq!(uploaded["version"], "1.0.0");
    assert_eq!(uploaded["signed"], true);
    assert_eq!(
        uploaded["publisher"],
        json!({"kind": "vendor", "vendor_id": vendor_id})
    );

    let shop = server.tenant("Sklep");
    let other = server.tenant("Inny");
    let a = server.as_tenant(&shop);
    let b = server.as_tenant(&other);

    // Not installed yet: a rule cannot use it, and says how to install it.
    let refused = crm_rule(&a, "CRM", &crm.url(), "crm");
    assert_eq!(refused["error"]["field"], "actions[0].plugin");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PUT /api/v1/installations/crm-lookup"),
        "{refused}"
    );

    let put = a.send(
        "PUT",
        "/installations/crm-lookup",
        &json!({"enabled": true, "grants": {"http": [crm.authority()]},
                "config": {"endpoint": crm.url()}, "secrets": {"api_key": "crm-secret"}}),
    );
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.body["secrets"], json!(["api_key"]));
    assert_eq!(put.body["active_version"], "1.0.0");
    assert!(
        !put.text.contains("crm-secret"),
        "secrets are never returned"
    );

    // The installation's default `endpoint` completes the rule's config.
    let created = a.send(
        "POST",
        "/rules",
        &json!({"name": "CRM segment", "trigger": {"events": ["ticket_created"]},
                "actions": [{"plugin": "crm-lookup", "config": {"tag": "crm"}}]}),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let t = new_ticket(&a, "jan@vip.example");
    assert_eq!(tags(&t), vec!["crm", "segment-vip"], "{t}");
    let seen = crm.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].headers["authorization"], "Bearer crm-secret");

    // The secret appears in no answer and not in the database file.
    let runs = a.get(&format!("/tickets/{}/runs", t["id"]));
    let listed = a.get("/installations");
    for text in [&runs.text, &listed.text] {
        assert!(!text.contains("crm-secret"));
    }
    let db = std::fs::read(server.data_dir().join("ferrule.db")).unwrap();
    let wal = std::fs::read(server.data_dir().join("ferrule.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(10).any(|w| w == b"crm-secret"),
            "sealed at rest"
        );
    }

    // The other tenant: not in its installations, not usable, never run.
    let theirs = b.get("/installations").body;
    assert!(
        !theirs["installations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["plugin"] == "crm-lookup")
    );
    assert_eq!(
        crm_rule(&b, "CRM", &crm.url(), "crm")["error"]["field"],
        "actions[0].plugin"
    );
    let t = new_ticket(&b, "ola@vip.example");
    assert!(tags(&t).is_empty());
    assert_eq!(crm.requests().len(), 1, "no call for the other tenant");
}

#[test]
fn without_the_grant_or_the_secret_the_run_fails_and_says_why() {
    let crm = fake_services::start();
    let server = TestServer::start();
    let (_, vendor_key, secret) = vendor_with_key(&server, "CRM Co");
    upload_signed(&server, &vendor_key, &secret, CRM_LOOKUP_V1);
    let key = server.tenant("Sklep");
    let a = server.as_tenant(&key);
    let put = a.send("PUT", "/installations/crm-lookup", &json!({}));
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.body["enabled"], true);
    assert_eq!(crm_rule(&a, "CRM", &crm.url(), "crm")["enabled"], true);

    let t = new_ticket(&a, "jan@vip.example");
    assert_eq!(t["runs"][0]["outcome"], "failed");
    let error = runs(&a, &t)[0]["error"].as_str().unwrap().to_owned();
    assert!(error.contains("secret `api_key`"), "{error}");

    a.send(
        "PUT",
        "/installations/crm-lookup",
        &json!({"secrets": {"api_key": "crm-secret"}}),
    );
    let t = new_ticket(&a, "jan@vip.example");
    let error = runs(&a, &t)[0]["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("capability_denied")
            || error.contains("not granted")
            || error.contains("denied"),
        "{error}"
    );
    assert!(
        crm.requests().is_empty(),
        "the denied request never left the host"
    );
}

#[test]
fn disabling_a_plugin_pauses_the_rules_that_use_it_and_their_runs_say_why() {
    let crm = fake_services::start();
    let server = TestServer::start();
    let key = crm_installed(&server, &crm);
    let a = server.as_tenant(&key);
    crm_rule(&a, "CRM", &crm.url(), "crm");
    assert_eq!(tags(&new_ticket(&a, "x@vip.example")).len(), 2);

    let off = a.send(
        "PUT",
        "/installations/crm-lookup",
        &json!({"enabled": false}),
    );
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.body["enabled"], false);
    assert_eq!(
        off.body["grants"]["http"][0],
        crm.authority(),
        "other fields kept"
    );
    let t = new_ticket(&a, "x@vip.example");
    assert!(tags(&t).is_empty());
    assert_eq!(t["runs"][0]["outcome"], "paused");
    assert!(
        runs(&a, &t)[0]["error"]
            .as_str()
            .unwrap()
            .contains("`crm-lookup` is disabled")
    );
    assert_eq!(crm.requests().len(), 1);

    // A built-in can be disabled too.
    a.send("PUT", "/installations/add-tags", &json!({"enabled": false}));
    let listed = a.get("/installations/add-tags").body;
    assert_eq!(listed["enabled"], false);
    assert_eq!(listed["builtin"], true);

    a.send(
        "PUT",
        "/installations/crm-lookup",
        &json!({"enabled": true}),
    );
    assert_eq!(tags(&new_ticket(&a, "x@vip.example")).len(), 2);
}

#[test]
fn an_upgrade_that_would_break_a_rule_is_refused_naming_the_rule() {
    let crm = fake_services::start();
    let server = TestServer::start();
    let (_, vendor_key, secret) = vendor_with_key(&server, "CRM Co");
    upload_signed(&server, &vendor_key, &secret, CRM_LOOKUP_V1);
    upload_signed(&server, &vendor_key, &secret, CRM_LOOKUP_V2);
    let catalog = server.call("GET", "/plugins/crm-lookup", Some(&vendor_key), None);
    assert_eq!(catalog.body["version"], "2.0.0");
    assert_eq!(catalog.body["versions"].as_array().unwrap().len(), 2);

    let key = server.tenant("Sklep");
    let a = server.as_tenant(&key);
    let put = a.send(
        "PUT",
        "/installations/crm-lookup",
        &json!({"version": "1.0.0", "grants": {"http": [crm.authority()]}, "secrets": {"api_key": "crm-secret"}}),
    );
    assert_eq!(put.body["active_version"], "1.0.0", "{}", put.text);
    assert_eq!(put.body["latest_version"], "2.0.0");
    crm_rule(&a, "Short tag", &crm.url(), "crm");
    let long = crm_rule(&a, "Long tag", &crm.url(), "customer-relationship");
    assert_eq!(long["enabled"], true, "valid under 1.0.0: {long}");

    let refused = a.send(
        "PUT",
        "/installations/crm-lookup",
        &json!({"version": "2.0.0"}),
    );
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.body["error"]["field"], "version");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("\"Long tag\""), "{message}");
    assert!(message.contains("actions[0].config.tag"), "{message}");
    assert!(!message.contains("\"Short tag\""), "{message}");
    assert_eq!(
        a.get("/installations/crm-lookup").body["active_version"],
        "1.0.0",
        "unchanged"
    );
    let unknown = a.send(
        "PUT",
        "/installations/crm-lookup",
        &json!({"version": "9.9.9"}),
    );
    assert_eq!(unknown.status, 422);
    assert!(unknown.text.contains("1.0.0, 2.0.0"), "{}", unknown.text);

    let r = server.call(
        "DELETE",
        &format!("/rules/{}", long["id"]),
        Some(&key),
        None,
    );
    assert_eq!(r.status, 204);
    let upgraded = a.send(
        "PUT",
        "/installations/crm-lookup",
        &json!({"version": null}),
    );
    assert_eq!(upgraded.status, 200, "{}", upgraded.text);
    assert_eq!(upgraded.body["active_version"], "2.0.0");
    assert_eq!(upgraded.body["version"], Value::Null, "follows the newest");
    let t = new_ticket(&a, "x@example.pl");
    assert_eq!(tags(&t), vec!["crm", "segment-regular"]);
    assert_eq!(
        crm_rule(&a, "Long again", &crm.url(), "customer-relationship")["error"]["field"],
        "actions[0].config.tag",
        "2.0.0 now validates new rules"
    );
}

#[test]
fn uploads_that_are_wrong_get_a_clear_4xx() {
    let server = TestServer::start();
    let op = server.operator.clone();
    let (_, vendor_key, secret) = vendor_with_key(&server, "CRM Co");
    let (_, other_vendor, _) = vendor_with_key(&server, "Copycat");
    let tenant = server.tenant("Sklep");
    let source = ferrule_host::builtin::component("source").unwrap();
    // A valid component that is not a plugin: an empty component (magic, version 13, layer 1).
    let empty_component = b"\0asm\x0d\x00\x01\x00".to_vec();
    let mut changed = CRM_LOOKUP_V1.to_vec();
    // A custom section at the end: still a valid component, other bytes.
    changed.extend([0, 5, 4, b'n', b'o', b't', b'e']);
    // (what, token, body, status, field)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("no token", None, CRM_LOOKUP_V1.to_vec(), 401, ""),
        (
            "a tenant key",
            Some(&tenant),
            CRM_LOOKUP_V1.to_vec(),
            403,
            "",
        ),
        ("empty body", Some(&op), vec![], 400, "body"),
        ("not WebAssembly", Some(&op), b"hello".to_vec(), 422, "body"),
        (
            "a component of no ferrule world",
            Some(&op),
            empty_component,
            422,
            "body",
        ),
        ("a built-in's name", Some(&op), source.to_vec(), 409, ""),
        ("too large", Some(&op), vec![0; 33 << 20], 413, ""),
    ];
    for (what, token, bytes, status, field) in cases {
        let sig = signature::sign(&secret, &bytes);
        let r = match token {
            Some(t) if t == vendor_key => server.upload(t, &bytes, Some(&sig)),
            Some(t) => server.upload(t, &bytes, None),
            None => server.call_raw("POST", "/plugins", None, bytes, &[]),
        };
        assert_eq!(r.status, status, "{what}: {}", r.text);
        assert!(r.body["error"]["message"].is_string(), "{what}: {}", r.text);
        if !field.is_empty() {
            assert_eq!(r.body["error"]["field"], field, "{what}");
        }
    }
    let r = server.upload(&op, b"hello", None);
    assert!(
        r.text.contains("not a valid WebAssembly component"),
        "{}",
        r.text
    );
    let r = server.upload(&op, b"\0asm\x0d\x00\x01\x00", None);
    assert!(r.text.contains("exports neither"), "{}", r.text);

    // Versions are immutable; the same bytes again are fine.
    let first = upload_signed(&server, &vendor_key, &secret, CRM_LOOKUP_V1);
    let again = server.upload(
        &vendor_key,
        CRM_LOOKUP_V1,
        Some(&signature::sign(&secret, CRM_LOOKUP_V1)),
    );
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["sha256"], first["sha256"]);
    let conflict = server.upload(
        &vendor_key,
        &changed,
        Some(&signature::sign(&secret, &changed)),
    );
    assert_eq!(conflict.status, 409, "{}", conflict.text);
    assert!(conflict.text.contains("crm-lookup@1.0.0 exists"));
    // Another vendor cannot publish under the name.
    let squat = server.upload(&other_vendor, CRM_LOOKUP_V2, None);
    assert_eq!(squat.status, 409, "{}", squat.text);
    assert!(squat.text.contains("belongs to another vendor"));

    // A signature over other bytes, or malformed, is refused even when not required.
    let forged = server.upload(
        &vendor_key,
        CRM_LOOKUP_V2,
        Some(&signature::sign(&secret, b"x")),
    );
    assert_eq!(forged.status, 422, "{}", forged.text);
    assert_eq!(forged.body["error"]["field"], "x-ferrule-signature");
    let garbled = server.upload(&vendor_key, CRM_LOOKUP_V2, Some("***"));
    assert_eq!(garbled.status, 422);
    assert!(garbled.text.contains("base64"));
}

#[test]
fn a_server_that_requires_signatures_refuses_unsigned_and_foreign_signed_uploads() {
    let server = TestServer::start_with(Options {
        require_signatures: true,
    });
    let (id, vendor_key, secret) = vendor_with_key(&server, "CRM Co");
    let unsigned = server.upload(&vendor_key, CRM_LOOKUP_V1, None);
    assert_eq!(unsigned.status, 422, "{}", unsigned.text);
    assert_eq!(unsigned.body["error"]["field"], "x-ferrule-signature");
    assert!(unsigned.text.contains("only signed plugins"));
    // Signed with a key nobody registered.
    let stranger = signature::parse_secret_key(&signature::generate_secret_key()).unwrap();
    let foreign = server.upload(
        &vendor_key,
        CRM_LOOKUP_V1,
        Some(&signature::sign(&stranger, CRM_LOOKUP_V1)),
    );
    assert_eq!(foreign.status, 422, "{}", foreign.text);
    assert!(foreign.text.contains("does not verify"));
    let ok = upload_signed(&server, &vendor_key, &secret, CRM_LOOKUP_V1);
    assert_eq!(ok["signed"], true);
    let keys = server.call(
        "GET",
        &format!("/vendors/{id}/keys"),
        Some(&vendor_key),
        None,
    );
    assert_eq!(ok["signed_by_key"], keys.body["keys"][0]["id"]);
    // Bad keys are explained; a key cannot be registered twice.
    let bad = server.call(
        "POST",
        &format!("/vendors/{id}/keys"),
        Some(&vendor_key),
        Some(r#"{"public_key": "AAAA"}"#),
    );
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["error"]["field"], "public_key");
    let twice = server.call(
        "POST",
        &format!("/vendors/{id}/keys"),
        Some(&vendor_key),
        Some(&json!({"public_key": keys.body["keys"][0]["public_key"]}).to_string()),
    );
    assert_eq!(twice.status, 409);
    // Another vendor's keys are not even visible.
    let (_, other_key) = server.vendor("Other");
    let hidden = server.call(
        "GET",
        &format!("/vendors/{id}/keys"),
        Some(&other_key),
        None,
    );
    assert_eq!(hidden.status, 404);
}

#[test]
fn a_plugin_built_against_wit_0_1_0_keeps_running_on_this_host() {
    let server = TestServer::start();
    let op = server.operator.clone();
    let up = server.upload(&op, LEGACY_CONDITION, None);
    assert_eq!(up.status, 201, "{}", up.text);
    assert_eq!(up.body["name"], "legacy-subject");
    let key = server.tenant("Sklep");
    let a = server.as_tenant(&key);
    a.send(
        "PUT",
        "/installations/legacy-subject",
        &json!({"enabled": true}),
    );
    let rule = a.post_ok(
        "/rules",
        json!({"name": "Legacy", "trigger": {"events": ["ticket_created"]},
               "conditions": {"plugin": "legacy-subject", "config": {"word": "paczka"}},
               "actions": [{"plugin": "add-tags", "config": {"tags": ["legacy"]}}]}),
        201,
    );
    assert_eq!(rule["enabled"], true);
    let bad = a.send(
        "POST",
        "/rules",
        &json!({"name": "Legacy bad", "trigger": {"events": ["ticket_created"]},
               "conditions": {"plugin": "legacy-subject", "config": {"word": ""}},
               "actions": [{"plugin": "add-tags", "config": {"tags": ["x"]}}]}),
    );
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["error"]["field"], "conditions.config.word");
    let t = new_ticket(&a, "x@example.pl");
    assert_eq!(tags(&t), vec!["legacy"], "{t}");
    assert_eq!(runs(&a, &t)[0]["conditions"][0]["result"], true);
}

#[test]
fn uploads_installations_and_secrets_survive_a_restart() {
    let crm = fake_services::start();
    let server = TestServer::start();
    let key = crm_installed(&server, &crm);
    crm_rule(&server.as_tenant(&key), "CRM", &crm.url(), "crm");
    let server = server.restart();
    let a = server.as_tenant(&key);
    let t = new_ticket(&a, "x@vip.example");
    assert_eq!(tags(&t), vec!["crm", "segment-vip"], "{t}");
    let listed = server.call("GET", "/plugins", Some(&key), None);
    assert!(listed.text.contains("crm-lookup"));
}

#[test]
fn an_uploaded_plugin_name_cannot_be_used_by_a_tenant_that_did_not_install_it_even_as_a_hostile_one()
 {
    let server = TestServer::start();
    let op = server.operator.clone();
    assert_eq!(server.upload(&op, HOSTILE_CONDITION, None).status, 201);
    let key = server.tenant("Sklep");
    let a = server.as_tenant(&key);
    let r = a.send(
        "POST",
        "/rules",
        &json!({"name": "x", "trigger": {"events": ["ticket_created"]},
               "conditions": {"plugin": "hostile-condition", "config": {"attack": "none"}},
               "actions": [{"plugin": "add-tags", "config": {"tags": ["x"]}}]}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("not installed for this tenant"));
}

#[test]
fn every_hostile_plugin_uploaded_by_a_vendor_fails_only_its_own_run_with_a_typed_error() {
    use ferrule_tests::components::HOSTILE_ACTION;
    let target = fake_services::start();
    let server = TestServer::start();
    let (_, vendor_key, secret) = vendor_with_key(&server, "Evil Inc.");
    upload_signed(&server, &vendor_key, &secret, HOSTILE_CONDITION);
    upload_signed(&server, &vendor_key, &secret, HOSTILE_ACTION);
    let url = format!("{}/hello", target.url());
    // (condition config or None, action config or None, what the run's error says)
    let attacks: Vec<(Option<Value>, Option<Value>, &str)> = vec![
        (Some(json!({"attack": "loop"})), None, "out of fuel"),
        (Some(json!({"attack": "memory"})), None, "memory limit"),
        (Some(json!({"attack": "recursion"})), None, "stack overflow"),
        (Some(json!({"attack": "stack-hog"})), None, "out of bounds"),
        (Some(json!({"attack": "panic"})), None, "panicked"),
        (Some(json!({"attack": "file"})), None, "wasi:filesystem"),
        (Some(json!({"attack": "clock"})), None, "wasi:clocks"),
        (
            Some(json!({"attack": "huge-output"})),
            None,
            "invalid output",
        ),
        (
            None,
            Some(json!({"attack": "http", "url": url})),
            "capability denied",
        ),
        (
            None,
            Some(json!({"attack": "http-swallow", "url": url})),
            "capability denied",
        ),
        (
            None,
            Some(json!({"attack": "many-effects"})),
            "10000 effects",
        ),
        (
            None,
            Some(json!({"attack": "long-string"})),
            "invalid output",
        ),
    ];
    for (i, (condition, action, expected)) in attacks.into_iter().enumerate() {
        let key = server.tenant(&format!("Victim {i}"));
        let c = server.as_tenant(&key);
        for plugin in ["hostile-condition", "hostile-action"] {
            let r = c.send(
                "PUT",
                &format!("/installations/{plugin}"),
                &json!({"enabled": true}),
            );
            assert_eq!(r.status, 200, "{}", r.text);
        }
        let conditions = match &condition {
            Some(config) => json!({"plugin": "hostile-condition", "config": config}),
            None => json!({"all": []}),
        };
        let actions = match &action {
            Some(config) => json!([{"plugin": "hostile-action", "config": config}]),
            None => json!([{"plugin": "add-tags", "config": {"tags": ["hostile"]}}]),
        };
        c.post_ok(
            "/rules",
            json!({"name": "Hostile", "trigger": {"events": ["ticket_created"]},
                   "conditions": conditions, "actions": actions}),
            201,
        );
        c.post_ok(
            "/rules",
            json!({"name": "Good", "trigger": {"events": ["ticket_created"]},
                   "conditions": {"plugin": "source", "config": {"is": ["email"]}},
                   "actions": [{"plugin": "add-tags", "config": {"tags": ["ok"]}}]}),
            201,
        );
        let t = new_ticket(&c, "jan@example.pl");
        assert_eq!(tags(&t), vec!["ok"], "attack {i} ({expected}): {t}");
        let records = runs(&c, &t);
        let hostile = records
            .iter()
            .find(|r| r["rule_name"] == "Hostile")
            .unwrap();
        assert_eq!(hostile["outcome"], "failed", "attack {i}: {hostile}");
        let error = hostile["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(expected),
            "attack {i}: expected `{expected}` in {error}"
        );
    }
    assert!(target.requests().is_empty(), "no request left the host");
}

#[test]
fn a_new_upload_moves_tenants_that_follow_the_newest_version_only_if_their_rules_still_validate() {
    let crm = fake_services::start();
    let server = TestServer::start();
    let (_, vendor_key, secret) = vendor_with_key(&server, "CRM Co");
    upload_signed(&server, &vendor_key, &secret, CRM_LOOKUP_V1);
    let install = |c: &Client, version: Value| {
        let r = c.send(
            "PUT",
            "/installations/crm-lookup",
            &json!({"version": version, "grants": {"http": [crm.authority()]}, "secrets": {"api_key": "crm-secret"}}),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    };
    let (k1, k2, k3) = (
        server.tenant("Follows, short tag"),
        server.tenant("Follows, long tag"),
        server.tenant("Installed without a version"),
    );
    let (short, long, quiet) = (
        server.as_tenant(&k1),
        server.as_tenant(&k2),
        server.as_tenant(&k3),
    );
    assert_eq!(install(&short, Value::Null)["version"], Value::Null);
    install(&long, Value::Null);
    let r = quiet.send(
        "PUT",
        "/installations/crm-lookup",
        &json!({"enabled": true}),
    );
    assert_eq!(
        r.body["version"], "1.0.0",
        "a new installation is pinned: {}",
        r.text
    );
    crm_rule(&short, "CRM", &crm.url(), "crm");
    crm_rule(&long, "CRM", &crm.url(), "customer-relationship");

    upload_signed(&server, &vendor_key, &secret, CRM_LOOKUP_V2);
    let now = |c: &Client| c.get("/installations/crm-lookup").body;
    assert_eq!(now(&short)["active_version"], "2.0.0");
    assert_eq!(now(&short)["version"], Value::Null);
    let kept = now(&long);
    assert_eq!(
        kept["active_version"], "1.0.0",
        "its rule would break: {kept}"
    );
    assert_eq!(kept["version"], "1.0.0", "pinned where it was");
    assert_eq!(now(&quiet)["active_version"], "1.0.0");
    let t = new_ticket(&long, "x@vip.example");
    assert_eq!(tags(&t), vec!["customer-relationship", "segment-vip"]);
}
