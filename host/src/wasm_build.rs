//! Building crates into `wasm32-wasip2` components with cargo. Shared by the build script (the
//! built-in plugins) and by `testing` (a plugin author's own crate, from a test).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The profile plugins are built with (defined in the workspace's `Cargo.toml`; a scaffolded
/// plugin defines its own).
pub const PLUGIN_PROFILE: &str = "plugin";

/// Build `packages` of the workspace at `workspace` into components under `target_dir`; returns
/// each package's `.wasm` path, in order.
pub fn build_components(
    workspace: &Path,
    target_dir: &Path,
    packages: &[String],
) -> Result<Vec<PathBuf>, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--target",
            "wasm32-wasip2",
            "--profile",
            PLUGIN_PROFILE,
        ])
        .arg("--target-dir")
        .arg(target_dir);
    for package in packages {
        cmd.args(["-p", package]);
    }
    // The outer cargo's settings (flags for the host target, its target dir) must not leak into
    // the wasm build; the workspace's .cargo/config.toml sets the wasm flags.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_LLVM_COV",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint =
            if stderr.contains("wasm32-wasip2") && stderr.contains("target may not be installed") {
                "\nhint: run `rustup target add wasm32-wasip2`"
            } else {
                ""
            };
        return Err(format!(
            "building plugin components failed:\n{stderr}{hint}"
        ));
    }
    Ok(packages
        .iter()
        .map(|p| {
            target_dir
                .join("wasm32-wasip2")
                .join(PLUGIN_PROFILE)
                .join(format!("{}.wasm", p.replace('-', "_")))
        })
        .collect())
}

/// The package name in a crate's `Cargo.toml` (the first `name = "…"` line).
pub fn package_name(crate_dir: &Path) -> Result<String, String> {
    let manifest = crate_dir.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    text.lines()
        .find_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("name")?
                .trim_start()
                .strip_prefix('=')?
                .trim();
            Some(rest.trim_matches('"').to_owned())
        })
        .ok_or_else(|| format!("{}: no package name", manifest.display()))
}
