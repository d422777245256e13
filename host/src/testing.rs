//! Run a plugin crate's component in the real sandbox from a Rust test.
//!
//! ```no_run
//! use ferrule_host::runtime::{PreparedContext, Sandbox, Limits};
//!
//! // Builds the crate for wasm32-wasip2 (once per test binary) and loads it like the server does.
//! let plugin = ferrule_host::testing::component(env!("CARGO_MANIFEST_DIR"));
//! let ctx = PreparedContext::new(&ferrule_types_context());
//! let run = plugin.evaluate(&ctx, &[r#"{"is": ["email"]}"#.to_owned()], &Sandbox::new(Limits::CONDITION));
//! assert!(run.result.unwrap()[0].as_ref().unwrap().matches);
//! # fn ferrule_types_context() -> ferrule_types::Context { unimplemented!() }
//! ```

use crate::runtime::{Plugin, Runtime};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

#[path = "wasm_build.rs"]
mod wasm_build;

/// A runtime shared by the tests of one test binary.
pub fn runtime() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| Runtime::new(None).expect("creating the wasmtime engine"))
        .clone()
}

/// The workspace root of a crate: the outermost ancestor whose `Cargo.toml` has `[workspace]`,
/// else the crate itself.
fn workspace_of(crate_dir: &Path) -> PathBuf {
    let mut root = crate_dir.to_path_buf();
    for dir in crate_dir.ancestors() {
        let manifest = dir.join("Cargo.toml");
        if std::fs::read_to_string(&manifest).is_ok_and(|t| t.contains("[workspace]")) {
            root = dir.to_path_buf();
        }
    }
    root
}

/// Build the crate at `crate_dir` into a component (in `<workspace>/target/wasm`, or
/// `$FERRULE_WASM_TARGET_DIR`) and return
/// its bytes. Panics with cargo's output when the build fails: this is for tests.
pub fn build(crate_dir: impl AsRef<Path>) -> Vec<u8> {
    static BUILT: OnceLock<Mutex<HashMap<PathBuf, Vec<u8>>>> = OnceLock::new();
    let crate_dir = crate_dir.as_ref().to_path_buf();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(bytes) = built.get(&crate_dir) {
        return bytes.clone();
    }
    let package = wasm_build::package_name(&crate_dir).unwrap_or_else(|e| panic!("{e}"));
    let workspace = workspace_of(&crate_dir);
    // FERRULE_WASM_TARGET_DIR lets several crates share one build of the SDK's dependencies.
    let target = std::env::var_os("FERRULE_WASM_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target").join("wasm"));
    let paths = wasm_build::build_components(&workspace, &target, std::slice::from_ref(&package))
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(&paths[0]).unwrap_or_else(|e| panic!("{}: {e}", paths[0].display()));
    built.insert(crate_dir, bytes.clone());
    bytes
}

/// Build the crate at `crate_dir` and load its component into the shared runtime.
pub fn component(crate_dir: impl AsRef<Path>) -> Plugin {
    let bytes = build(crate_dir);
    runtime()
        .load(&bytes)
        .unwrap_or_else(|e| panic!("loading the component: {e}"))
}
