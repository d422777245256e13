//! The Allegro benchmark: the release `ferrule serve` connects a seller account of the protocol
//! simulator holding N threads × M buyer messages (default 5,000 × 5) and imports them. Prints
//! threads and messages imported per second, API calls per imported message, and the server's
//! peak RSS. `ack` adds a rule that acknowledges every thread, so replies go out meanwhile.
//!
//! `cargo build --release -p ferrule-host --bin ferrule && cargo run --release -p ferrule-tests --bin allegro-bench -- [threads] [messages] [ack|noack] [calls per minute]`

use ferrule_tests::allegro_sim::{AllegroSim, CLIENT_ID, CLIENT_SECRET};
use ferrule_tests::process::Process;
use serde_json::json;
use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> u64 {
    ferrule_tests::process::status_kib(pid, "VmRSS:")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let per: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let ack = args.next().as_deref() == Some("ack");
    // The client id's budget (ferrule's default: Allegro's 9000 calls a minute).
    let budget: String = args.next().unwrap_or_else(|| "9000".into());
    let sim = AllegroSim::start();
    sim.set_device_interval(1);
    sim.seed_threads(threads, per);
    let dir = tempfile::tempdir().unwrap();
    let server = Process::start_with(
        &dir.path().join("bench.db"),
        &[
            "--allegro-client-id",
            CLIENT_ID,
            "--allegro-requests-per-minute",
            &budget,
        ],
        &[("FERRULE_ALLEGRO_CLIENT_SECRET", CLIENT_SECRET)],
    );
    let (_, tenant) = server.call(
        "POST",
        "/tenants",
        Some(&server.operator.clone()),
        Some(&json!({"name": "Sklep", "timezone": "Europe/Warsaw"})),
    );
    let key = tenant["api_key"].as_str().unwrap().to_owned();
    if ack {
        server.call("POST", "/rules", Some(&key), Some(&json!({"name": "Potwierdzenie",
            "trigger": {"events": ["first_customer_message"]}, "conditions": {"all": []},
            "actions": [{"plugin": "send-message", "config": {"body": "Przyjęliśmy zgłoszenie #{{ticket.number}}."}}]})));
    }
    let (_, account) = server.call(
        "POST",
        "/accounts",
        Some(&key),
        Some(&json!({"provider": "allegro",
        "api_base": sim.base(), "auth_base": sim.base(), "poll_seconds": 1})),
    );
    let id = account["id"].as_i64().expect("an account");
    sim.confirm_device(account["user_code"].as_str().unwrap());
    let calls_before = sim.api_calls();
    let mut started = None;
    let mut peak = 0;
    let total = (threads * per) as i64;
    let imported = loop {
        peak = peak.max(rss_kib(server.pid()));
        let (_, shown) = server.call("GET", &format!("/accounts/{id}"), Some(&key), None);
        if started.is_none() && shown["state"] == "connected" {
            started = Some(Instant::now());
        }
        let messages = shown["imported"]["messages"].as_i64().unwrap_or(0);
        if messages >= total {
            break started.map(|s| s.elapsed()).unwrap_or_default();
        }
        if started.is_some_and(|s| s.elapsed() > Duration::from_secs(1800)) {
            panic!("not imported in 30 minutes: {shown}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let calls = sim.api_calls() - calls_before;
    let secs = imported.as_secs_f64();
    println!(
        "{threads} threads × {per} messages{}, budget {budget}/min: imported in {secs:.1} s = {:.0} threads/s, {:.0} messages/s; \
         {calls} API calls = {:.3} per message; peak RSS {:.0} MiB",
        if ack { " (acknowledged)" } else { "" },
        threads as f64 / secs,
        total as f64 / secs,
        calls as f64 / total as f64,
        peak as f64 / 1024.0
    );
}
