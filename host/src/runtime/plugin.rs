//! A loaded plugin: its description and pre-instantiated component; every call gets a fresh,
//! limited store.

use super::bindings::action::ActionPre;
use super::bindings::condition::ConditionPre;
use super::cache::CodeSource;
use super::convert::{Output, PreparedContext};
use super::error::RunError;
use super::limits::Limits;
use super::state::{LogLine, Sandbox, State};
use super::{EPOCH_TICK, LoadError};
use ferrule_types::{Description, Effect, PluginError, PluginKind, Verdict};
use serde::Serialize;
use std::time::{Duration, Instant};
use wasmtime::component::InstancePre;
use wasmtime::{Engine, Store, Trap};

enum Pre {
    Condition(ConditionPre<State>),
    Action(ActionPre<State>),
}

/// A plugin ready to run.
pub struct Plugin {
    engine: Engine,
    pre: Pre,
    description: Description,
    sha256: String,
    source: CodeSource,
    imports: Vec<String>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("description", &self.description)
            .field("sha256", &self.sha256)
            .finish()
    }
}

/// What a call used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunStats {
    /// Fuel consumed.
    pub fuel_used: u64,
    /// Largest linear memory the instance reached, in bytes.
    pub peak_memory_bytes: usize,
    /// Wall-clock time of the call, including instantiation.
    #[serde(rename = "duration_us", serialize_with = "micros")]
    pub duration: Duration,
    /// What the plugin logged or printed.
    pub logs: Vec<LogLine>,
}

fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_micros() as u64)
}

/// The outcome of one call: its result (or why the sandbox stopped it) and what it used.
#[derive(Debug, Clone)]
pub struct Run<T> {
    /// The plugin's answer, or the sandbox failure.
    pub result: Result<T, RunError>,
    /// Fuel, memory, time and logs.
    pub stats: RunStats,
}

impl Plugin {
    pub(crate) fn new(
        engine: Engine,
        kind: PluginKind,
        pre: InstancePre<State>,
        sha256: String,
        source: CodeSource,
        imports: Vec<String>,
    ) -> Result<Plugin, LoadError> {
        let link = |e: wasmtime::Error| LoadError::Link(format!("{e:#}"));
        let pre = match kind {
            PluginKind::Condition => Pre::Condition(ConditionPre::new(pre).map_err(link)?),
            PluginKind::Action => Pre::Action(ActionPre::new(pre).map_err(link)?),
        };
        let placeholder = Description {
            name: String::new(),
            version: String::new(),
            kind,
            summary: String::new(),
            config_schema: serde_json::Value::Null,
            capabilities: Vec::new(),
        };
        let mut plugin = Plugin {
            engine,
            pre,
            description: placeholder,
            sha256,
            source,
            imports,
        };
        let described = plugin.call_describe().result.map_err(LoadError::Describe)?;
        check_description(&described, kind)?;
        plugin.description = described;
        Ok(plugin)
    }

    /// Name, version, kind, summary, config schema and capabilities, from `describe()`.
    pub fn description(&self) -> &Description {
        &self.description
    }

    /// Condition or action.
    pub fn kind(&self) -> PluginKind {
        self.description.kind
    }

    /// Hex SHA-256 of the component bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Whether the code was compiled at load or read from the cache.
    pub fn code_source(&self) -> CodeSource {
        self.source
    }

    /// The component's imports (interface names).
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    fn call_describe(&self) -> Run<Description> {
        let sandbox = Sandbox::new(Limits::for_kind(self.kind_of_pre()));
        self.call(&sandbox, |store, output| {
            let d = match &self.pre {
                Pre::Condition(pre) => pre
                    .instantiate(&mut *store)?
                    .ferrule_plugin_condition_plugin()
                    .call_describe(&mut *store)?,
                Pre::Action(pre) => pre
                    .instantiate(&mut *store)?
                    .ferrule_plugin_action_plugin()
                    .call_describe(&mut *store)?,
            };
            Ok(output.description(d))
        })
    }

