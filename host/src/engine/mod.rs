//! The rule engine: events in, rules evaluated through plugins, effects applied and recorded.

mod chain;
mod context;
mod effects;
mod evaluate;
mod history;
pub mod installations;
mod intake;
mod lanes;
pub mod metrics;
#[cfg(feature = "native-plugins")]
mod native;
mod reads;
mod record;
pub mod scheduler;
mod tree;
mod upload;

pub use installations::{
    InstallError, InstallationChange, Installations, Installed, write_only_keys,
};
pub use intake::{Change, Changed, Created};
pub use metrics::Metrics;
pub use record::{Answer, ConditionRecord, RunRecord};
pub use upload::{UploadError, Uploaded, Uploader};

use crate::catalog::{Catalog, Publisher, Release};
use crate::domain::rule::{Leaf, RuleSpec, Trigger};
use crate::runtime::{Plugin, Runtime, StaticDirectory};
use crate::store::{RuleRow, Store, StoreError, Tenant};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// One tenant's share of plugin work: every core but one (at least one), so another tenant
/// always finds a core free.
pub fn default_tenant_concurrency() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(1)
}

/// Longest chain of events one change may cause.
pub const MAX_CHAIN_DEPTH: usize = 10;

/// An engine failure (the store failed; plugin failures are run outcomes, not errors).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A blocking task failed.
    #[error("worker: {0}")]
    Join(String),
    /// The ticket kept changing under the engine; its work stays queued.
    #[error("ticket {0} was changed concurrently too often; its work stays queued")]
    Busy(i64),
    /// The engine is shutting down.
    #[error("the engine has stopped")]
    Stopped,
    /// New ticket ids kept being taken by another writer of the database.
    #[error("new ticket ids kept being taken by another writer of the database; try again")]
    IdsTaken,
    /// A ticket or message with this channel id exists already (idempotent intake).
    #[error("already imported as ticket {ticket_id}")]
    Duplicate {
        /// The existing ticket.
        ticket_id: i64,
        /// The existing message, for a message.
        message_id: Option<i64>,
    },
}

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct LoadedRule {
    /// Id.
    pub id: i64,
    /// Revision.
    pub revision: i64,
    /// Definition.
    pub spec: RuleSpec,
    /// The rule's name, shared by its run records.
    pub name: Arc<str>,
    leaves: Vec<(String, Leaf)>,
    /// Each leaf's path and plugin name, shared by the run records.
    leaf_names: Vec<(Arc<str>, Arc<str>)>,
    /// Each leaf's config as JSON text, serialised once (with the installation's defaults once
    /// resolved for a tenant).
    configs: Vec<String>,
    /// Each action's config as JSON text, likewise.
    action_configs: Vec<String>,
    /// Why the rule does not run for its tenant now (a plugin it uses is disabled or missing).
    paused: Option<String>,
    /// The rule's own secrets by action (write-only config fields), from the store.
    own_secrets: std::collections::BTreeMap<usize, crate::store::ActionSecrets>,
    /// Each action's secrets once resolved: the installation's with the rule's own over them
    /// (None: the installation's alone).
    action_secrets: Vec<Option<Arc<crate::runtime::Secrets>>>,
}

impl LoadedRule {
    /// Parse a stored rule.
    pub fn from_row(row: &RuleRow) -> Option<LoadedRule> {
        let json = json!({
            "name": row.name, "description": row.description, "enabled": row.enabled,
            "trigger": serde_json::from_str::<Value>(&row.trigger).ok()?,
            "conditions": serde_json::from_str::<Value>(&row.conditions).ok()?,
            "actions": serde_json::from_str::<Value>(&row.actions).ok()?,
            "position": row.position,
        });
        let spec = RuleSpec::parse(&json).ok()?;
        let mut leaves = Vec::new();
        spec.conditions.leaves("conditions", &mut leaves);
        let configs = leaves.iter().map(|(_, l)| l.config.to_string()).collect();
        let action_configs = spec.actions.iter().map(|a| a.config.to_string()).collect();
        let leaf_names = leaves
            .iter()
            .map(|(path, l)| (Arc::from(path.as_str()), Arc::from(l.plugin.as_str())))
            .collect();
        Some(LoadedRule {
            id: row.id,
            revision: row.revision,
            name: Arc::from(spec.name.as_str()),
            spec,
            leaves,
            leaf_names,
            configs,
            action_configs,
            paused: None,
            own_secrets: Default::default(),
            action_secrets: Vec::new(),
        })
    }

    /// With the rule's own action secrets (see [`crate::store::Store::rule_secrets`]).
    pub fn with_secrets(
        mut self,
        secrets: std::collections::BTreeMap<usize, crate::store::ActionSecrets>,
    ) -> LoadedRule {
        self.own_secrets = secrets;
        self
    }

    /// Action `i`'s secrets over `installed`'s, when the rule has its own.
    pub(crate) fn action_secrets(&self, i: usize) -> Option<&Arc<crate::runtime::Secrets>> {
        self.action_secrets.get(i).and_then(Option::as_ref)
    }

