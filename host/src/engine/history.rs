//! Reading run records back: stored records as the API shows them, compact ones filled in
//! from the rule's revision.

use super::record::RunRecord;
use super::{Engine, EngineError};
use crate::domain::rule::RuleSpec;
use crate::store::RunRow;
use serde_json::Value;
use std::collections::HashMap;

impl Engine {
    /// Each stored run as its full record JSON (without the row's id and time).
    pub async fn run_records(
        &self,
        tenant: i64,
        rows: &[RunRow],
    ) -> Result<Vec<Value>, EngineError> {
        let mut rules: HashMap<(i64, i64), Option<RuleSpec>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if !row.compact {
                out.push(serde_json::from_str(&row.record).unwrap_or(Value::Null));
                continue;
            }
            let key = (row.rule_id, row.rule_revision);
            if let std::collections::hash_map::Entry::Vacant(slot) = rules.entry(key) {
                let spec = self
                    .store()
                    .rule_definition(tenant, row.rule_id, row.rule_revision)
                    .await?
                    .and_then(|d| serde_json::from_str::<Value>(&d).ok())
                    .and_then(|d| RuleSpec::parse(&d).ok());
                slot.insert(spec);
            }
            let full = rules[&key].as_ref().and_then(|spec| {
                RunRecord::from_compact(
                    &row.record,
                    row.rule_id,
                    row.rule_revision,
                    row.ticket_id,
                    spec,
                )
            });
            out.push(match full {
                Some(record) => record.to_json(),
                // The revision is gone or does not fit: show what is stored, plainly.
                None => serde_json::json!({
                    "rule_id": row.rule_id, "rule_revision": row.rule_revision,
                    "ticket_id": row.ticket_id, "outcome": row.outcome,
                    "compact": serde_json::from_str::<Value>(&row.record).unwrap_or(Value::Null),
                }),
            });
        }
        Ok(out)
    }
}
