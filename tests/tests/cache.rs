//! Compiled code survives a restart: a second runtime on the same cache folder loads without
//! compiling, and a damaged cache file is recompiled instead of failing.

use ferrule_host::builtin;
use ferrule_host::runtime::{CodeCache, CodeSource, Limits, PreparedContext, Runtime, Sandbox};
use ferrule_plugin_sdk::testing;

fn cached_runtime(dir: &std::path::Path) -> std::sync::Arc<Runtime> {
    Runtime::new(Some(CodeCache::new(dir).unwrap())).unwrap()
}

#[test]
fn a_restart_loads_compiled_code_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = builtin::component("subject-contains").unwrap();
    let first = cached_runtime(dir.path()).load(bytes).unwrap();
    assert_eq!(first.code_source(), CodeSource::Compiled);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(
        files.len(),
        1,
        "one compiled file, named by the component's hash"
    );

    let restarted = cached_runtime(dir.path()).load(bytes).unwrap();
    assert_eq!(restarted.code_source(), CodeSource::Cache);
    assert_eq!(restarted.sha256(), first.sha256());
    let run = restarted.evaluate(
        &PreparedContext::new(&testing::context()),
        &[r#"{"phrases": ["zamówienie"]}"#.to_owned()],
        &Sandbox::new(Limits::CONDITION),
    );
    assert!(
        run.result.unwrap()[0].as_ref().unwrap().matches,
        "cached code runs"
    );
}

#[test]
fn a_damaged_cache_file_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = builtin::component("source").unwrap();
    cached_runtime(dir.path()).load(bytes).unwrap();
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&file, b"garbage").unwrap();
    let plugin = cached_runtime(dir.path()).load(bytes).unwrap();
    assert_eq!(plugin.code_source(), CodeSource::Compiled);
    assert_eq!(plugin.description().name, "source");
}

#[test]
fn components_that_are_not_plugins_are_refused_with_a_reason() {
    let runtime = ferrule_host::testing::runtime();
    let e = runtime.load(b"not wasm at all").unwrap_err();
    assert!(
        e.to_string().contains("not a valid WebAssembly component"),
        "{e}"
    );
    // A core module (not a component).
    let e = runtime.load(b"\0asm\x01\0\0\0").unwrap_err();
    assert!(
        e.to_string().contains("not a valid WebAssembly component"),
        "{e}"
    );
}
