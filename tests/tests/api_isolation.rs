//! A hostile vendor plugin, uploaded through the real upload path and enabled by one tenant,
//! tries to exhaust the machine with many concurrent events (an endless loop and a memory bomb
//! on every event). Another tenant's events keep their latency.
//!
//! This test measures wall-clock latency, so `.config/nextest.toml` runs it alone.

use ferrule_tests::components::HOSTILE_CONDITION;
use ferrule_tests::server::{Client, TestServer};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn post_ticket(c: &Client, subject: &str) -> Duration {
    let started = Instant::now();
    let r = c.send(
        "POST",
        "/tickets",
        &json!({"subject": subject, "source": "email", "customer": {"name": "Jan"},
                "message": {"body": "Dzień dobry"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    started.elapsed()
}

fn median(c: &Client, n: usize) -> Duration {
    let mut times: Vec<Duration> = (0..n)
        .map(|i| post_ticket(c, &format!("Gdzie jest paczka {i}?")))
        .collect();
    times.sort();
    times[n / 2]
}

#[test]
fn another_tenants_latency_stays_within_twice_normal_during_a_plugin_attack() {
    let server = Arc::new(TestServer::start());
    let op = server.operator.clone();
    assert_eq!(server.upload(&op, HOSTILE_CONDITION, None).status, 201);

    let attacker = server.tenant("Attacker");
    let victim = server.tenant("Victim");
    let a = server.as_tenant(&attacker);
    let v = server.as_tenant(&victim);
    a.send(
        "PUT",
        "/installations/hostile-condition",
        &json!({"enabled": true}),
    );
    // Every attacking ticket: a call that spins until its fuel or time runs out, then a
    // memory bomb.
    a.post_ok(
        "/rules",
        json!({"name": "Burn CPU", "trigger": {"events": ["ticket_created"]},
               "conditions": {"plugin": "hostile-condition", "config": {"attack": "loop"}},
               "actions": [{"plugin": "add-tags", "config": {"tags": ["never"]}}]}),
        201,
    );
    a.post_ok(
        "/rules",
        json!({"name": "Burn memory", "trigger": {"events": ["customer_message"]},
               "conditions": {"plugin": "hostile-condition", "config": {"attack": "memory"}},
               "actions": [{"plugin": "add-tags", "config": {"tags": ["never"]}}]}),
        201,
    );
    v.post_ok(
        "/rules",
        json!({"name": "Parcels", "trigger": {"events": ["ticket_created"]},
               "conditions": {"plugin": "subject-contains", "config": {"phrases": ["paczka"]}},
               "actions": [{"plugin": "add-tags", "config": {"tags": ["parcel"]}}]}),
        201,
    );
    // Warm up (compiled code, caches), then the normal latency.
    median(&v, 5);
    let normal = median(&v, 41);

    let stop = Arc::new(AtomicBool::new(false));
    let attacks = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (server, attacker, stop, attacks) = (
                server.clone(),
                attacker.clone(),
                stop.clone(),
                attacks.clone(),
            );
            std::thread::spawn(move || {
                let a = server.as_tenant(&attacker);
                while !stop.load(Ordering::Relaxed) {
                    post_ticket(&a, "attack");
                    attacks.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Let the attack fill its slots and queue up.
    std::thread::sleep(Duration::from_millis(1500));
    let under_attack = median(&v, 41);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    eprintln!(
        "victim median latency: normal {normal:?}, under attack {under_attack:?}; attacker events done: {}",
        attacks.load(Ordering::Relaxed)
    );
    assert!(
        under_attack <= normal * 2,
        "victim median {under_attack:?} under attack vs {normal:?} normally"
    );

    // The victim's rules all fired; the attacker's runs failed with the sandbox's reasons.
    let victim_runs = v.get("/runs").body["runs"].as_array().unwrap().clone();
    assert!(victim_runs.iter().all(|r| r["outcome"] == "fired"));
    let attack_runs = a.get("/runs?limit=500").body["runs"]
        .as_array()
        .unwrap()
        .clone();
    let errors: Vec<&str> = attack_runs
        .iter()
        .filter(|r| r["outcome"] == "failed")
        .filter_map(|r| r["error"].as_str())
        .collect();
    assert_eq!(
        errors.len(),
        attack_runs.len(),
        "every attacking run failed"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("out of fuel") || e.contains("timed out")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("memory")), "{errors:?}");
}
