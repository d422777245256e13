//! Calling plugins for a rule evaluation: conditions batched one sandboxed call per plugin,
//! actions one call each.

use super::reads::{Parts, reads};
use super::tree::LeafResult;
use super::{Engine, EngineError, Installations, LoadedRule};
use crate::runtime::{Plugin, PreparedContext, Sandbox, redact};
use ferrule_types::{Context, Effect};
use std::collections::HashMap;
use std::sync::Arc;
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

impl Engine {
    /// Evaluate the leaves of several rules against one context: one sandboxed call per plugin.
    pub(super) async fn evaluate_leaves(
        &self,
        rules: &[&LoadedRule],
        installations: &Installations,
        ctx: &Context,
        sandbox: &Sandbox,
    ) -> Result<Evaluated, EngineError> {
        self.reevaluate(rules, installations, ctx, sandbox, None)
            .await
    }

    /// Evaluate again after the ticket changed in `changed` parts: leaves whose plugin reads
    /// none of them keep their `previous` answers (conditions are pure), the others are
    /// called again; with no previous answers, every leaf is evaluated. A round where no leaf
    /// needs a call costs no sandbox and no thread hand-off.
    pub(super) async fn reevaluate(
        &self,
        rules: &[&LoadedRule],
        installations: &Installations,
        ctx: &Context,
        sandbox: &Sandbox,
        previous: Option<(Evaluated, Parts)>,
    ) -> Result<Evaluated, EngineError> {
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
            return Ok(out);
        }
        let prepared = PreparedContext::new(ctx);
        // One blocking task runs every plugin of the round (one sandboxed call each), so the
        // async workers never wait on plugin code and there is one thread hop per round.
        let calls: Vec<(String, Option<Arc<Plugin>>, Vec<String>)> = by_plugin
            .iter()
            .map(|(name, uses)| {
                let configs = uses
                    .iter()
                    .map(|(r, l)| rules[*r].configs[*l].clone())
                    .collect();
                let plugin = installations
                    .get(name)
                    .filter(|i| i.enabled)
                    .map(|i| i.plugin().clone());
                ((*name).to_owned(), plugin, configs)
            })
            .collect();
        let sandbox = sandbox.clone();
        let metrics = self.metrics.clone();
        #[cfg(feature = "native-plugins")]
        let (native, plain) = (self.native.clone(), ctx.clone());
        let slot = self.slot(installations.tenant).await;
        let runs = tokio::task::spawn_blocking(move || {
            let _slot = slot;
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
        for (name, run) in runs {
            let uses = by_plugin.remove(name.as_str()).unwrap_or_default();
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
        Ok(out)
    }

    /// Run the actions of a rule whose conditions matched: all their effects, or the first error.
    pub(super) async fn run_actions(
        &self,
        rule: &LoadedRule,
        installations: &Installations,
        ctx: &Context,
        sandbox: &Sandbox,
    ) -> (Result<Vec<Effect>, String>, u64) {
        let prepared = Arc::new(PreparedContext::new(ctx));
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
            let plugin = installed.plugin().clone();
            let config = rule.action_configs[i].clone();
            let secrets = installed.secrets.clone();
            let (prepared, sandbox) = (prepared.clone(), installed.action_sandbox(sandbox));
            let started = Instant::now();
            #[cfg(feature = "native-plugins")]
            let native = self
                .native
                .as_ref()
                .and_then(|n| n.get(&action.plugin))
                .copied();
            #[cfg(feature = "native-plugins")]
            let plain = ctx.clone();
            let slot = self.slot(installations.tenant).await;
            let run = match tokio::task::spawn_blocking(move || {
                let _slot = slot;
                #[cfg(feature = "native-plugins")]
                if let Some(f) = native {
                    let result = Ok((f.execute)(&config, &plain));
                    return crate::runtime::Run {
                        result,
                        stats: Default::default(),
                    };
                }
                plugin.execute(&config, &prepared, &sandbox)
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
