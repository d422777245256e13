//! Calling plugins for a rule evaluation: conditions batched one sandboxed call per plugin,
//! actions one call each. Plugin work is synchronous and runs off the async workers (see
//! [`blocking`]), inside the event's [`Session`].

use super::reads::{Parts, reads};
use super::tree::LeafResult;
use super::{Engine, EngineError, Installations, LoadedRule};
use crate::runtime::{PreparedContext, Run, Sandbox, Session, redact};
use ferrule_types::{Context, Effect};
use std::collections::HashMap;
use std::time::Instant;

/// The leaves of several rules, evaluated against one context.
pub(super) struct Evaluated {
    /// `results[rule][leaf]`.
    pub results: Vec<Vec<LeafResult>>,
    /// `hints[rule][leaf]`: the moment the leaf's answer may change (ms), if it gave one.
    pub hints: Vec<Vec<Option<i64>>>,
    /// Fuel of all the calls.
    pub fuel: u64,
}

impl Evaluated {
    /// The earliest moment any leaf of rule `r` may change its answer.
    pub fn hint(&self, r: usize) -> Option<i64> {
        self.hints[r].iter().flatten().min().copied()
    }

    /// The answers of the rules from `at` on (the first `at` are kept); no fuel.
    pub fn split_off(&mut self, at: usize) -> Evaluated {
        Evaluated {
            results: self.results.split_off(at),
            hints: self.hints.split_off(at),
            fuel: 0,
        }
    }
}

type EvalRun = Run<Vec<Result<ferrule_types::Verdict, ferrule_types::PluginError>>>;
type ExecRun = Run<Result<Vec<Effect>, ferrule_types::PluginError>>;

/// Run a future to completion from plugin work (on a blocking thread, see
/// [`Engine::plugin_work`]).
pub(super) fn wait<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(future)
}