    /// Bind the rule to the tenant's installations: configs get the installation defaults,
    /// and a rule using a disabled or uninstalled plugin is paused.
    pub fn resolve(mut self, installations: &Installations) -> LoadedRule {
        let mut paused = None;
        let uses = self
            .leaves
            .iter()
            .map(|(_, l)| l)
            .chain(self.spec.actions.iter());
        for leaf in uses {
            match installations.get(&leaf.plugin) {
                None => {
                    paused.get_or_insert_with(|| {
                        format!(
                            "plugin `{}` is not installed for this tenant; the rule is paused",
                            leaf.plugin
                        )
                    });
                }
                Some(i) => {
                    if let Some(why) = i.paused() {
                        paused.get_or_insert(why);
                    }
                }
            }
        }
        let config = |leaf: &Leaf| match installations.get(&leaf.plugin) {
            Some(i) => i.config_text(&leaf.config),
            None => leaf.config.to_string(),
        };
        self.configs = self.leaves.iter().map(|(_, l)| config(l)).collect();
        self.action_configs = self.spec.actions.iter().map(config).collect();
        self.action_secrets = self
            .spec
            .actions
            .iter()
            .enumerate()
            .map(|(i, action)| {
                let own = self.own_secrets.get(&i).filter(|o| !o.is_empty())?;
                let mut merged = installations
                    .get(&action.plugin)
                    .map(|inst| (*inst.secrets).clone())
                    .unwrap_or_default();
                merged.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
                Some(Arc::new(merged))
            })
            .collect();
        self.paused = paused;
        self
    }

    /// Pause the rule when an agent or inbox its configs name left the tenant's directory.
    pub(crate) fn check_directory(mut self, data: &TenantData) -> LoadedRule {
        if self.paused.is_some() {
            return self;
        }
        for n in self.spec.directory_names() {
            let known = match (n.kind, n.id()) {
                ("agent", Some(id)) => data.agent_ids.contains(&id),
                (_, Some(id)) => data.inboxes.iter().any(|i| i.id == id),
                _ => false,
            };
            if !known {
                self.paused = Some(format!(
                    "{} {} named at `{}` is no longer in the tenant's directory; the rule is paused until it is edited",
                    n.kind, n.value, n.field
                ));
                break;
            }
        }
        self
    }

    /// Why the rule does not run now, if it does not.
    pub fn paused(&self) -> Option<&str> {
        self.paused.as_deref()
    }

    /// Whether a time trigger runs the rule.
    pub fn is_time_rule(&self) -> bool {
        matches!(self.spec.trigger, Trigger::Time(_))
    }
}

/// The engine.
pub struct Engine {
    store: Store,
    runtime: Arc<Runtime>,
    /// Every plugin by name and version.
    catalog: RwLock<Arc<Catalog>>,
    /// Whether uploads must carry a valid vendor signature.
    pub require_signatures: bool,
    /// Plugin work (sandboxed calls) one tenant may run at once; the rest of its work waits,
    /// so a tenant with slow or hostile plugins cannot take every core or pool slot.
    pub tenant_concurrency: usize,
    lanes: lanes::Lanes,
    /// Natively linked plugins used instead of the components (benchmark comparison only).
    #[cfg(feature = "native-plugins")]
    native: Option<Arc<HashMap<String, native::NativeFns>>>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Each tenant's enabled rules and directory, loaded on first use and dropped by
    /// [`Engine::invalidate`] when the API changes them.
    tenants: Mutex<HashMap<i64, Arc<TenantCache>>>,
    /// Woken when a ticket changed or a rule changed, so the scheduler looks at due work now.
    pub(crate) wake: tokio::sync::Notify,
    /// Woken when a write queued deliveries, so the delivery worker sends them now.
    pub deliveries_wake: Arc<tokio::sync::Notify>,
    /// Woken when an inbox's e-mail settings changed, so its mailbox worker restarts.
    pub mailboxes_wake: Arc<tokio::sync::Notify>,
    /// The engine itself, for plugin work moved to blocking threads (see [`Engine::shared`]).
    this: std::sync::Weak<Engine>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("catalog", &self.catalog().entries().count())
            .finish()
    }
}

/// The tenant's statuses and directory.
pub(crate) struct TenantData {
    pub(crate) statuses: Vec<crate::store::StatusRow>,
    pub(crate) inboxes: Vec<crate::store::InboxRow>,
    pub(crate) agent_ids: Vec<i64>,
    directory: Arc<StaticDirectory>,
}

impl TenantData {
    /// The category of a status (`open` for an unknown one).
    pub(crate) fn category(&self, status: &str) -> &str {
        self.statuses
            .iter()
            .find(|s| s.name == status)
            .map_or("open", |s| s.category.as_str())
    }
}

/// What the engine keeps per tenant between events.
pub(crate) struct TenantCache {
    /// Enabled rules in position order, resolved against the installations.
    rules: Vec<LoadedRule>,
    pub(crate) data: TenantData,
    /// The plugins the tenant runs.
    installations: Arc<Installations>,
}

