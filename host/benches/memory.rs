//! Memory: each built-in plugin's peak linear memory in one call, and the host's resident memory
//! with every built-in plugin loaded. Run with `cargo bench -p ferrule-host --bench memory`.

use ferrule_host::builtin;
use ferrule_host::runtime::{Limits, PreparedContext, Runtime, Sandbox};
use ferrule_plugin_sdk::testing;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    // `cargo bench` passes criterion flags; this target takes none.
    let before = rss_kib();
    let runtime = Runtime::new(None).unwrap();
    let plugins: Vec<_> = builtin::COMPONENTS
        .iter()
        .map(|(_, bytes)| runtime.load(bytes).unwrap())
        .collect();
    let loaded = rss_kib();
    let ctx = PreparedContext::new(&testing::context());
    let configs = [
        ("source", r#"{"is": ["email"]}"#),
        ("subject-contains", r#"{"phrases": ["zwrot"]}"#),
        (
            "working-hours",
            r#"{"calendar": {"timezone": "Europe/Warsaw", "weekly": {"mon": [["08:00", "16:00"]]}}}"#,
        ),
        ("allegro-account", r#"{"is": ["sklep"]}"#),
        (
            "send-message",
            r#"{"body": "Dzień dobry {{customer.name}}"}"#,
        ),
        ("set-status", r#"{"status": "open"}"#),
    ];
    println!("plugin                    peak linear memory");
    for plugin in &plugins {
        let name = &plugin.description().name;
        let Some((_, config)) = configs.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let sandbox = Sandbox::new(Limits::for_kind(plugin.kind()));
        let stats = match plugin.kind() {
            ferrule_types::PluginKind::Condition => {
                plugin.evaluate(&ctx, &[config.to_string()], &sandbox).stats
            }
            ferrule_types::PluginKind::Action => plugin.execute(config, &ctx, &sandbox).stats,
        };
        println!("{name:<25} {:>6} KiB", stats.peak_memory_bytes / 1024);
    }
    println!(
        "host RSS: {} KiB before the runtime, {} KiB with all {} built-in plugins loaded",
        before,
        loaded,
        plugins.len()
    );
}
