//! Counters and histograms for `/metrics` (Prometheus text format), without a metrics crate.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Add one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// The value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// A histogram of seconds.
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; 12],
    count: AtomicU64,
    /// Sum in microseconds.
    sum_us: AtomicU64,
}

impl Histogram {
    /// Record one observation.
    pub fn observe(&self, seconds: f64) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {}",
                self.counts[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum{{{labels}}} {}",
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// Everything `/metrics` reports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Events processed (including chained ones).
    pub events: Counter,
    outcomes: Mutex<BTreeMap<String, &'static Counter>>,
    /// Time of each plugin call.
    pub plugin_time: Histogram,
    /// HTTP request latency.
    pub http_latency: Histogram,
}

impl Metrics {
    /// The counter of rule runs with this outcome.
    pub fn runs(&self, outcome: &str) -> &'static Counter {
        let mut map = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
        // Outcomes are a handful of fixed words; leaking one counter each is bounded.
        map.entry(outcome.to_owned())
            .or_insert_with(|| Box::leak(Box::default()))
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP ferrule_events_processed_total Ticket events processed, chained ones included.\n");
        out.push_str("# TYPE ferrule_events_processed_total counter\n");
        let _ = writeln!(out, "ferrule_events_processed_total {}", self.events.get());
        out.push_str("# HELP ferrule_rule_runs_total Rule evaluations by outcome.\n# TYPE ferrule_rule_runs_total counter\n");
        for (outcome, counter) in self
            .outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "ferrule_rule_runs_total{{outcome=\"{outcome}\"}} {}",
                counter.get()
            );
        }
        out.push_str("# HELP ferrule_plugin_call_seconds Time of one sandboxed plugin call.\n# TYPE ferrule_plugin_call_seconds histogram\n");
        self.plugin_time
            .render(&mut out, "ferrule_plugin_call_seconds", "");
        out.push_str("# HELP ferrule_http_request_seconds HTTP request latency.\n# TYPE ferrule_http_request_seconds histogram\n");
        self.http_latency
            .render(&mut out, "ferrule_http_request_seconds", "");
        out
    }
}