    fn kind_of_pre(&self) -> PluginKind {
        match self.pre {
            Pre::Condition(_) => PluginKind::Condition,
            Pre::Action(_) => PluginKind::Action,
        }
    }

    /// Check a config, as when a rule is saved.
    pub fn validate(&self, config: &str, sandbox: &Sandbox) -> Run<Result<(), PluginError>> {
        self.call(sandbox, |store, output| {
            let answer = match &self.pre {
                Pre::Condition(pre) => pre
                    .instantiate(&mut *store)?
                    .ferrule_plugin_condition_plugin()
                    .call_validate(&mut *store, config)?,
                Pre::Action(pre) => pre
                    .instantiate(&mut *store)?
                    .ferrule_plugin_action_plugin()
                    .call_validate(&mut *store, config)?,
            };
            Ok(match answer {
                Ok(()) => Ok(Ok(())),
                Err(e) => output.error(e).map(Err),
            })
        })
    }

    /// Evaluate a condition for every config against one context, in a fresh store: one
    /// answer per config.
    pub fn evaluate(
        &self,
        ctx: &PreparedContext,
        configs: &[String],
        sandbox: &Sandbox,
    ) -> Run<Vec<Result<Verdict, PluginError>>> {
        self.evaluate_in(&mut Session::default(), ctx, configs, sandbox)
    }

    /// One condition instance for many calls, for benchmarks and tools. The engine never uses
    /// this: an instance must not be shared between tickets or tenants.
    pub fn warm_condition(&self, sandbox: &Sandbox) -> wasmtime::Result<WarmCondition> {
        let Pre::Condition(pre) = &self.pre else {
            return Err(wasmtime::Error::msg(format!(
                "`{}` is not a condition plugin",
                self.description.name
            )));
        };
        let mut store = Store::new(&self.engine, State::new(sandbox));
        store.limiter(|s| s);
        store.set_fuel(u64::MAX / 2)?;
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = pre.instantiate(&mut store)?;
        Ok(WarmCondition { store, instance })
    }

    /// Run an action in a fresh store: the effects it asks for.
    pub fn execute(
        &self,
        config: &str,
        ctx: &PreparedContext,
        sandbox: &Sandbox,
    ) -> Run<Result<Vec<Effect>, PluginError>> {
        self.execute_in(&mut Session::default(), config, ctx, sandbox)
    }

    /// Evaluate a condition in the event's `session`: the first call of this plugin in the
    /// session instantiates it in a fresh store, later calls (re-evaluations after effects
    /// changed the ticket) reuse that instance — one store per (event, plugin), never shared
    /// between tickets, tenants or events. A call that fails in the sandbox drops the instance.
    pub fn evaluate_in(
        &self,
        session: &mut Session,
        ctx: &PreparedContext,
        configs: &[String],
        sandbox: &Sandbox,
    ) -> Run<Vec<Result<Verdict, PluginError>>> {
        let Pre::Condition(pre) = &self.pre else {
            return not_a(PluginKind::Condition, &self.description.name);
        };
        let key = self as *const Plugin as usize;
        let (mut store, mut instance) = match session.conditions.remove(&key) {
            Some((store, instance)) => (store, Some(instance)),
            None => (self.new_store(sandbox), None),
        };
        let run = self.call_in(&mut store, sandbox, |store, output| {
            let condition = match &instance {
                Some(i) => i,
                None => instance.insert(pre.instantiate(&mut *store)?),
            };
            let answers = condition.ferrule_plugin_condition_plugin().call_evaluate(
                &mut *store,
                &ctx.0,
                configs,
            )?;
            if answers.len() != configs.len() {
                return Ok(Err(RunError::InvalidOutput(format!(
                    "{} answers for {} configs",
                    answers.len(),
                    configs.len()
                ))));
            }
            Ok(answers
                .into_iter()
                .map(|a| match a {
                    Ok(v) => output.verdict(v).map(Ok),
                    Err(e) => output.error(e).map(Err),
                })
                .collect())
        });
        if run.result.is_ok()
            && let Some(instance) = instance
        {
            session.conditions.insert(key, (store, instance));
        }
        run
    }

