//! `docs/plugins.md`, step by step, as a vendor and a tenant admin follow it: `ferrule plugin
//! new`, `cargo test` in the new crate (native and component tests), build the component,
//! `ferrule plugin run` it, then against a real `ferrule serve` (the binary, on a fresh database,
//! requiring signatures): vendor account, `plugin keygen`, key registration, `plugin sign`,
//! upload, installation, rule, event, effect.

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `ferrule serve` child process, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close`; (status, JSON body).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).expect("the server accepts connections");
    let mut head = format!(
        "{method} /api/v1{path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("authorization: Bearer {t}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn json_call(addr: &str, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    http(
        addr,
        method,
        path,
        Some(token),
        &[("content-type", "application/json")],
        body.to_string().as_bytes(),
    )
}

fn serve(ferrule: &str, dir: &Path, cache: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(ferrule)
        .args([
            "serve",
            "--listen",
            &addr,
            "--tick",
            "1s",
            "--require-signatures",
        ])
        .arg("--database")
        .arg(format!("sqlite://{}", dir.join("ferrule.db").display()))
        .arg("--cache-dir")
        .arg(cache)
        .env("FERRULE_OPERATOR_TOKEN", "operator-secret")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ferrule serve starts");
    let server = Server { child, addr };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        if TcpStream::connect(&server.addr).is_ok()
            && http(&server.addr, "GET", "/healthz", None, &[], b"").0 == 200
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("ferrule serve did not answer /healthz within 2 minutes");
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_vendor_guide_scaffold_test_build_sign_upload_enable_rule_event_effect() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("order-words");
    let ferrule = env!("CARGO_BIN_EXE_ferrule");
    run(Command::new(ferrule)
        .args([
            "plugin",
            "new",
            "order-words",
            "--kind",
            "condition",
            "--path",
        ])
        .arg(&crate_dir));

    // Under nextest no cargo lock is held while tests run, so the new crate can share this
    // workspace's compiled dependencies; under `cargo test` it gets its own target folder.
    let target = if std::env::var_os("NEXTEST").is_some() {
        workspace.join("target")
    } else {
        workspace.join("target").join("scaffold")
    };
    let wasm_target = workspace.join("target").join("wasm");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let cargo_in_crate = || {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&crate_dir)
            .env("CARGO_TARGET_DIR", &target)
            .env("FERRULE_WASM_TARGET_DIR", &wasm_target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        cmd
    };
    let tests = run(cargo_in_crate().args(["test", "--", "--test-threads=1"]));
    assert!(
        tests.contains("matches_a_phrase_in_the_latest_message ... ok"),
        "native test ran:\n{tests}"
    );
    assert!(
        tests.contains("the_component_answers_like_the_native_code ... ok"),
        "component test ran:\n{tests}"
    );

    // Build the component the way the README says and run it with the CLI.
    run(cargo_in_crate()
        .args(["build", "--target", "wasm32-wasip2", "--profile", "plugin"])
        .env("CARGO_TARGET_DIR", &wasm_target));
    let wasm = wasm_target.join("wasm32-wasip2/plugin/order_words.wasm");
    let context = crate_dir.join("context.json");
    let out = run(Command::new(ferrule)
        .args(["plugin", "run"])
        .arg(&wasm)
        .args(["--config", r#"{"phrases": ["PACZKA"]}"#, "--context"])
        .arg(&context));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["plugin"], "order-words");
    assert_eq!(v["verdict"]["matches"], true, "{v}");

    // 4. Sign: the operator makes the vendor account; the vendor registers a key and signs.
    let server = serve(
        ferrule,
        dir.path(),
        &workspace.join("target/test-plugin-cache"),
    );
    let addr = server.addr.as_str();
    let (status, vendor) = json_call(
        addr,
        "POST",
        "/vendors",
        "operator-secret",
        json!({"name": "Order Words Inc."}),
    );
    assert_eq!(status, 201, "{vendor}");
    let vendor_key = vendor["api_key"].as_str().unwrap().to_owned();
    let vendor_id = vendor["vendor"]["id"].as_i64().unwrap();
    let key_file = dir.path().join("vendor.key");
    let made: Value = serde_json::from_str(&run(Command::new(ferrule)
        .args(["plugin", "keygen", "--out"])
        .arg(&key_file)))
    .unwrap();
    let (status, registered) = json_call(
        addr,
        "POST",
        &format!("/vendors/{vendor_id}/keys"),
        &vendor_key,
        json!({"public_key": made["public_key"]}),
    );
    assert_eq!(status, 201, "{registered}");
    assert_eq!(registered["fingerprint"], made["fingerprint"]);
    let signature = run(Command::new(ferrule)
        .args(["plugin", "sign"])
        .arg(&wasm)
        .arg("--key")
        .arg(&key_file));
    let signature = signature.trim();

    // 5. Upload: refused unsigned (this server requires signatures), accepted signed.
    let bytes = std::fs::read(&wasm).unwrap();
    let wasm_headers = [("content-type", "application/wasm")];
    let (status, refused) = http(
        addr,
        "POST",
        "/plugins",
        Some(&vendor_key),
        &wasm_headers,
        &bytes,
    );
    assert_eq!(status, 422, "{refused}");
    let (status, uploaded) = http(
        addr,
        "POST",
        "/plugins",
        Some(&vendor_key),
        &[
            ("content-type", "application/wasm"),
            ("x-ferrule-signature", signature),
        ],
        &bytes,
    );
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(uploaded["name"], "order-words");
    assert_eq!(uploaded["signed"], true);

    // 6. Enable: a tenant admin installs the plugin at its version.
    let (status, tenant) = json_call(
        addr,
        "POST",
        "/tenants",
        "operator-secret",
        json!({"name": "Sklep", "timezone": "Europe/Warsaw"}),
    );
    assert_eq!(status, 201, "{tenant}");
    let key = tenant["api_key"].as_str().unwrap().to_owned();
    let (status, installed) = json_call(
        addr,
        "PUT",
        "/installations/order-words",
        &key,
        json!({"enabled": true, "version": "0.1.0"}),
    );
    assert_eq!(status, 200, "{installed}");

    // 7. Rule, event, effect.
    let (status, rule) = json_call(
        addr,
        "POST",
        "/rules",
        &key,
        json!({"name": "Parcel questions",
        "trigger": {"events": ["customer_message"]},
        "conditions": {"plugin": "order-words", "config": {"phrases": ["paczka"]}},
        "actions": [{"plugin": "add-tags", "config": {"tags": ["parcel"]}}]}),
    );
    assert_eq!(status, 201, "{rule}");
    let (status, ticket) = json_call(
        addr,
        "POST",
        "/tickets",
        &key,
        json!({"subject": "Zamówienie 1042",
        "source": "email", "customer": {"name": "Jan"}, "message": {"body": "Gdzie jest moja PACZKA?"}}),
    );
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(ticket["tags"], json!(["parcel"]), "{ticket}");
    let (_, runs) = http(
        addr,
        "GET",
        &format!("/tickets/{}/runs", ticket["id"]),
        Some(&key),
        &[],
        b"",
    );
    let fired = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["outcome"] == "fired")
        .unwrap()
        .clone();
    assert_eq!(fired["conditions"][0]["plugin"], "order-words");
    assert_eq!(fired["conditions"][0]["result"], true);
}
