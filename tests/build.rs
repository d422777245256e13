//! Compiles the hostile test components in `components/` into `wasm32-wasip2` components.

#[path = "../host/src/wasm_build.rs"]
#[allow(dead_code)]
mod wasm_build;

use std::path::{Path, PathBuf};

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf();
    for watched in [
        "tests/components",
        "plugin-sdk",
        "wit",
        ".cargo/config.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let names = [
        "hostile-condition",
        "hostile-action",
        "legacy-condition",
        "crm-lookup-v1",
        "crm-lookup-v2",
    ];
    let packages: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let wasm = wasm_build::build_components(&root, &root.join("target").join("wasm"), &packages)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut code = String::new();
    for (name, path) in names.iter().zip(&wasm) {
        let constant = name.to_uppercase().replace('-', "_");
        code.push_str(&format!(
            "pub const {constant}: &[u8] = include_bytes!({:?});\n",
            path.display().to_string()
        ));
    }
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("components.rs");
    std::fs::write(out, code).expect("writing components.rs");
}
