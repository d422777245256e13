//! Which plugins a tenant runs, at which version, with which defaults, grants and secrets.
//!
//! Built-in plugins are installed for every tenant at the binary's version unless the tenant's
//! installation says otherwise; a vendor plugin runs only for tenants whose installation
//! enables it. A disabled installation pauses the rules that use it.

use super::{Engine, EngineError, LoadedRule};
use crate::catalog::{Publisher, Release};
use crate::domain::rule::{FieldError, Leaf, RuleSpec};
use crate::runtime::{Grants, Limits, Plugin, Sandbox, Secrets};
use crate::store::{InstallationRow, SecretChanges, Tenant};
use ferrule_types::{PluginError, PluginKind};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One plugin as a tenant runs it.
#[derive(Debug)]
pub struct Installed {
    /// The version in use.
    pub release: Release,
    /// Whether rules may use it (false: they are paused).
    pub enabled: bool,
    /// The pinned version, if any.
    pub pinned: Option<String>,
    /// Config defaults; a rule's own keys win.
    pub defaults: Map<String, Value>,
    /// Capability grants.
    pub grants: Arc<Grants>,
    /// Opened secrets.
    pub secrets: Arc<Secrets>,
    /// Whether the tenant has an installation row (false: a built-in at its defaults).
    pub explicit: bool,
    /// Who publishes it.
    pub publisher: Publisher,
}

impl Installed {
    /// The plugin.
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.release.plugin
    }

    /// Why rules using it do not run, if they do not.
    pub fn paused(&self) -> Option<String> {
        (!self.enabled).then(|| {
            format!(
                "plugin `{}` is disabled for this tenant; the rule is paused until an admin enables it",
                self.release.plugin.description().name
            )
        })
    }

    /// A leaf's config with the installation's defaults under it, as JSON text.
    pub fn config_text(&self, config: &Value) -> String {
        merged(&self.defaults, config).to_string()
    }

    /// The sandbox of an action call: its grants and secrets.
    pub fn action_sandbox(&self, base: &Sandbox) -> Sandbox {
        Sandbox {
            limits: Limits::ACTION,
            grants: self.grants.clone(),
            secrets: self.secrets.clone(),
            directory: base.directory.clone(),
        }
    }
}

