//! Compiles every crate in `plugins/` into a `wasm32-wasip2` component and embeds them in the
//! binary as the built-in plugins, so an ordinary `cargo build` needs no manual step.

#[path = "src/wasm_build.rs"]
#[allow(dead_code)]
mod wasm_build;

use std::path::{Path, PathBuf};

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("host/ is inside the workspace")
        .to_path_buf();
    for watched in [
        "plugins",
        "plugin-sdk",
        "wit",
        ".cargo/config.toml",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("plugins"))
        .expect("plugins/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    dirs.sort();
    let packages: Vec<String> = dirs
        .iter()
        .map(|d| wasm_build::package_name(d).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let wasm = wasm_build::build_components(&root, &root.join("target").join("wasm"), &packages)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut code = String::from(
        "/// Built-in plugin components: (crate folder under `plugins/`, component bytes).\n",
    );
    code.push_str("pub static COMPONENTS: &[(&str, &[u8])] = &[\n");
    for (dir, path) in dirs.iter().zip(&wasm) {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 folder name");
        code.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin.rs");
    std::fs::write(out, code).expect("writing builtin.rs");
}