    /// Run an action in the event's `session`: like [`Plugin::evaluate_in`], the first call of
    /// this plugin in the session instantiates it in a fresh store and later calls of the same
    /// event reuse it; a call that fails in the sandbox drops the instance.
    pub fn execute_in(
        &self,
        session: &mut Session,
        config: &str,
        ctx: &PreparedContext,
        sandbox: &Sandbox,
    ) -> Run<Result<Vec<Effect>, PluginError>> {
        let Pre::Action(pre) = &self.pre else {
            return not_a(PluginKind::Action, &self.description.name);
        };
        let key = self as *const Plugin as usize;
        let (mut store, mut instance) = match session.actions.remove(&key) {
            Some((store, instance)) => (store, Some(instance)),
            None => (self.new_store(sandbox), None),
        };
        let max_effects = sandbox.limits.max_effects;
        let run = self.call_in(&mut store, sandbox, |store, output| {
            let action = match &instance {
                Some(i) => i,
                None => instance.insert(pre.instantiate(&mut *store)?),
            };
            let answer =
                action
                    .ferrule_plugin_action_plugin()
                    .call_execute(&mut *store, config, &ctx.0)?;
            Ok(match answer {
                Ok(effects) if effects.len() > max_effects => Err(RunError::InvalidOutput(
                    format!("{} effects; the limit is {max_effects}", effects.len()),
                )),
                Ok(effects) => effects
                    .into_iter()
                    .map(|e| output.effect(e))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Ok),
                Err(e) => output.error(e).map(Err),
            })
        });
        if run.result.is_ok()
            && let Some(instance) = instance
        {
            session.actions.insert(key, (store, instance));
        }
        run
    }

    fn new_store(&self, sandbox: &Sandbox) -> Store<State> {
        let mut store = Store::new(&self.engine, State::new(sandbox));
        store.limiter(|s| s);
        store
    }

    /// One call in a fresh store: limits set, failures classified, usage measured.
    fn call<T>(
        &self,
        sandbox: &Sandbox,
        f: impl FnOnce(&mut Store<State>, &Output) -> wasmtime::Result<Result<T, RunError>>,
    ) -> Run<T> {
        let mut store = self.new_store(sandbox);
        self.call_in(&mut store, sandbox, f)
    }

    /// One call in `store`: limits set for this call, failures classified, usage measured.
    fn call_in<T>(
        &self,
        store: &mut Store<State>,
        sandbox: &Sandbox,
        f: impl FnOnce(&mut Store<State>, &Output) -> wasmtime::Result<Result<T, RunError>>,
    ) -> Run<T> {
        let started = Instant::now();
        let limits = sandbox.limits;
        store.data_mut().next_call();
        let ticks = limits
            .timeout_ms
            .div_ceil(EPOCH_TICK.as_millis() as u64)
            .max(1);
        store.set_epoch_deadline(ticks);
        let output = Output {
            max_string_bytes: limits.max_string_bytes,
        };
        let outcome = match store.set_fuel(limits.fuel) {
            Ok(()) => f(store, &output),
            Err(e) => Err(e),
        };
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.data_mut();
        let stderr = state.drain_output();
        let mut result = match outcome {
            Ok(result) => result,
            Err(e) => Err(classify(e, state, &stderr, &limits)),
        };
        if let Some(denied) = state.denied() {
            result = Err(RunError::CapabilityDenied(denied));
        }
        let stats = RunStats {
            fuel_used,
            peak_memory_bytes: state.peak_memory,
            duration: started.elapsed(),
            logs: std::mem::take(&mut state.logs),
        };
        Run { result, stats }
    }
}

