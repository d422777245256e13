//! The README's plugin-author path, step by step: `ferrule plugin new`, `cargo test` in the new
//! crate (native and component tests), build the component, `ferrule plugin run` it.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

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
fn a_scaffolded_condition_builds_tests_and_runs() {
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
}
