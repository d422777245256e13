//! A plugin in another language than Rust, end to end: `plugins-py/keyword-score` (Python) is
//! built from source with componentize-py, uploaded through the API, installed by a tenant and
//! run in a rule. `.ci/run` installs componentize-py; the build needs no network.

use ferrule_tests::server::TestServer;
use serde_json::json;
use std::path::Path;
use std::process::Command;

#[test]
fn a_python_condition_built_from_source_is_uploaded_installed_and_runs_in_a_rule() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = tempfile::tempdir().unwrap();
    let wasm = out.path().join("keyword-score.wasm");
    let built = Command::new(root.join("plugins-py/keyword-score/build.sh"))
        .arg(&wasm)
        .output()
        .expect("build.sh runs");
    assert!(
        built.status.success(),
        "build.sh failed (is componentize-py installed? `pip install componentize-py==0.25.1`):\n{}\n{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    let bytes = std::fs::read(&wasm).unwrap();

    let server = TestServer::start();
    let op = server.operator.clone();
    let up = server.upload(&op, &bytes, None);
    assert_eq!(up.status, 201, "{}", up.text);
    assert_eq!(up.body["name"], "keyword-score");
    assert_eq!(up.body["kind"], "condition");

    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let put = c.send(
        "PUT",
        "/installations/keyword-score",
        &json!({"enabled": true}),
    );
    assert_eq!(put.status, 200, "{}", put.text);

    // The plugin's own validate() names the bad value.
    let bad = c.send(
        "POST",
        "/rules",
        &json!({"name": "Bad", "trigger": {"events": ["customer_message"]},
               "conditions": {"plugin": "keyword-score", "config": {"keywords": {"zwrot": "dużo"}, "threshold": 1}},
               "actions": [{"plugin": "add-tags", "config": {"tags": ["x"]}}]}),
    );
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(
        bad.body["error"]["field"],
        "conditions.config.keywords.zwrot"
    );

    c.post_ok(
        "/rules",
        json!({"name": "Returns, scored", "trigger": {"events": ["customer_message"]},
               "conditions": {"plugin": "keyword-score",
                              "config": {"keywords": {"zwrot": 2, "USZKODZONA": 1.5, "faktura": 1}, "threshold": 3}},
               "actions": [{"plugin": "add-tags", "config": {"tags": ["return-likely"]}}]}),
        201,
    );
    let ticket = |body: &str| {
        c.post_ok(
            "/tickets",
            json!({"subject": "Zamówienie 1042", "source": "email", "customer": {"name": "Jan"},
                   "message": {"body": body}}),
            201,
        )
    };
    let hit = ticket("Paczka przyszła uszkodzona, proszę o ZWROT pieniędzy.");
    assert_eq!(hit["tags"], json!(["return-likely"]), "{hit}");
    let miss = ticket("Proszę o fakturę.");
    assert_eq!(miss["tags"], json!([]), "{miss}");
    let runs = c.get(&format!("/tickets/{}/runs", hit["id"])).body;
    let run = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["outcome"] == "fired")
        .expect("the rule fired")
        .clone();
    assert_eq!(run["conditions"][0]["plugin"], "keyword-score");
    assert_eq!(run["conditions"][0]["result"], true);
    assert!(run["fuel"].as_u64().unwrap() > 0);
}