/// The plugin instances of one event's rule run (see [`Plugin::evaluate_in`],
/// [`Plugin::execute_in`]).
#[derive(Default)]
pub struct Session {
    conditions:
        std::collections::HashMap<usize, (Store<State>, super::bindings::condition::Condition)>,
    actions: std::collections::HashMap<usize, (Store<State>, super::bindings::action::Action)>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("conditions", &self.conditions.len())
            .field("actions", &self.actions.len())
            .finish()
    }
}

/// A condition instance kept for repeated calls (see [`Plugin::warm_condition`]).
pub struct WarmCondition {
    store: Store<State>,
    instance: super::bindings::condition::Condition,
}

impl WarmCondition {
    /// Evaluate on the kept instance; answers are returned as the plugin gave them.
    pub fn evaluate(
        &mut self,
        ctx: &PreparedContext,
        configs: &[String],
    ) -> wasmtime::Result<usize> {
        let answers = self
            .instance
            .ferrule_plugin_condition_plugin()
            .call_evaluate(&mut self.store, &ctx.0, configs)?;
        Ok(answers
            .iter()
            .filter(|a| matches!(a, Ok(v) if v.matches))
            .count())
    }
}

fn not_a<T>(kind: PluginKind, name: &str) -> Run<T> {
    let kind = match kind {
        PluginKind::Condition => "condition",
        PluginKind::Action => "action",
    };
    Run {
        result: Err(RunError::Instantiate(format!(
            "`{name}` is not an {kind} plugin"
        ))),
        stats: RunStats::default(),
    }
}

/// Map a wasmtime failure to its typed [`RunError`].
fn classify(error: wasmtime::Error, state: &State, stderr: &str, limits: &Limits) -> RunError {
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => RunError::OutOfFuel(limits.fuel),
            Trap::Interrupt => RunError::Timeout(limits.timeout_ms),
            Trap::StackOverflow => RunError::StackOverflow,
            _ if state.memory_exceeded => RunError::MemoryLimit(limits.memory_bytes),
            Trap::UnreachableCodeReached if stderr.contains("panicked at") => RunError::Panic(panic_message(stderr)),
            // Rust puts its stack first in linear memory: overflowing it reads below address 0.
            Trap::MemoryOutOfBounds => RunError::Trap(
                "out of bounds memory access (in a Rust plugin usually a stack overflow of the stack in linear memory)".into(),
            ),
            other => RunError::Trap(other.to_string()),
        };
    }
    if state.memory_exceeded {
        return RunError::MemoryLimit(limits.memory_bytes);
    }
    if let Some(denied) = error.downcast_ref::<super::denied::Denied>() {
        return RunError::CapabilityDenied(denied.to_string());
    }
    RunError::Trap(format!("{error:#}"))
}

/// The panic message from Rust's `panicked at src/lib.rs:3:5:\nmessage` output.
fn panic_message(stderr: &str) -> String {
    let after = stderr.split("panicked at ").nth(1).unwrap_or(stderr);
    let mut lines = after.lines();
    let location = lines.next().unwrap_or_default().trim_end_matches(':');
    let message: Vec<&str> = lines.take_while(|l| !l.starts_with("note:")).collect();
    format!("{} (at {location})", message.join("\n").trim())
}

fn check_description(d: &Description, kind: PluginKind) -> Result<(), LoadError> {
    let bad = |m: String| Err(LoadError::BadDescription(m));
    if d.kind != kind {
        return bad(format!(
            "describe() says {:?} but the component exports the other world",
            d.kind
        ));
    }
    let name_ok = !d.name.is_empty()
        && d.name.len() <= 64
        && d.name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !d.name.starts_with('-');
    if !name_ok {
        return bad(format!(
            "name `{}` must be 1–64 characters of a-z, 0-9 and -",
            d.name
        ));
    }
    if semver::Version::parse(&d.version).is_err() {
        return bad(format!(
            "version `{}` is not a semantic version like 1.2.3",
            d.version
        ));
    }
    if !d.config_schema.is_object() && !d.config_schema.is_boolean() {
        return bad("config schema is not a JSON Schema object".into());
    }
    Ok(())
}
