//! Run records as typed values, serialised once when the chain is written (the JSON shape
//! `GET /runs` shows; fields that do not apply to an outcome are left out).

use super::LoadedRule;
use super::tree::LeafResult;
use crate::domain::rule::RuleSpec;
use ferrule_types::{Effect, Event};
use serde::{Serialize, Serializer};
use std::sync::Arc;

/// A not-matched run as stored.
#[derive(Serialize, serde::Deserialize)]
struct Compact {
    /// Each leaf's answer: `T`, `F` or `S` (skipped).
    a: String,
    /// The event.
    e: Event,
    /// Fuel.
    f: u64,
    /// Microseconds.
    d: u64,
}

/// What one condition leaf answered in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The plugin's answer.
    Is(bool),
    /// Not needed: the tree was decided without it.
    Skipped,
    /// The plugin failed (see `error`).
    Failed,
}

impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Answer::Is(b) => s.serialize_bool(*b),
            Answer::Skipped => s.serialize_str("skipped"),
            Answer::Failed => s.serialize_none(),
        }
    }
}

/// One leaf of a run record.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionRecord {
    /// Where the leaf is in the rule (`conditions.all[0]`).
    pub path: Arc<str>,
    /// Its plugin.
    pub plugin: Arc<str>,
    /// Its answer.
    pub result: Answer,
    /// Why it failed.
    pub error: Option<String>,
}

/// Why a rule ran as it did, as stored and shown.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    /// The rule.
    pub rule_id: i64,
    /// Its revision that ran.
    pub rule_revision: i64,
    /// Its name at that revision.
    pub rule_name: Arc<str>,
    /// The ticket.
    pub ticket_id: i64,
    /// The event the rule ran for.
    pub event: Event,
    /// `fired`, `not_matched`, `failed`, `skipped`, `paused`, `chain_limit`, `would_fire`.
    pub outcome: &'static str,
    /// Set on dry runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Why the rule did not run (loop protection).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Each leaf's answer, for evaluated rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ConditionRecord>>,
    /// The effects the actions asked for, for evaluated rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effects: Option<Vec<Effect>>,
    /// Fuel of the calls, for evaluated rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// Wall-clock time of the evaluation and the actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_us: Option<u64>,
    /// When the answer may change with no change to the ticket (dry runs of time conditions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_at: Option<String>,
    /// Why the run failed or did not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunRecord {
    /// A record of `rule` on a ticket with only its head filled in.
    pub fn new(rule: &LoadedRule, ticket_id: i64, event: &Event, outcome: &'static str) -> Self {
        RunRecord {
            rule_id: rule.id,
            rule_revision: rule.revision,
            rule_name: rule.name.clone(),
            ticket_id,
            event: event.clone(),
            outcome,
            dry_run: None,
            reason: None,
            conditions: None,
            effects: None,
            fuel: None,
            duration_us: None,
            changes_at: None,
            error: None,
        }
    }

    /// A record of an evaluation: each leaf's answer (`used[i]`: whether leaf `i` decided).
    pub fn evaluated(
        rule: &LoadedRule,
        ticket_id: i64,
        event: &Event,
        leaves: &[LeafResult],
        used: &[bool],
        fuel: u64,
    ) -> Self {
        let conditions = rule
            .leaf_names
            .iter()
            .zip(leaves)
            .zip(used)
            .map(|(((path, plugin), result), used)| {
                let (result, error) = match (used, result) {
                    (false, _) => (Answer::Skipped, None),
                    (true, LeafResult::Answer(b)) => (Answer::Is(*b), None),
                    (true, LeafResult::Failed(e)) => (Answer::Failed, Some(e.clone())),
                };
                ConditionRecord {
                    path: path.clone(),
                    plugin: plugin.clone(),
                    result,
                    error,
                }
            })
            .collect();
        RunRecord {
            conditions: Some(conditions),
            effects: Some(Vec::new()),
            fuel: Some(fuel),
            ..RunRecord::new(rule, ticket_id, event, "not_matched")
        }
    }

    /// Set the outcome from the condition tree's answer: `matched` (its actions run next),
    /// `not_matched`, or `failed` with the error that decided it.
    pub fn settle(&mut self, decided: Result<bool, String>) {
        match decided {
            Ok(true) => self.outcome = "matched",
            Ok(false) => self.outcome = "not_matched",
            Err(e) => self.fail(e),
        }
    }

    /// Mark the run failed.
    pub fn fail(&mut self, error: String) {
        self.outcome = "failed";
        self.error = Some(error);
    }

    /// The compact form of a not-matched run whose leaves all answered (None for any other
    /// run): each leaf's answer as a letter (`T`, `F`, `S` for skipped), the event, fuel and
    /// time. [`RunRecord::from_compact`] rebuilds the full record from it and the rule's
    /// revision.
    pub fn compact(&self) -> Option<String> {
        if self.outcome != "not_matched" || self.error.is_some() {
            return None;
        }
        let answers: Option<String> = self
            .conditions
            .as_ref()?
            .iter()
            .map(|c| match c.result {
                Answer::Is(true) => Some('T'),
                Answer::Is(false) => Some('F'),
                Answer::Skipped => Some('S'),
                Answer::Failed => None,
            })
            .collect();
        let compact = Compact {
            a: answers?,
            e: self.event.clone(),
            f: self.fuel.unwrap_or(0),
            d: self.duration_us.unwrap_or(0),
        };
        serde_json::to_string(&compact).ok()
    }

    /// The full record of a compact one, with the rule's name and leaves from `rule` (the
    /// rule at the revision that ran). None when the two do not fit together.
    pub fn from_compact(
        text: &str,
        rule_id: i64,
        rule_revision: i64,
        ticket_id: i64,
        rule: &RuleSpec,
    ) -> Option<RunRecord> {
        let compact: Compact = serde_json::from_str(text).ok()?;
        let mut leaves = Vec::new();
        rule.conditions.leaves("conditions", &mut leaves);
        if leaves.len() != compact.a.chars().count() {
            return None;
        }
        let conditions = leaves
            .iter()
            .zip(compact.a.chars())
            .map(|((path, leaf), answer)| ConditionRecord {
                path: Arc::from(path.as_str()),
                plugin: Arc::from(leaf.plugin.as_str()),
                result: match answer {
                    'T' => Answer::Is(true),
                    'F' => Answer::Is(false),
                    _ => Answer::Skipped,
                },
                error: None,
            })
            .collect();
        Some(RunRecord {
            rule_id,
            rule_revision,
            rule_name: Arc::from(rule.name.as_str()),
            ticket_id,
            event: compact.e,
            outcome: "not_matched",
            dry_run: None,
            reason: None,
            conditions: Some(conditions),
            effects: Some(Vec::new()),
            fuel: Some(compact.f),
            duration_us: Some(compact.d),
            changes_at: None,
            error: None,
        })
    }

    /// The record as the API shows it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
