//! Compiled components cached on disk, keyed by the component's SHA-256 and the engine's
//! compatibility hash, so a restart (or another replica on the same disk) does not recompile.

use sha2::{Digest, Sha256};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled code comes from on a `load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSource {
    /// Compiled now.
    Compiled,
    /// Read from the on-disk cache.
    Cache,
}

/// The on-disk cache of compiled components.
#[derive(Debug, Clone)]
pub struct CodeCache {
    dir: PathBuf,
}

/// Hex SHA-256 of component bytes: the plugin's content address.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl CodeCache {
    /// A cache in `dir` (created when missing).
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(CodeCache { dir })
    }

    /// The cache's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, engine: &Engine, sha256: &str) -> PathBuf {
        let mut h = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        self.dir.join(format!("{sha256}-{:016x}.cwasm", h.finish()))
    }

    /// Load the compiled form of `bytes`, compiling and storing it when it is not cached (or the
    /// cached file is unreadable).
    pub fn load(
        &self,
        engine: &Engine,
        sha256: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, CodeSource)> {
        let path = self.path(engine, sha256);
        if path.exists() {
            // SAFETY: files in the cache folder are written only by `store` below from
            // `Component::serialize` of the same engine configuration (the key includes the
            // engine's compatibility hash); wasmtime also checks the header before use.
            #[allow(unsafe_code)]
            let cached = unsafe { Component::deserialize_file(engine, &path) };
            match cached {
                Ok(component) => return Ok((component, CodeSource::Cache)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "recompiling an unreadable cached component")
                }
            }
        }
        let component = Component::new(engine, bytes)?;
        if let Err(e) = self.store(&path, &component) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the compiled-code cache");
        }
        Ok((component, CodeSource::Compiled))
    }

    fn store(&self, path: &Path, component: &Component) -> wasmtime::Result<()> {
        let bytes = component.serialize()?;
        // Write then rename, so a crash never leaves a half-written file under the real name.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}
