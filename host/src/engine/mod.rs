//! The rule engine: events in, rules evaluated through plugins, effects applied and recorded.

mod chain;
mod context;
mod effects;
mod evaluate;
pub mod metrics;
#[cfg(feature = "native-plugins")]
mod native;
pub mod scheduler;
mod tree;

pub use metrics::Metrics;

use crate::domain::rule::{Leaf, RuleSpec, Trigger};
use crate::runtime::{Limits, Plugin, Runtime, Sandbox, StaticDirectory};
use crate::store::{RuleRow, Store, StoreError, Tenant};
use ferrule_types::PluginKind;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
    leaves: Vec<(String, Leaf)>,
    /// Each leaf's config as JSON text, serialised once.
    configs: Vec<String>,
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
        Some(LoadedRule {
            id: row.id,
            revision: row.revision,
            spec,
            leaves,
            configs,
        })
    }

    /// Whether a time trigger runs the rule.
    pub fn is_time_rule(&self) -> bool {
        matches!(self.spec.trigger, Trigger::Time(_))
    }
}

/// The engine.
pub struct Engine {
    store: Store,
    plugins: HashMap<String, Arc<Plugin>>,
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
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("plugins", &self.plugins.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The tenant's statuses and directory.
pub(crate) struct TenantData {
    statuses: Vec<crate::store::StatusRow>,
    inboxes: Vec<crate::store::InboxRow>,
    agent_ids: Vec<i64>,
    directory: Arc<StaticDirectory>,
}

/// What the engine keeps per tenant between events.
pub(crate) struct TenantCache {
    /// Enabled rules in position order.
    rules: Vec<LoadedRule>,
    data: TenantData,
}

impl Engine {
    /// An engine with the built-in plugins loaded into `runtime`.
    pub fn new(store: Store, runtime: &Runtime) -> Result<Engine, crate::runtime::LoadError> {
        let mut plugins = HashMap::new();
        for (_, bytes) in crate::builtin::COMPONENTS {
            let plugin = runtime.load(bytes)?;
            plugins.insert(plugin.description().name.clone(), Arc::new(plugin));
        }
        Ok(Engine {
            store,
            plugins,
            #[cfg(feature = "native-plugins")]
            native: std::env::var_os("FERRULE_BENCH_NATIVE_PLUGINS").map(|_| {
                tracing::warn!("plugins run natively, without the sandbox (benchmark mode)");
                Arc::new(native::registry())
            }),
            metrics: Arc::new(Metrics::default()),
            tenants: Mutex::new(HashMap::new()),
            wake: tokio::sync::Notify::new(),
        })
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
    async fn tenant_cache(&self, tenant: &Tenant) -> Result<Arc<TenantCache>, EngineError> {
        if let Some(c) = self
            .tenants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant.id)
        {
            return Ok(c.clone());
        }
        let rows = self.store.rules(tenant.id).await?;
        let rules = rows
            .iter()
            .filter(|r| r.enabled)
            .filter_map(LoadedRule::from_row)
            .collect();
        let cache = Arc::new(TenantCache {
            rules,
            data: self.tenant_data(tenant).await?,
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

    /// A plugin by name.
    pub fn plugin(&self, name: &str) -> Option<&Arc<Plugin>> {
        self.plugins.get(name)
    }

    /// Every plugin, by name.
    pub fn plugins(&self) -> impl Iterator<Item = &Arc<Plugin>> {
        self.plugins.values()
    }

    /// Check a rule before it is saved: each leaf names a condition plugin, each action an
    /// action plugin, and each plugin accepts its config. Errors name the rule part and plugin.
    pub async fn validate_rule(
        &self,
        spec: &RuleSpec,
    ) -> Result<(), crate::domain::rule::FieldError> {
        use crate::domain::rule::FieldError;
        let mut uses: Vec<(String, Leaf, PluginKind)> = Vec::new();
        let mut leaves = Vec::new();
        spec.conditions.leaves("conditions", &mut leaves);
        uses.extend(
            leaves
                .into_iter()
                .map(|(p, l)| (p, l, PluginKind::Condition)),
        );
        uses.extend(
            spec.actions
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("actions[{i}]"), a.clone(), PluginKind::Action)),
        );
        for (path, leaf, kind) in uses {
            let Some(plugin) = self.plugin(&leaf.plugin).cloned() else {
                let mut names: Vec<&String> = self.plugins.keys().collect();
                names.sort();
                return Err(FieldError::new(
                    format!("{path}.plugin"),
                    format!(
                        "unknown plugin `{}`; available: {}",
                        leaf.plugin,
                        names
                            .iter()
                            .map(|n| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            };
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
            let config = leaf.config.to_string();
            let run = tokio::task::spawn_blocking(move || {
                plugin.validate(&config, &Sandbox::new(Limits::for_kind(kind)))
            })
            .await
            .map_err(|e| FieldError::new(&path, format!("validation did not finish: {e}")))?;
            match run.result {
                Ok(Ok(())) => {}
                Ok(Err(ferrule_types::PluginError::InvalidConfig {
                    path: inner,
                    message,
                })) => {
                    let field = if inner.is_empty() {
                        format!("{path}.config")
                    } else {
                        format!("{path}.config.{inner}")
                    };
                    return Err(FieldError::new(
                        field,
                        format!("plugin `{}`: {message}", leaf.plugin),
                    ));
                }
                Ok(Err(other)) => {
                    return Err(FieldError::new(
                        format!("{path}.config"),
                        format!("plugin `{}`: {other}", leaf.plugin),
                    ));
                }
                Err(e) => {
                    return Err(FieldError::new(
                        format!("{path}.config"),
                        format!("plugin `{}` failed validating: {e}", leaf.plugin),
                    ));
                }
            }
        }
        Ok(())
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