/// The config fields a plugin's schema marks `writeOnly` (secrets such as API keys): they are
/// sealed apart on save and handed to the plugin as secrets, never kept in a config.
pub fn write_only_keys(schema: &Value) -> Vec<String> {
    schema["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .filter(|(_, p)| p["writeOnly"] == Value::Bool(true))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// `defaults` with `config`'s keys over them (when both are objects).
pub fn merged(defaults: &Map<String, Value>, config: &Value) -> Value {
    match config {
        Value::Object(own) if !defaults.is_empty() => {
            let mut out = defaults.clone();
            out.extend(own.clone());
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Every plugin a tenant has, by name.
#[derive(Debug, Default)]
pub struct Installations {
    /// The tenant.
    pub tenant: i64,
    by_name: HashMap<String, Arc<Installed>>,
}

impl Installations {
    /// The installation of a plugin, if the tenant has one (built-ins always).
    pub fn get(&self, name: &str) -> Option<&Arc<Installed>> {
        self.by_name.get(name)
    }

    /// Every installation, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Arc<Installed>)> {
        self.by_name.iter()
    }
}

/// A change to an installation, as `PUT /installations/{plugin}` sends it; None keeps the
/// current value (or the default of a new installation).
#[derive(Debug, Default)]
pub struct InstallationChange {
    /// Enabled.
    pub enabled: Option<bool>,
    /// Some(None) follows the newest version; Some(Some(v)) pins v.
    pub version: Option<Option<String>>,
    /// Config defaults.
    pub config: Option<Map<String, Value>>,
    /// Grants.
    pub grants: Option<Grants>,
    /// Secrets to set or (None) remove.
    pub secrets: SecretChanges,
}

/// Why an installation change is refused.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// No plugin of that name.
    #[error("no plugin named `{0}`")]
    UnknownPlugin(String),
    /// A 422 at a field.
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    /// Rules use it (removal).
    #[error("{0}")]
    InUse(String),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn invalid(field: &str, message: impl Into<String>) -> InstallError {
    InstallError::Invalid(FieldError::new(field, message))
}

impl Engine {
    /// Resolve a tenant's installations against the catalog.
    pub(crate) async fn installations(&self, tenant: i64) -> Result<Installations, EngineError> {
        let rows = self.store.installations(tenant).await?;
        let mut secrets = self.store.secrets(tenant).await?;
        let rows: HashMap<&str, &InstallationRow> =
            rows.iter().map(|r| (r.plugin.as_str(), r)).collect();
        let catalog = self.catalog();
        let mut by_name = HashMap::new();
        for (name, entry) in catalog.entries() {
            let row = rows.get(name.as_str());
            if row.is_none() && entry.publisher != Publisher::Builtin {
                continue;
            }
            let pinned = row.and_then(|r| r.version.clone());
            let release = match &pinned {
                Some(v) => match entry.version(v) {
                    Some(r) => r.clone(),
                    // Versions are never deleted; a row pins only versions that existed.
                    None => continue,
                },
                None => entry.latest().clone(),
            };
            let defaults = row
                .and_then(|r| serde_json::from_str::<Map<String, Value>>(&r.config).ok())
                .unwrap_or_default();
            let grants = row
                .and_then(|r| serde_json::from_str::<Grants>(&r.grants).ok())
                .unwrap_or_default();
            by_name.insert(
                name.clone(),
                Arc::new(Installed {
                    release,
                    enabled: row.is_none_or(|r| r.enabled),
                    pinned,
                    defaults,
                    grants: Arc::new(grants),
                    secrets: Arc::new(secrets.remove(name.as_str()).unwrap_or_default()),
                    explicit: row.is_some(),
                    publisher: entry.publisher,
                }),
            );
        }
        Ok(Installations { tenant, by_name })
    }

    /// Check a rule before it is saved: each leaf names a condition plugin and each action an
    /// action plugin that the tenant has installed, and each accepts its config (with the
    /// installation's defaults). Errors name the rule part and plugin.
    pub async fn validate_rule(&self, tenant: &Tenant, spec: &RuleSpec) -> Result<(), FieldError> {
        let installations = self
            .tenant_cache(tenant)
            .await
            .map_err(|e| FieldError::new("", format!("cannot check the rule now: {e}")))?
            .installations
            .clone();
        for (path, leaf, kind) in uses(spec) {
            let Some(installed) = installations.get(&leaf.plugin) else {
                return Err(self.unknown_plugin(&installations, &path, &leaf.plugin));
            };
            check_leaf(installed.plugin(), &installed.defaults, &path, &leaf, kind).await?;
        }
        Ok(())
    }

    fn unknown_plugin(&self, installations: &Installations, path: &str, name: &str) -> FieldError {
        if self.catalog().get(name).is_some() {
            return FieldError::new(
                format!("{path}.plugin"),
                format!(
                    "plugin `{name}` is not installed for this tenant; an admin enables it with PUT /api/v1/installations/{name}"
                ),
            );
        }
        let mut names: Vec<&String> = installations.iter().map(|(n, _)| n).collect();
        names.sort();
        FieldError::new(
            format!("{path}.plugin"),
            format!(
                "unknown plugin `{name}`; available: {}",
                names
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    }

    /// Create or change a tenant's installation of a plugin. A new version or new defaults are
    /// applied only when every rule of the tenant that uses the plugin still validates.
    pub async fn put_installation(
        &self,
        tenant: &Tenant,
        name: &str,
        mut change: InstallationChange,
    ) -> Result<(), InstallError> {
        let entry = self
            .catalog()
            .get(name)
            .cloned()
            .ok_or_else(|| InstallError::UnknownPlugin(name.to_owned()))?;
        let current = self
            .store
            .installations(tenant.id)
            .await
            .map_err(EngineError::from)?
            .into_iter()
            .find(|r| r.plugin == name);
        let version = match (change.version, &current) {
            (Some(v), _) => v,
            (None, Some(row)) => row.version.clone(),
            // A new installation of a vendor plugin is pinned to today's newest version, so a
            // later upload changes nothing until the admin upgrades (which revalidates).
            (None, None) if entry.publisher != Publisher::Builtin => {
                Some(entry.latest().plugin.description().version.clone())
            }
            (None, None) => None,
        };
        let release = match &version {
            Some(v) => entry.version(v).cloned().ok_or_else(|| {
                invalid(
                    "version",
                    format!(
                        "plugin `{name}` has no version `{v}`; it has {}",
                        entry.version_names().join(", ")
                    ),
                )
            })?,
            None => entry.latest().clone(),
        };
        // Secrets typed into the defaults go where secrets belong.
        if let Some(config) = change.config.as_mut() {
            for key in write_only_keys(&release.plugin.description().config_schema) {
                if let Some(Value::String(value)) = config.remove(&key) {
                    change
                        .secrets
                        .insert(key, Some(value).filter(|v| !v.is_empty()));
                }
            }
        }
        let defaults = match change.config {
            Some(c) => c,
            None => current
                .as_ref()
                .and_then(|r| serde_json::from_str(&r.config).ok())
                .unwrap_or_default(),
        };
        let grants = match change.grants {
            Some(g) => g,
            None => current
                .as_ref()
                .and_then(|r| serde_json::from_str(&r.grants).ok())
                .unwrap_or_default(),
        };
        grants
            .validate()
            .map_err(|e| invalid(&format!("grants.http[{}]", e.index), e.message))?;
        for secret in change.secrets.keys() {
            let ok = !secret.is_empty()
                && secret.len() <= 64
                && secret
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok {
                return Err(invalid(
                    &format!("secrets.{secret}"),
                    "a secret name is 1–64 characters of a-z, A-Z, 0-9, _ and -",
                ));
            }
        }
        check_defaults(&release.plugin, &defaults).await?;
        self.check_rules_still_valid(tenant, name, &release, &defaults)
            .await?;
        let row = InstallationRow {
            plugin: name.to_owned(),
            enabled: change
                .enabled
                .unwrap_or_else(|| current.as_ref().is_none_or(|r| r.enabled)),
            version,
            config: Value::Object(defaults).to_string(),
            grants: serde_json::to_string(&grants).unwrap_or_else(|_| "{}".into()),
            created_at: 0,
            updated_at: 0,
        };
        self.store
            .put_installation(tenant.id, &row, &change.secrets)
            .await
            .map_err(EngineError::from)?;
        self.rules_changed(tenant.id, true).await?;
        Ok(())
    }

    /// A new version of `name` was uploaded: tenants that follow the newest version move to it
    /// only when all their rules still validate; the others are pinned to `previous` (what they
    /// ran until now) and a warning is logged.
    pub(crate) async fn follow_upload(
        &self,
        name: &str,
        release: &Release,
        previous: &str,
    ) -> Result<(), EngineError> {
        for tenant_id in self.store.tenants_with_installation(name).await? {
            let Some(row) = self
                .store
                .installations(tenant_id)
                .await?
                .into_iter()
                .find(|r| r.plugin == name && r.version.is_none())
            else {
                continue;
            };
            let Some(tenant) = self.store.tenant(tenant_id).await? else {
                continue;
            };
            let defaults: Map<String, Value> =
                serde_json::from_str(&row.config).unwrap_or_default();
            if let Err(e) = self
                .check_rules_still_valid(&tenant, name, release, &defaults)
                .await
            {
                tracing::warn!(tenant = tenant_id, plugin = name, pinned = previous, error = %e,
                    "the new version would break this tenant's rules; the installation stays at the version it ran");
                let pinned = InstallationRow {
                    version: Some(previous.to_owned()),
                    ..row
                };
                self.store
                    .put_installation(tenant_id, &pinned, &SecretChanges::new())
                    .await?;
            }
        }
        Ok(())
    }

    /// Every rule of the tenant that uses `name` validates against `release` with `defaults`;
    /// otherwise a 422 naming each rule that would break.
    async fn check_rules_still_valid(
        &self,
        tenant: &Tenant,
        name: &str,
        release: &Release,
        defaults: &Map<String, Value>,
    ) -> Result<(), InstallError> {
        let rows = self
            .store
            .rules(tenant.id)
            .await
            .map_err(EngineError::from)?;
        let mut broken = Vec::new();
        // A rule broken by a default is the defaults' fault: the error names `config.<key>`.
        let mut by_default: Option<String> = None;
        for row in &rows {
            let Some(rule) = LoadedRule::from_row(row) else {
                continue;
            };
            for (path, leaf, kind) in uses(&rule.spec).filter(|(_, l, _)| l.plugin == name) {
                if let Err(e) = check_leaf(&release.plugin, defaults, &path, &leaf, kind).await {
                    let inner = e
                        .field
                        .strip_prefix(&format!("{path}.config."))
                        .unwrap_or("");
                    let top = inner.split(['.', '[']).next().unwrap_or("");
                    let own = leaf.config.get(top).is_some();
                    let from_default = !top.is_empty() && defaults.contains_key(top) && !own;
                    if from_default {
                        by_default.get_or_insert_with(|| top.to_owned());
                    }
                    broken.push(format!(
                        "rule {} \"{}\" at {}: {}{}",
                        row.id,
                        row.name,
                        e.field,
                        e.message,
                        if from_default {
                            format!(" (the value comes from the installation's default `{top}`)")
                        } else {
                            String::new()
                        }
                    ));
                }
            }
        }
        if broken.is_empty() {
            return Ok(());
        }
        let field = by_default.map_or_else(|| "version".to_owned(), |k| format!("config.{k}"));
        Err(invalid(
            &field,
            format!(
                "refused: with {name}@{} and these defaults, {} rule part(s) would no longer be valid — {}",
                release.plugin.description().version,
                broken.len(),
                broken.join("; ")
            ),
        ))
    }

    /// Remove an installation; refused while rules use the plugin.
    pub async fn remove_installation(
        &self,
        tenant: &Tenant,
        name: &str,
    ) -> Result<bool, InstallError> {
        let rows = self
            .store
            .rules(tenant.id)
            .await
            .map_err(EngineError::from)?;
        let users: Vec<String> = rows
            .iter()
            .filter_map(|row| {
                let rule = LoadedRule::from_row(row)?;
                uses(&rule.spec)
                    .any(|(_, l, _)| l.plugin == name)
                    .then(|| format!("{} \"{}\"", row.id, row.name))
            })
            .collect();
        if !users.is_empty() {
            return Err(InstallError::InUse(format!(
                "rules use plugin `{name}`: {}; change or delete them first, or disable the installation instead",
                users.join(", ")
            )));
        }
        let removed = self
            .store
            .delete_installation(tenant.id, name)
            .await
            .map_err(EngineError::from)?;
        self.rules_changed(tenant.id, true).await?;
        Ok(removed)
    }

    /// The tenant's installations, resolved (for the API).
    pub async fn tenant_installations(
        &self,
        tenant: &Tenant,
    ) -> Result<Arc<Installations>, EngineError> {
        Ok(self.tenant_cache(tenant).await?.installations.clone())
    }

    /// Names of the secrets of each installation (values are never returned).
    pub async fn secret_names(
        &self,
        tenant: &Tenant,
    ) -> Result<BTreeMap<String, Vec<String>>, EngineError> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (plugin, name) in self.store.secret_names(tenant.id).await? {
            out.entry(plugin).or_default().push(name);
        }
        Ok(out)
    }
}

/// Every plugin use of a rule: (path, leaf, kind it must be).
fn uses(spec: &RuleSpec) -> impl Iterator<Item = (String, Leaf, PluginKind)> {
    let mut leaves = Vec::new();
    spec.conditions.leaves("conditions", &mut leaves);
    let conditions = leaves
        .into_iter()
        .map(|(p, l)| (p, l, PluginKind::Condition));
    let actions = spec
        .actions
        .clone()
        .into_iter()
        .enumerate()
        .map(|(i, a)| (format!("actions[{i}]"), a, PluginKind::Action));
    conditions.chain(actions).collect::<Vec<_>>().into_iter()
}

/// One plugin use: the right kind, and the plugin's `validate` accepts the merged config.
/// The defaults, validated by the plugin itself: a value it refuses is a 422 at
/// `config.<key>`. Defaults may be partial, so a field they leave out (and a rule gives) is no
/// error here.
async fn check_defaults(
    plugin: &Arc<Plugin>,
    defaults: &Map<String, Value>,
) -> Result<(), InstallError> {
    if defaults.is_empty() {
        return Ok(());
    }
    let whole = Value::Object(defaults.clone());
    if let Some((inner, message)) =
        crate::domain::schema_bounds::check(&plugin.description().config_schema, &whole)
    {
        return Err(invalid(
            &format!("config.{inner}"),
            format!("{message} (the plugin's schema says so)"),
        ));
    }
    let config = whole.to_string();
    let (plugin, kind) = (plugin.clone(), plugin.kind());
    let run = tokio::task::spawn_blocking(move || {
        plugin.validate(&config, &Sandbox::new(Limits::for_kind(kind)))
    })
    .await
    .map_err(|e| invalid("config", format!("validation did not finish: {e}")))?;
    let Ok(Err(PluginError::InvalidConfig { path, message })) = run.result else {
        return Ok(());
    };
    let mut top = path.split(['.', '[']).next().unwrap_or("").to_owned();
    if top.is_empty()
        && let Some(rest) = message.split("unknown field `").nth(1)
    {
        top = rest.split('`').next().unwrap_or("").to_owned();
    }
    if !top.is_empty() && defaults.contains_key(&top) {
        let field = if path.is_empty() {
            format!("config.{top}")
        } else {
            format!("config.{path}")
        };
        return Err(invalid(&field, message));
    }
    Ok(())
}

async fn check_leaf(
    plugin: &Arc<Plugin>,
    defaults: &Map<String, Value>,
    path: &str,
    leaf: &Leaf,
    kind: PluginKind,
) -> Result<(), FieldError> {
    if plugin.kind() != kind {
        let want = if kind == PluginKind::Condition {
            "a condition"
        } else {
            "an action"
        };
        return Err(FieldError::new(
            format!("{path}.plugin"),
            format!("`{}` is not {want} plugin", leaf.plugin),
        ));
    }
    let full = merged(defaults, &leaf.config);
    if let Some((inner, message)) =
        crate::domain::schema_bounds::check(&plugin.description().config_schema, &full)
    {
        let field = if inner.is_empty() {
            format!("{path}.config")
        } else {
            format!("{path}.config.{inner}")
        };
        return Err(FieldError::new(
            field,
            format!("plugin `{}`: {message} (its schema says so)", leaf.plugin),
        ));
    }
    let config = full.to_string();
    let plugin = plugin.clone();
    let run = tokio::task::spawn_blocking(move || {
        plugin.validate(&config, &Sandbox::new(Limits::for_kind(kind)))
    })
    .await
    .map_err(|e| FieldError::new(path, format!("validation did not finish: {e}")))?;
    match run.result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(PluginError::InvalidConfig {
            path: inner,
            message,
        })) => {
            let field = if inner.is_empty() {
                format!("{path}.config")
            } else {
                format!("{path}.config.{inner}")
            };
            Err(FieldError::new(
                field,
                format!("plugin `{}`: {message}", leaf.plugin),
            ))
        }
        Ok(Err(other)) => Err(FieldError::new(
            format!("{path}.config"),
            format!("plugin `{}`: {other}", leaf.plugin),
        )),
        Err(e) => Err(FieldError::new(
            format!("{path}.config"),
            format!("plugin `{}` failed validating: {e}", leaf.plugin),
        )),
    }
}