impl Engine {
    /// Run plugin work `f` for a tenant in its lane (see [`super::lanes`]): on a blocking
    /// thread (a call may take up to its timeout, so never on the async workers), at most
    /// `tenant_concurrency` of the tenant's at once — one hand-off for a whole chain of events,
    /// not one per evaluation round or action.
    pub(super) async fn plugin_work<R: Send + 'static>(
        &self,
        tenant: i64,
        f: impl FnOnce(&Engine) -> R + Send + 'static,
    ) -> Result<R, EngineError> {
        let engine = self.this.upgrade().ok_or(EngineError::Stopped)?;
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.lanes.submit(
            tenant,
            self.tenant_concurrency,
            Box::new(move || {
                let _ = answer.send(f(&engine));
            }),
        );
        answered
            .await
            .map_err(|_| EngineError::Join("the plugin work stopped without an answer".into()))
    }

    /// Evaluate the leaves of several rules against one context: one sandboxed call per plugin.
    pub(super) fn evaluate_leaves(
        &self,
        rules: &[&LoadedRule],
        installations: &Installations,
        ctx: &Context,
        sandbox: &Sandbox,
        session: &mut Session,
    ) -> Evaluated {
        self.reevaluate(rules, installations, ctx, sandbox, None, session)
    }

    /// Evaluate again after the ticket changed in `changed` parts: leaves whose plugin reads
    /// none of them keep their `previous` answers (conditions are pure), the others are
    /// called again; with no previous answers, every leaf is evaluated. A round where no leaf
    /// needs a call costs nothing.
    pub(super) fn reevaluate(
        &self,
        rules: &[&LoadedRule],
        installations: &Installations,
        ctx: &Context,
        sandbox: &Sandbox,
        previous: Option<(Evaluated, Parts)>,
        session: &mut Session,
    ) -> Evaluated {
        let (mut out, changed) = match previous {
            Some((previous, changed)) => (previous, Some(changed)),
            None => (
                Evaluated {
                    results: rules
                        .iter()
                        .map(|r| vec![LeafResult::Failed("not evaluated".into()); r.leaves.len()])
                        .collect(),
                    hints: rules.iter().map(|r| vec![None; r.leaves.len()]).collect(),
                    fuel: 0,
                },
                None,
            ),
        };
        let mut by_plugin: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
        for (r, rule) in rules.iter().enumerate() {
            if rule.paused.is_some() {
                // A paused rule is reported, not evaluated.
                continue;
            }
            for (l, (_, leaf)) in rule.leaves.iter().enumerate() {
                if changed.is_some_and(|c| !reads(&leaf.plugin).meets(c)) {
                    continue;
                }
                by_plugin
                    .entry(leaf.plugin.as_str())
                    .or_default()
                    .push((r, l));
            }
        }
        if by_plugin.is_empty() {
            return out;
        }
        let prepared = PreparedContext::new(ctx);
        for (name, uses) in by_plugin {
            let configs: Vec<String> = uses
                .iter()
                .map(|(r, l)| rules[*r].configs[*l].clone())
                .collect();
            let plugin = installations
                .get(name)
                .filter(|i| i.enabled)
                .map(|i| i.plugin().clone());
            let run = self.native_evaluate(name, ctx, &configs).or_else(|| {
                plugin.map(|p| {
                    let started = Instant::now();
                    let run = p.evaluate_in(session, &prepared, &configs, sandbox);
                    self.metrics
                        .plugin_time
                        .observe(started.elapsed().as_secs_f64());
                    run
                })
            });
            let Some(run) = run else {
                for (r, l) in uses {
                    out.hints[r][l] = None;
                    out.results[r][l] = LeafResult::Failed(format!(
                        "plugin `{name}` is not installed for this tenant"
                    ));
                }
                continue;
            };
            out.fuel += run.stats.fuel_used;
            match run.result {
                Ok(answers) => {
                    for ((r, l), answer) in uses.into_iter().zip(answers) {
                        out.results[r][l] = match answer {
                            Ok(v) => {
                                out.hints[r][l] = v.changes_at.map(|at| at.timestamp_millis());
                                LeafResult::Answer(v.matches)
                            }
                            Err(e) => {
                                out.hints[r][l] = None;
                                LeafResult::Failed(format!("plugin `{name}`: {e}"))
                            }
                        };
                    }
                }
                Err(e) => {
                    for (r, l) in uses {
                        out.hints[r][l] = None;
                        out.results[r][l] = LeafResult::Failed(format!("plugin `{name}`: {e}"));
                    }
                }
            }
        }
        out
    }

    /// The natively linked plugin's answers, in the benchmark's native mode.
    #[cfg(feature = "native-plugins")]
    fn native_evaluate(&self, name: &str, ctx: &Context, configs: &[String]) -> Option<EvalRun> {
        let f = self.native.as_ref()?.get(name)?;
        Some(crate::runtime::Run {
            result: Ok((f.evaluate)(ctx, configs)),
            stats: Default::default(),
        })
    }

    #[cfg(not(feature = "native-plugins"))]
    fn native_evaluate(&self, _: &str, _: &Context, _: &[String]) -> Option<EvalRun> {
        None
    }

    /// The natively linked action's effects, in the benchmark's native mode.
    #[cfg(feature = "native-plugins")]
    fn native_execute(&self, name: &str, config: &str, ctx: &Context) -> Option<ExecRun> {
        let f = self.native.as_ref()?.get(name)?;
        Some(crate::runtime::Run {
            result: Ok((f.execute)(config, ctx)),
            stats: Default::default(),
        })
    }

    #[cfg(not(feature = "native-plugins"))]
    fn native_execute(&self, _: &str, _: &str, _: &Context) -> Option<ExecRun> {
        None
    }

    /// Run the actions of a rule whose conditions matched: all their effects, or the first error.
    /// An action plugin's instance is kept for the event's later calls of it (`session`).
    pub(super) fn run_actions(
        &self,
        rule: &LoadedRule,
        installations: &Installations,
        ctx: &Context,
        sandbox: &Sandbox,
        session: &mut Session,
    ) -> (Result<Vec<Effect>, String>, u64) {
        let prepared = PreparedContext::new(ctx);
        let mut effects = Vec::new();
        let mut fuel = 0;
        for (i, action) in rule.spec.actions.iter().enumerate() {
            let Some(installed) = installations.get(&action.plugin).filter(|i| i.enabled) else {
                return (
                    Err(format!(
                        "actions[{i}]: plugin `{}` is not installed for this tenant",
                        action.plugin
                    )),
                    fuel,
                );
            };
            let config = &rule.action_configs[i];
            let mut action_sandbox = installed.action_sandbox(sandbox);
            if let Some(own) = rule.action_secrets(i) {
                action_sandbox.secrets = own.clone();
            }
            let secrets = action_sandbox.secrets.clone();
            let started = Instant::now();
            let run = self
                .native_execute(&action.plugin, config, ctx)
                .unwrap_or_else(|| {
                    installed
                        .plugin()
                        .execute_in(session, config, &prepared, &action_sandbox)
                });
            self.metrics
                .plugin_time
                .observe(started.elapsed().as_secs_f64());
            fuel += run.stats.fuel_used;
            match run.result {
                Ok(Ok(mut e)) => effects.append(&mut e),
                Ok(Err(e)) => {
                    let text = format!("actions[{i}] (plugin `{}`): {e}", action.plugin);
                    return (Err(redact(&secrets, text)), fuel);
                }
                Err(e) => {
                    let text = format!("actions[{i}] (plugin `{}`): {e}", action.plugin);
                    return (Err(redact(&secrets, text)), fuel);
                }
            }
        }
        (Ok(effects), fuel)
    }
}
