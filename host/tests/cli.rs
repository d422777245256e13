//! The `ferrule plugin` commands, run as the real binary on the built-in components.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ferrule(args: &[&str]) -> Output {
    // The compiled-code cache of these runs stays out of the user's home.
    let cache = std::env::temp_dir().join("ferrule-cli-tests-cache");
    Command::new(env!("CARGO_BIN_EXE_ferrule"))
        .args(args)
        .env("FERRULE_CACHE_DIR", cache)
        .output()
        .expect("running ferrule")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Write a built-in component to a temporary file, as a vendor would have it.
fn component_file(dir: &Path, folder: &str) -> PathBuf {
    let path = dir.join(format!("{folder}.wasm"));
    std::fs::write(&path, ferrule_host::builtin::component(folder).unwrap()).unwrap();
    path
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn inspect_prints_the_description_schema_and_imports() {
    let dir = tempfile::tempdir().unwrap();
    let file = component_file(dir.path(), "subject-contains");
    let out = ferrule(&["plugin", "inspect", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["name"], "subject-contains");
    assert_eq!(v["kind"], "condition");
    assert_eq!(v["config_schema"]["required"][0], "phrases");
    assert!(
        v["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().starts_with("ferrule:plugin/types"))
    );
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn run_evaluates_a_condition_and_reports_usage() {
    let dir = tempfile::tempdir().unwrap();
    let file = component_file(dir.path(), "subject-contains");
    let out = ferrule(&[
        "plugin",
        "run",
        file.to_str().unwrap(),
        "--config",
        r#"{"phrases": ["zwrot"]}"#,
        "--context",
        &fixture("context.json"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["verdict"]["matches"], true);
    assert!(v["stats"]["fuel_used"].as_u64().unwrap() > 0);
    assert!(v["stats"]["peak_memory_bytes"].as_u64().unwrap() > 0);
    assert!(v["stats"]["duration_us"].as_u64().is_some());
}

#[test]
fn run_executes_an_action_and_prints_its_effects() {
    let dir = tempfile::tempdir().unwrap();
    let file = component_file(dir.path(), "send-message");
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"body": "Dzień dobry {{customer.name}}, zgłoszenie #{{ticket.number}}."}"#,
    )
    .unwrap();
    let out = ferrule(&[
        "plugin",
        "run",
        file.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--context",
        &fixture("context.json"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["effects"][0]["type"], "reply");
    assert_eq!(
        v["effects"][0]["body"],
        "Dzień dobry Jan Kowalski, zgłoszenie #1042."
    );
}

#[test]
fn run_rejects_an_invalid_config_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let file = component_file(dir.path(), "subject-contains");
    let out = ferrule(&[
        "plugin",
        "run",
        file.to_str().unwrap(),
        "--config",
        r#"{"phrases": "zwrot"}"#,
        "--context",
        &fixture("context.json"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["stage"], "validate");
    assert_eq!(v["error"]["kind"], "invalid_config");
    assert_eq!(v["error"]["path"], "phrases");
}

#[test]
fn run_names_the_wrong_part_of_a_bad_context() {
    let dir = tempfile::tempdir().unwrap();
    let file = component_file(dir.path(), "source");
    let out = ferrule(&[
        "plugin",
        "run",
        file.to_str().unwrap(),
        "--config",
        r#"{"is": ["email"]}"#,
        "--context",
        r#"{"now": "yesterday"}"#,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--context") && stderr.contains("now"),
        "{stderr}"
    );
}

#[test]
fn inspect_rejects_a_file_that_is_not_a_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm not really").unwrap();
    let out = ferrule(&["plugin", "inspect", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid WebAssembly component"));
}

#[test]
fn new_refuses_bad_names_and_existing_folders() {
    let dir = tempfile::tempdir().unwrap();
    let out = ferrule(&[
        "plugin",
        "new",
        "Bad_Name",
        "--kind",
        "condition",
        "--path",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(dir.path().join("keep.txt"), "x").unwrap();
    let out = ferrule(&[
        "plugin",
        "new",
        "fine",
        "--kind",
        "action",
        "--path",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
}

#[test]
fn inspect_and_run_keep_compiled_code_in_the_cache_folder() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let file = component_file(dir.path(), "status");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_ferrule"))
            .args(["plugin", "inspect", file.to_str().unwrap()])
            .env("FERRULE_CACHE_DIR", &cache)
            .output()
            .expect("running ferrule")
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let cached: Vec<_> = std::fs::read_dir(&cache)
        .expect("the cache folder was made")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(cached.len(), 1, "one compiled component: {cached:?}");
    let second = run();
    assert!(second.status.success());
    assert_eq!(
        json(&first),
        json(&second),
        "the cached code describes the same plugin"
    );
}
