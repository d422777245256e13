//! Uploading a plugin: signature, validation in the runtime, ownership of the name,
//! content-addressed storage, and the catalog.

use super::{Engine, EngineError};
use crate::catalog::{Catalog, Publisher, Release, signature};
use crate::runtime::{LoadError, MAX_COMPONENT_BYTES, Plugin};
use crate::store::{PluginRow, Saved, Vendor, now_ms};
use ferrule_types::PluginKind;
use std::sync::Arc;

/// Who uploads.
#[derive(Debug, Clone)]
pub enum Uploader {
    /// The operator token.
    Operator,
    /// A vendor's API key.
    Vendor(Vendor),
}

/// A stored upload.
#[derive(Debug, Clone)]
pub struct Uploaded {
    /// The release in the catalog.
    pub release: Release,
    /// Who owns the name.
    pub publisher: Publisher,
    /// False when the same bytes were uploaded before under this name@version.
    pub created: bool,
}

/// Why an upload is refused. Each maps to one 4xx.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// No bytes.
    #[error("the body is empty: send the component's bytes (Content-Type: application/wasm)")]
    Empty,
    /// Over the size limit.
    #[error("the component is {0} bytes; the limit is {MAX_COMPONENT_BYTES}")]
    TooLarge(usize),
    /// The signature header is malformed, does not verify, or is missing when required.
    #[error("{0}")]
    Signature(String),
    /// Not a usable plugin component.
    #[error("{0}")]
    Invalid(String),
    /// The name belongs to someone else.
    #[error("{0}")]
    NameTaken(String),
    /// The same name@version exists with other bytes.
    #[error("{0}")]
    VersionExists(String),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Engine {
    /// Validate and store an upload; `signature_header` is the `x-ferrule-signature` value.
    pub async fn upload(
        &self,
        bytes: Vec<u8>,
        uploader: Uploader,
        signature_header: Option<&str>,
    ) -> Result<Uploaded, UploadError> {
        if bytes.is_empty() {
            return Err(UploadError::Empty);
        }
        if bytes.len() > MAX_COMPONENT_BYTES {
            return Err(UploadError::TooLarge(bytes.len()));
        }
        let signed_by_key = self
            .verify_signature(&bytes, &uploader, signature_header)
            .await?;
        let runtime = self.runtime.clone();
        let (plugin, bytes) = tokio::task::spawn_blocking(move || {
            let loaded = runtime.load(&bytes);
            (loaded, bytes)
        })
        .await
        .map_err(|e| EngineError::Join(e.to_string()))?;
        let plugin = plugin.map_err(|e| UploadError::Invalid(explain(e)))?;
        let d = plugin.description().clone();
        let vendor_id = match &uploader {
            Uploader::Operator => None,
            Uploader::Vendor(v) => Some(v.id),
        };
        let publisher = match self.catalog().get(&d.name).map(|e| e.publisher) {
            Some(Publisher::Builtin) => {
                return Err(UploadError::NameTaken(format!(
                    "`{}` is the name of a built-in plugin; choose another name in describe()",
                    d.name
                )));
            }
            Some(Publisher::Vendor(owner)) if vendor_id.is_some_and(|v| v != owner) => {
                return Err(UploadError::NameTaken(format!(
                    "the plugin name `{}` belongs to another vendor; choose another name in describe()",
                    d.name
                )));
            }
            Some(Publisher::Operator) if vendor_id.is_some() => {
                return Err(UploadError::NameTaken(format!(
                    "the plugin name `{}` belongs to the operator; choose another name in describe()",
                    d.name
                )));
            }
            Some(owner) => owner,
            None => vendor_id.map_or(Publisher::Operator, Publisher::Vendor),
        };
        let row = PluginRow {
            name: d.name.clone(),
            version: d.version.clone(),
            sha256: plugin.sha256().to_owned(),
            kind: match d.kind {
                PluginKind::Condition => "condition".into(),
                PluginKind::Action => "action".into(),
            },
            description: serde_json::to_string(&d).unwrap_or_default(),
            vendor_id: match publisher {
                Publisher::Vendor(v) => Some(v),
                _ => None,
            },
            signed_by_key,
            uploaded_at: now_ms(),
        };
        let created = match self
            .store
            .save_plugin(&row, &bytes)
            .await
            .map_err(EngineError::from)?
        {
            Saved::Created => true,
            Saved::Unchanged => false,
            Saved::Conflict => {
                return Err(UploadError::VersionExists(format!(
                    "{}@{} exists with different bytes; versions are immutable, so publish the change as a new version",
                    d.name, d.version
                )));
            }
        };
        if !created {
            let existing = self
                .catalog()
                .get(&d.name)
                .and_then(|e| e.version(&d.version))
                .cloned();
            if let Some(release) = existing {
                return Ok(Uploaded {
                    release,
                    publisher,
                    created,
                });
            }
        }
        let release = Release {
            plugin: Arc::new(plugin),
            signed_by_key,
            uploaded_at: Some(row.uploaded_at),
        };
        let previous = self
            .catalog()
            .get(&d.name)
            .map(|e| e.latest().plugin.description().version.clone());
        if let Some(previous) = &previous {
            // Before the catalog shows the new version, tenants following the newest whose
            // rules it would break are pinned to what they run now.
            let newer =
                semver::Version::parse(&d.version).ok() > semver::Version::parse(previous).ok();
            if newer {
                self.follow_upload(&d.name, &release, previous).await?;
            }
        }
        self.add_to_catalog(publisher, release.clone());
        Ok(Uploaded {
            release,
            publisher,
            created,
        })
    }

    /// The key that verified the signature; an error when the header is malformed, verifies
    /// with none of the uploader's keys, or is missing while signatures are required.
    async fn verify_signature(
        &self,
        bytes: &[u8],
        uploader: &Uploader,
        header: Option<&str>,
    ) -> Result<Option<i64>, UploadError> {
        let Some(header) = header else {
            if self.require_signatures {
                return Err(UploadError::Signature(format!(
                    "this server accepts only signed plugins: send the Ed25519 signature of the bytes, base64-encoded, in the `{}` header (`ferrule plugin sign`)",
                    signature::HEADER
                )));
            }
            return Ok(None);
        };
        let sig = signature::parse_signature(header)
            .map_err(|e| UploadError::Signature(format!("`{}`: {e}", signature::HEADER)))?;
        let vendor = match uploader {
            Uploader::Operator => None,
            Uploader::Vendor(v) => Some(v.id),
        };
        let keys = self
            .store
            .vendor_keys(vendor)
            .await
            .map_err(EngineError::from)?;
        if keys.is_empty() {
            return Err(UploadError::Signature(
                "no signing key is registered: register the public key first (POST /api/v1/vendors/{id}/keys)".into(),
            ));
        }
        keys.iter()
            .find(|k| signature::verifies(&k.public_key, bytes, &sig))
            .map(|k| Some(k.id))
            .ok_or_else(|| {
                UploadError::Signature(format!(
                    "`{}` does not verify with any registered key{}: the bytes were changed after signing, or signed with another key",
                    signature::HEADER,
                    if vendor.is_some() { " of this vendor" } else { "" }
                ))
            })
    }

    fn add_to_catalog(&self, publisher: Publisher, release: Release) {
        let mut guard = self.catalog.write().unwrap_or_else(|e| e.into_inner());
        let mut next: Catalog = (**guard).clone();
        next.insert(publisher, release);
        *guard = Arc::new(next);
        drop(guard);
        // Tenants that follow the newest version now run it.
        self.tenants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Load every stored upload into the runtime and the catalog (at start). A stored plugin
    /// this host can no longer load is logged and left out; it never stops the server.
    pub async fn load_uploaded(&self) -> Result<usize, EngineError> {
        let rows = self.store.plugin_rows().await?;
        let mut loaded = 0;
        for row in rows {
            let Some(bytes) = self.store.plugin_bytes(&row.sha256).await? else {
                tracing::error!(plugin = %row.name, version = %row.version, "stored plugin has no bytes");
                continue;
            };
            let runtime = self.runtime.clone();
            let result: Result<Plugin, LoadError> =
                tokio::task::spawn_blocking(move || runtime.load(&bytes))
                    .await
                    .map_err(|e| EngineError::Join(e.to_string()))?;
            match result {
                Ok(plugin) => {
                    let publisher = row.vendor_id.map_or(Publisher::Operator, Publisher::Vendor);
                    self.add_to_catalog(
                        publisher,
                        Release {
                            plugin: Arc::new(plugin),
                            signed_by_key: row.signed_by_key,
                            uploaded_at: Some(row.uploaded_at),
                        },
                    );
                    loaded += 1;
                }
                Err(e) => {
                    tracing::error!(plugin = %row.name, version = %row.version, error = %e, "stored plugin does not load; left out")
                }
            }
        }
        Ok(loaded)
    }
}

/// A load failure in words an uploader can act on.
fn explain(e: LoadError) -> String {
    match e {
        LoadError::TooLarge(_) | LoadError::Invalid(_) | LoadError::NotAPlugin(_) => e.to_string(),
        LoadError::Link(m) => {
            format!("the component's imports do not match what this host offers its world: {m}")
        }
        LoadError::Describe(_) | LoadError::BadDescription(_) => e.to_string(),
    }
}