impl Engine {
    /// An engine with the built-in plugins loaded into `runtime` (uploaded plugins follow with
    /// [`Engine::load_uploaded`]).
    pub fn new(store: Store, runtime: &Arc<Runtime>) -> Result<Engine, crate::runtime::LoadError> {
        let mut catalog = Catalog::default();
        let started = std::time::Instant::now();
        for (_, bytes) in crate::builtin::COMPONENTS {
            let plugin = runtime.load(bytes)?;
            let loaded =
                crate::builtin::LOADED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if started.elapsed() > std::time::Duration::from_secs(2) && loaded.is_multiple_of(10) {
                tracing::info!(
                    loaded,
                    of = crate::builtin::COMPONENTS.len(),
                    "compiling the built-in plugins"
                );
            }
            catalog.insert(
                Publisher::Builtin,
                Release {
                    plugin: Arc::new(plugin),
                    signed_by_key: None,
                    uploaded_at: None,
                },
            );
        }
        Ok(Engine {
            store,
            runtime: runtime.clone(),
            catalog: RwLock::new(Arc::new(catalog)),
            require_signatures: false,
            tenant_concurrency: default_tenant_concurrency(),
            lanes: Default::default(),
            #[cfg(feature = "native-plugins")]
            native: std::env::var_os("FERRULE_BENCH_NATIVE_PLUGINS").map(|_| {
                tracing::warn!("plugins run natively, without the sandbox (benchmark mode)");
                Arc::new(native::registry())
            }),
            metrics: Arc::new(Metrics::default()),
            tenants: Mutex::new(HashMap::new()),
            wake: tokio::sync::Notify::new(),
            deliveries_wake: Default::default(),
            mailboxes_wake: Default::default(),
            this: std::sync::Weak::new(),
        })
    }

    /// The engine, shared: what runs events needs it behind an `Arc`.
    pub fn shared(self) -> Arc<Engine> {
        Arc::new_cyclic(|this| Engine {
            this: this.clone(),
            ..self
        })
    }

    /// An inbox's e-mail settings changed: the mailbox workers follow.
    pub fn mailboxes_changed(&self) {
        self.mailboxes_wake.notify_one();
    }

    /// Forget what is cached for a tenant; call after any change to its rules, agents,
    /// inboxes or statuses.
    pub fn invalidate(&self, tenant: i64) {
        self.tenants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&tenant);
    }

    /// A tenant's rules changed. When time rules are involved, every open ticket is due for a
    /// look (a new time rule covers existing tickets).
    pub async fn rules_changed(&self, tenant: i64, time_rules: bool) -> Result<(), EngineError> {
        self.invalidate(tenant);
        if time_rules {
            self.store.make_tenant_due(tenant).await?;
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Whether the tenant has enabled time rules.
    pub async fn has_time_rules(&self, tenant: &Tenant) -> Result<bool, EngineError> {
        Ok(self
            .tenant_cache(tenant)
            .await?
            .rules
            .iter()
            .any(LoadedRule::is_time_rule))
    }

    /// The tenant's cached rules and directory, loaded when missing.
    pub(crate) async fn tenant_cache(
        &self,
        tenant: &Tenant,
    ) -> Result<Arc<TenantCache>, EngineError> {
        if let Some(c) = self
            .tenants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant.id)
        {
            return Ok(c.clone());
        }
        let rows = self.store.rules(tenant.id).await?;
        let installations = Arc::new(self.installations(tenant.id).await?);
        let data = self.tenant_data(tenant).await?;
        let mut secrets = self.store.tenant_rule_secrets(tenant.id).await?;
        let rules = rows
            .iter()
            .filter(|r| r.enabled)
            .filter_map(LoadedRule::from_row)
            .map(|r| {
                let own = secrets.remove(&r.id).unwrap_or_default();
                r.with_secrets(own)
                    .resolve(&installations)
                    .check_directory(&data)
            })
            .collect();
        let cache = Arc::new(TenantCache {
            rules,
            data,
            installations,
        });
        self.tenants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tenant.id, cache.clone());
        Ok(cache)
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The catalog as it is now.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The newest version of a plugin by name.
    pub fn plugin(&self, name: &str) -> Option<Arc<Plugin>> {
        self.catalog().get(name).map(|e| e.latest().plugin.clone())
    }

    /// The tenant's statuses and directory, loaded once per dispatch.
    async fn tenant_data(&self, tenant: &Tenant) -> Result<TenantData, EngineError> {
        let statuses = self.store.statuses(tenant.id).await?;
        let agents = self.store.agents(tenant.id).await?;
        let inboxes = self.store.inboxes(tenant.id).await?;
        let mut directory = StaticDirectory::new();
        for a in &agents {
            directory = directory.with_agent(context::agent(a));
        }
        for i in &inboxes {
            directory = directory.with_inbox(context::inbox(i));
        }
        Ok(TenantData {
            statuses,
            inboxes,
            agent_ids: agents.iter().map(|a| a.id).collect(),
            directory: Arc::new(directory),
        })
    }
}
