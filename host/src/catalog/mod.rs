//! The plugin catalog: every loaded plugin by name and version — the built-in pack and what
//! vendors uploaded — and the signature scheme of uploads.

pub mod signature;

use crate::runtime::Plugin;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Who published a plugin name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publisher {
    /// Shipped inside the `ferrule` binary.
    Builtin,
    /// Uploaded with the operator token.
    Operator,
    /// Uploaded by this vendor.
    Vendor(i64),
}

/// One version of a plugin.
#[derive(Debug, Clone)]
pub struct Release {
    /// The loaded component.
    pub plugin: Arc<Plugin>,
    /// The vendor key whose signature over the bytes was verified.
    pub signed_by_key: Option<i64>,
    /// When uploaded (ms); None for built-ins.
    pub uploaded_at: Option<i64>,
}

/// Every version of one plugin name.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Who owns the name.
    pub publisher: Publisher,
    /// Versions, oldest first.
    pub versions: BTreeMap<semver::Version, Release>,
}

impl Entry {
    /// The newest version.
    pub fn latest(&self) -> &Release {
        self.versions
            .values()
            .next_back()
            .expect("an entry has at least one version")
    }

    /// A version by its text.
    pub fn version(&self, version: &str) -> Option<&Release> {
        semver::Version::parse(version)
            .ok()
            .and_then(|v| self.versions.get(&v))
    }

    /// The versions as text, oldest first.
    pub fn version_names(&self) -> Vec<String> {
        self.versions.keys().map(|v| v.to_string()).collect()
    }
}

/// The catalog.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    entries: BTreeMap<String, Entry>,
}

impl Catalog {
    /// Add a release; its name and version come from `describe()`.
    pub fn insert(&mut self, publisher: Publisher, release: Release) {
        let d = release.plugin.description();
        let Ok(version) = semver::Version::parse(&d.version) else {
            // The runtime refuses such descriptions at load; nothing to index.
            return;
        };
        self.entries
            .entry(d.name.clone())
            .or_insert_with(|| Entry {
                publisher,
                versions: BTreeMap::new(),
            })
            .versions
            .insert(version, release);
    }

    /// The entry of a name.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }

    /// Every entry, by name.
    pub fn entries(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.entries.iter()
    }
}
