//! The rule engine: events in, rules evaluated through plugins, effects applied and recorded.

mod context;
mod effects;
pub mod metrics;
#[cfg(feature = "native-plugins")]
mod native;
mod tree;

pub use metrics::Metrics;

use crate::domain::rule::{Leaf, RuleSpec, Trigger};
use crate::runtime::{Limits, Plugin, PreparedContext, Runtime, Sandbox, StaticDirectory};
use crate::store::{RuleRow, Store, StoreError, Tenant, TicketRow, now_ms};
use ferrule_types::{Context, Event, PluginKind};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;
use tree::LeafResult;

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
        Some(LoadedRule {
            id: row.id,
            revision: row.revision,
            spec,
            leaves,
        })
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
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("plugins", &self.plugins.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The fields every run record starts with.
fn record_head(rule: &LoadedRule, ticket_id: i64, event: &Event) -> Value {
    json!({"rule_id": rule.id, "rule_revision": rule.revision, "rule_name": rule.spec.name,
           "ticket_id": ticket_id, "event": event})
}

/// Mark a run record failed.
fn fail(record: &mut Value, error: String) {
    record["outcome"] = "failed".into();
    record["error"] = error.into();
}

/// `base` with the fields of `more` added.
fn extend(mut base: Value, more: Value) -> Value {
    if let (Some(b), Value::Object(m)) = (base.as_object_mut(), more) {
        b.extend(m);
    }
    base
}

/// The tenant's statuses and directory.
struct TenantData {
    statuses: Vec<crate::store::StatusRow>,
    inboxes: Vec<crate::store::InboxRow>,
    agent_ids: Vec<i64>,
    directory: Arc<StaticDirectory>,
}

/// Everything about a ticket a rule evaluation needs, loaded once per step.
struct Snapshot {
    ticket: TicketRow,
    ctx: Context,
    sandbox: Sandbox,
    statuses: Vec<crate::store::StatusRow>,
    agent_ids: Vec<i64>,
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
        })
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
        if matches!(spec.trigger, Trigger::Time(_)) {
            // Refused rather than stored: a saved rule that never runs would mislead the admin.
            return Err(FieldError::new(
                "trigger.time",
                "time-based rules need the scheduler, which this server version does not have yet; use event triggers",
            ));
        }
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

    async fn snapshot(
        &self,
        tenant: &Tenant,
        data: &TenantData,
        ticket_id: i64,
        event: &Event,
    ) -> Result<Option<Snapshot>, EngineError> {
        let mut tx = self.store.begin_read().await?;
        let Some(ticket) = self.store.ticket_in(&mut tx, tenant.id, ticket_id).await? else {
            return Ok(None);
        };
        let latest = self
            .store
            .latest_message(&mut tx, tenant.id, ticket_id)
            .await?;
        tx.commit().await?;
        let ctx = Context {
            tenant: tenant.id.to_string(),
            now: ferrule_types::Timestamp::from_timestamp_millis(now_ms()).unwrap_or_default(),
            timezone: tenant.timezone.clone(),
            event: event.clone(),
            ticket: context::ticket(&ticket, &data.statuses, &data.inboxes),
            latest_message: latest.as_ref().map(context::message),
        };
        let sandbox = Sandbox::new(Limits::CONDITION).with_directory(data.directory.clone());
        Ok(Some(Snapshot {
            ticket,
            ctx,
            sandbox,
            statuses: data.statuses.clone(),
            agent_ids: data.agent_ids.clone(),
        }))
    }

    /// Evaluate the leaves of several rules against one context: one sandboxed call per plugin.
    async fn evaluate_leaves(
        &self,
        rules: &[&LoadedRule],
        snap: &Snapshot,
    ) -> Result<(Vec<Vec<LeafResult>>, u64), EngineError> {
        let mut by_plugin: HashMap<&str, Vec<(usize, usize, String)>> = HashMap::new();
        for (r, rule) in rules.iter().enumerate() {
            for (l, (_, leaf)) in rule.leaves.iter().enumerate() {
                by_plugin.entry(leaf.plugin.as_str()).or_default().push((
                    r,
                    l,
                    leaf.config.to_string(),
                ));
            }
        }
        let mut results: Vec<Vec<LeafResult>> = rules
            .iter()
            .map(|r| vec![LeafResult::Failed("not evaluated".into()); r.leaves.len()])
            .collect();
        let prepared = PreparedContext::new(&snap.ctx);
        // One blocking task runs every plugin of the round (one sandboxed call each), so the
        // async workers never wait on plugin code and there is one thread hop per round.
        let calls: Vec<(String, Option<Arc<Plugin>>, Vec<String>)> = by_plugin
            .iter()
            .map(|(name, uses)| {
                let configs = uses.iter().map(|(_, _, c)| c.clone()).collect();
                ((*name).to_owned(), self.plugin(name).cloned(), configs)
            })
            .collect();
        let sandbox = snap.sandbox.clone();
        let metrics = self.metrics.clone();
        #[cfg(feature = "native-plugins")]
        let (native, plain) = (self.native.clone(), snap.ctx.clone());
        let runs = tokio::task::spawn_blocking(move || {
            calls
                .into_iter()
                .map(|(name, plugin, configs)| {
                    #[cfg(feature = "native-plugins")]
                    if let Some(f) = native.as_ref().and_then(|n| n.get(&name)) {
                        let result = Ok((f.evaluate)(&plain, &configs));
                        return (
                            name,
                            Some(crate::runtime::Run {
                                result,
                                stats: Default::default(),
                            }),
                        );
                    }
                    let run = plugin.map(|p| {
                        let started = Instant::now();
                        let run = p.evaluate(&prepared, &configs, &sandbox);
                        metrics.plugin_time.observe(started.elapsed().as_secs_f64());
                        run
                    });
                    (name, run)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| EngineError::Join(e.to_string()))?;
        let mut fuel = 0;
        for (name, run) in runs {
            let uses = by_plugin.remove(name.as_str()).unwrap_or_default();
            let Some(run) = run else {
                for (r, l, _) in uses {
                    results[r][l] = LeafResult::Failed(format!("plugin `{name}` is not available"));
                }
                continue;
            };
            fuel += run.stats.fuel_used;
            match run.result {
                Ok(answers) => {
                    for ((r, l, _), answer) in uses.into_iter().zip(answers) {
                        results[r][l] = match answer {
                            Ok(v) => LeafResult::Answer(v.matches),
                            Err(e) => LeafResult::Failed(format!("plugin `{name}`: {e}")),
                        };
                    }
                }
                Err(e) => {
                    for (r, l, _) in uses {
                        results[r][l] = LeafResult::Failed(format!("plugin `{name}`: {e}"));
                    }
                }
            }
        }
        Ok((results, fuel))
    }

    /// Run the actions of a rule whose conditions matched: all their effects, or the first error.
    async fn run_actions(
        &self,
        rule: &LoadedRule,
        snap: &Snapshot,
    ) -> (Result<Vec<ferrule_types::Effect>, String>, u64) {
        let prepared = Arc::new(PreparedContext::new(&snap.ctx));
        let mut effects = Vec::new();
        let mut fuel = 0;
        for (i, action) in rule.spec.actions.iter().enumerate() {
            let Some(plugin) = self.plugin(&action.plugin).cloned() else {
                return (
                    Err(format!(
                        "actions[{i}]: plugin `{}` is not available",
                        action.plugin
                    )),
                    fuel,
                );
            };
            let config = action.config.to_string();
            let (ctx, sandbox) = (
                prepared.clone(),
                Sandbox {
                    limits: Limits::ACTION,
                    ..snap.sandbox.clone()
                },
            );
            let started = Instant::now();
            #[cfg(feature = "native-plugins")]
            let native = self
                .native
                .as_ref()
                .and_then(|n| n.get(&action.plugin))
                .copied();
            #[cfg(feature = "native-plugins")]
            let plain = snap.ctx.clone();
            let run = match tokio::task::spawn_blocking(move || {
                #[cfg(feature = "native-plugins")]
                if let Some(f) = native {
                    let result = Ok((f.execute)(&config, &plain));
                    return crate::runtime::Run {
                        result,
                        stats: Default::default(),
                    };
                }
                plugin.execute(&config, &ctx, &sandbox)
            })
            .await
            {
                Ok(run) => run,
                Err(e) => return (Err(format!("actions[{i}]: {e}")), fuel),
            };
            self.metrics
                .plugin_time
                .observe(started.elapsed().as_secs_f64());
            fuel += run.stats.fuel_used;
            match run.result {
                Ok(Ok(mut e)) => effects.append(&mut e),
                Ok(Err(e)) => {
                    return (
                        Err(format!("actions[{i}] (plugin `{}`): {e}", action.plugin)),
                        fuel,
                    );
                }
                Err(e) => {
                    return (
                        Err(format!("actions[{i}] (plugin `{}`): {e}", action.plugin)),
                        fuel,
                    );
                }
            }
        }
        (Ok(effects), fuel)
    }

    fn conditions_record(rule: &LoadedRule, leaves: &[LeafResult], used: &[bool]) -> Vec<Value> {
        rule.leaves
            .iter()
            .zip(leaves)
            .zip(used)
            .map(|(((path, leaf), result), used)| {
                let (result, error) = match (used, result) {
                    (false, _) => (Value::String("skipped".into()), Value::Null),
                    (true, LeafResult::Answer(b)) => (Value::Bool(*b), Value::Null),
                    (true, LeafResult::Failed(e)) => (Value::Null, Value::String(e.clone())),
                };
                json!({"path": path, "plugin": leaf.plugin, "result": result, "error": error})
            })
            .collect()
    }

    /// Process events on a ticket: every enabled event rule listening to each event runs in
    /// position order; effects are applied per rule in one transaction and may raise further
    /// events (a rule fires at most once per chain; chains stop at [`MAX_CHAIN_DEPTH`]).
    /// Returns the run records.
    pub async fn dispatch(
        &self,
        tenant: &Tenant,
        ticket_id: i64,
        events: Vec<Event>,
    ) -> Result<Vec<Value>, EngineError> {
        let rows = self.store.rules(tenant.id).await?;
        let rules: Vec<LoadedRule> = rows
            .iter()
            .filter(|r| r.enabled)
            .filter_map(LoadedRule::from_row)
            .collect();
        let mut queue: VecDeque<(Event, usize)> = events.into_iter().map(|e| (e, 0)).collect();
        let mut fired: HashSet<i64> = HashSet::new();
        let mut records = Vec::new();
        // Records of runs that changed nothing, written in one transaction with the next change
        // or at the end.
        let mut unwritten: Vec<(i64, i64, &'static str, Value)> = Vec::new();
        let data = self.tenant_data(tenant).await?;
        while let Some((event, depth)) = queue.pop_front() {
            self.metrics.events.inc();
            let kind = event.kind();
            let listening: Vec<&LoadedRule> =
                rules.iter().filter(|r| r.spec.listens_to(kind)).collect();
            if listening.is_empty() {
                continue;
            }
            if depth >= MAX_CHAIN_DEPTH {
                for rule in &listening {
                    let record = extend(
                        record_head(rule, ticket_id, &event),
                        json!({"outcome": "chain_limit",
                        "error": format!("the chain of events reached {MAX_CHAIN_DEPTH} steps; `{kind}` was not processed")}),
                    );
                    unwritten.push((rule.id, rule.revision, kind, record.clone()));
                    records.push(record);
                }
                continue;
            }
            let Some(mut snap) = self.snapshot(tenant, &data, ticket_id, &event).await? else {
                self.flush_runs(tenant.id, ticket_id, &mut unwritten)
                    .await?;
                return Ok(records);
            };
            let mut pending: Vec<&LoadedRule> = listening;
            let (mut leaf_results, mut leaf_fuel) = {
                let (r, f) = self.evaluate_leaves(&pending, &snap).await?;
                (r, f)
            };
            let mut index = 0;
            while index < pending.len() {
                let rule = pending[index];
                let started = Instant::now();
                if fired.contains(&rule.id) {
                    let record = extend(
                        record_head(rule, ticket_id, &event),
                        json!({"outcome": "skipped",
                        "reason": "the rule already fired for this ticket in this chain of events (loop protection)"}),
                    );
                    unwritten.push((rule.id, rule.revision, kind, record.clone()));
                    records.push(record);
                    index += 1;
                    continue;
                }
                let mut used = Vec::new();
                let decided = tree::decide(&rule.spec.conditions, &leaf_results[index], &mut used);
                let conditions = Self::conditions_record(rule, &leaf_results[index], &used);
                let mut record = extend(
                    record_head(rule, ticket_id, &event),
                    json!({"conditions": conditions, "effects": [], "fuel": leaf_fuel}),
                );
                leaf_fuel = 0;
                if let Some(effects) = self.effects_of(rule, &snap, decided, &mut record).await {
                    let mut ticket = snap.ticket.clone();
                    let now = now_ms();
                    match effects::apply(
                        &mut ticket,
                        &effects,
                        &snap.statuses,
                        &snap.agent_ids,
                        rule.id,
                        now,
                    ) {
                        Err(e) => fail(&mut record, e),
                        Ok(applied) => {
                            record["outcome"] = "fired".into();
                            record["duration_us"] = (started.elapsed().as_micros() as u64).into();
                            let mut tx = self.store.begin().await?;
                            self.write_runs(&mut tx, tenant.id, ticket_id, &mut unwritten)
                                .await?;
                            effects::write(
                                &self.store,
                                &mut tx,
                                tenant.id,
                                &ticket,
                                &applied,
                                rule.id,
                            )
                            .await?;
                            self.store
                                .add_run(
                                    &mut tx,
                                    tenant.id,
                                    rule.id,
                                    rule.revision,
                                    ticket_id,
                                    kind,
                                    "fired",
                                    &record,
                                )
                                .await?;
                            tx.commit().await?;
                            self.metrics.runs("fired").inc();
                            fired.insert(rule.id);
                            queue.extend(applied.events.into_iter().map(|e| (e, depth + 1)));
                            records.push(record);
                            index += 1;
                            if applied.changed {
                                // Later rules see the new ticket: evaluate them again.
                                let Some(fresh) =
                                    self.snapshot(tenant, &data, ticket_id, &event).await?
                                else {
                                    self.flush_runs(tenant.id, ticket_id, &mut unwritten)
                                        .await?;
                                    return Ok(records);
                                };
                                snap = fresh;
                                pending = pending.split_off(index);
                                index = 0;
                                let (r, f) = self.evaluate_leaves(&pending, &snap).await?;
                                leaf_results = r;
                                leaf_fuel = f;
                            }
                            continue;
                        }
                    }
                }
                record["duration_us"] = (started.elapsed().as_micros() as u64).into();
                let outcome = record["outcome"].as_str().unwrap_or("failed").to_owned();
                unwritten.push((rule.id, rule.revision, kind, record.clone()));
                self.metrics.runs(&outcome).inc();
                records.push(record);
                index += 1;
            }
        }
        self.flush_runs(tenant.id, ticket_id, &mut unwritten)
            .await?;
        Ok(records)
    }

    /// Settle a rule's conditions and, when they hold, run its actions: the effects to apply,
    /// or None with `record` saying why not (`not_matched` or `failed`).
    async fn effects_of(
        &self,
        rule: &LoadedRule,
        snap: &Snapshot,
        decided: Result<bool, String>,
        record: &mut Value,
    ) -> Option<Vec<ferrule_types::Effect>> {
        match decided {
            Err(e) => fail(record, e),
            Ok(false) => record["outcome"] = "not_matched".into(),
            Ok(true) => {
                let (effects, fuel) = self.run_actions(rule, snap).await;
                record["fuel"] = (record["fuel"].as_u64().unwrap_or(0) + fuel).into();
                match effects {
                    Err(e) => fail(record, e),
                    Ok(effects) => {
                        record["effects"] = serde_json::to_value(&effects).unwrap_or_default();
                        return Some(effects);
                    }
                }
            }
        }
        None
    }

    async fn write_runs(
        &self,
        tx: &mut crate::store::Tx,
        tenant: i64,
        ticket: i64,
        pending: &mut Vec<(i64, i64, &'static str, Value)>,
    ) -> Result<(), EngineError> {
        for (rule, revision, kind, record) in pending.drain(..) {
            let outcome = record["outcome"].as_str().unwrap_or("failed");
            self.store
                .add_run(tx, tenant, rule, revision, ticket, kind, outcome, &record)
                .await?;
        }
        Ok(())
    }

    async fn flush_runs(
        &self,
        tenant: i64,
        ticket: i64,
        pending: &mut Vec<(i64, i64, &'static str, Value)>,
    ) -> Result<(), EngineError> {
        if pending.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        self.write_runs(&mut tx, tenant, ticket, pending).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Evaluate one rule on a ticket and report what would happen, changing nothing.
    pub async fn dry_run(
        &self,
        tenant: &Tenant,
        rule: &LoadedRule,
        ticket_id: i64,
    ) -> Result<Option<Value>, EngineError> {
        let event = match &rule.spec.trigger {
            Trigger::Events(kinds) => match kinds.first().map(String::as_str) {
                Some("customer_message") => Event::CustomerMessage,
                Some("first_customer_message") => Event::FirstCustomerMessage,
                Some("agent_message") => Event::AgentMessage,
                Some("return_created") => Event::ReturnCreated,
                _ => Event::TicketCreated,
            },
            Trigger::Time(_) => Event::ScheduleTick,
        };
        let data = self.tenant_data(tenant).await?;
        let Some(snap) = self.snapshot(tenant, &data, ticket_id, &event).await? else {
            return Ok(None);
        };
        let started = Instant::now();
        let (results, fuel) = self.evaluate_leaves(&[rule], &snap).await?;
        let mut used = Vec::new();
        let decided = tree::decide(&rule.spec.conditions, &results[0], &mut used);
        let mut record = extend(
            record_head(rule, ticket_id, &event),
            json!({"dry_run": true,
            "conditions": Self::conditions_record(rule, &results[0], &used), "effects": [], "fuel": fuel}),
        );
        if self
            .effects_of(rule, &snap, decided, &mut record)
            .await
            .is_some()
        {
            record["outcome"] = "would_fire".into();
        }
        record["duration_us"] = (started.elapsed().as_micros() as u64).into();
        Ok(Some(record))
    }
}
