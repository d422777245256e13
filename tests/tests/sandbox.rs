//! Hostile components end as their typed error within 2 s, and the runtime keeps serving.

use ferrule_host::runtime::{Grants, Limits, Plugin, PreparedContext, RunError, Runtime, Sandbox};
use ferrule_plugin_sdk::testing;
use ferrule_tests::{components, fake_services};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

fn runtime() -> Arc<Runtime> {
    ferrule_host::testing::runtime()
}

fn hostile_condition() -> &'static Plugin {
    static P: OnceLock<Plugin> = OnceLock::new();
    P.get_or_init(|| {
        runtime()
            .load(components::HOSTILE_CONDITION)
            .expect("hostile condition loads")
    })
}

fn hostile_action() -> &'static Plugin {
    static P: OnceLock<Plugin> = OnceLock::new();
    P.get_or_init(|| {
        runtime()
            .load(components::HOSTILE_ACTION)
            .expect("hostile action loads")
    })
}

fn ctx() -> PreparedContext {
    PreparedContext::new(&testing::context())
}

/// Run one attack; return its error and check it ended within 2 s.
fn attack(attack: &str) -> RunError {
    let plugin = hostile_condition(); // loaded (compiled) before the clock starts
    let config = format!(r#"{{"attack": "{attack}"}}"#);
    let started = Instant::now();
    let run = plugin.evaluate(&ctx(), &[config], &Sandbox::new(Limits::CONDITION));
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(2),
        "{attack} took {elapsed:?}"
    );
    let error = run.result.expect_err("the attack must fail the run");
    assert_still_serving();
    error
}

/// The same plugin, and another one, still answer normally afterwards.
fn assert_still_serving() {
    let run = hostile_condition().evaluate(
        &ctx(),
        &[r#"{"attack": "none"}"#.to_owned()],
        &Sandbox::new(Limits::CONDITION),
    );
    assert!(
        run.result.unwrap()[0].as_ref().unwrap().matches,
        "the plugin serves the next call"
    );
}

#[test]
fn an_infinite_loop_times_out_or_runs_out_of_fuel() {
    let error = attack("loop");
    assert!(
        matches!(error, RunError::Timeout(_) | RunError::OutOfFuel(_)),
        "{error:?}"
    );
}

#[test]
fn an_infinite_loop_with_unlimited_fuel_hits_the_wall_clock_timeout() {
    let limits = Limits {
        fuel: u64::MAX / 2,
        timeout_ms: 300,
        ..Limits::CONDITION
    };
    let plugin = hostile_condition(); // loaded (compiled) before the clock starts
    let started = Instant::now();
    let run = plugin.evaluate(
        &ctx(),
        &[r#"{"attack": "loop"}"#.to_owned()],
        &Sandbox::new(limits),
    );
    assert_eq!(run.result.unwrap_err(), RunError::Timeout(300));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_loop_with_little_fuel_runs_out_of_fuel() {
    let limits = Limits {
        fuel: 1_000_000,
        ..Limits::CONDITION
    };
    let run = hostile_condition().evaluate(
        &ctx(),
        &[r#"{"attack": "loop"}"#.to_owned()],
        &Sandbox::new(limits),
    );
    assert_eq!(run.result.unwrap_err(), RunError::OutOfFuel(1_000_000));
    assert!(
        run.stats.fuel_used >= 1_000_000 - 1000,
        "fuel used is reported: {}",
        run.stats.fuel_used
    );
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let error = attack("memory");
    assert_eq!(error, RunError::MemoryLimit(Limits::CONDITION.memory_bytes));
}

#[test]
fn deep_recursion_is_a_stack_overflow() {
    assert_eq!(attack("recursion"), RunError::StackOverflow);
}

#[test]
fn overflowing_the_stack_in_linear_memory_is_a_trap() {
    match attack("stack-hog") {
        RunError::Trap(what) => assert!(what.contains("out of bounds"), "{what}"),
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn a_panic_is_reported_with_its_message() {
    match attack("panic") {
        RunError::Panic(message) => {
            assert!(message.contains("hostile plugin gives up"), "{message}")
        }
        other => panic!("expected a panic, got {other:?}"),
    }
}

#[test]
fn reading_a_file_is_denied() {
    match attack("file") {
        RunError::CapabilityDenied(what) => assert!(what.contains("wasi:filesystem"), "{what}"),
        other => panic!("expected capability denied, got {other:?}"),
    }
}

#[test]
fn the_environment_is_empty() {
    assert!(
        std::env::vars().count() > 0,
        "the host has variables to leak"
    );
    let run = hostile_condition().evaluate(
        &ctx(),
        &[r#"{"attack": "env"}"#.to_owned()],
        &Sandbox::new(Limits::CONDITION),
    );
    let answer = run
        .result
        .expect("reading the environment is allowed, it is just empty")
        .remove(0);
    assert_eq!(
        answer,
        Err(ferrule_types::PluginError::Failed {
            message: "read the environment: []".into()
        })
    );
}

#[test]
fn reading_the_clock_is_denied() {
    match attack("clock") {
        RunError::CapabilityDenied(what) => assert!(what.contains("wasi:clocks"), "{what}"),
        other => panic!("expected capability denied, got {other:?}"),
    }
}

#[test]
fn a_huge_output_is_invalid_output() {
    match attack("huge-output") {
        RunError::InvalidOutput(what) => assert!(what.contains("limit"), "{what}"),
        other => panic!("expected invalid output, got {other:?}"),
    }
}

#[test]
fn logs_and_prints_are_capped_at_the_log_budget() {
    let run = hostile_condition().evaluate(
        &ctx(),
        &[r#"{"attack": "chatty"}"#.to_owned()],
        &Sandbox::new(Limits::CONDITION),
    );
    assert!(run.result.is_ok(), "printing is allowed: {:?}", run.result);
    let bytes: usize = run.stats.logs.iter().map(|l| l.message.len()).sum();
    assert!(
        bytes <= Limits::CONDITION.log_bytes + 64,
        "kept {bytes} bytes of log"
    );
    assert!(
        run.stats.logs.iter().any(|l| l.level == "info"),
        "log lines are kept"
    );
}

#[test]
fn too_many_effects_are_invalid_output() {
    let run = hostile_action().execute(
        r#"{"attack": "many-effects"}"#,
        &ctx(),
        &Sandbox::new(Limits::ACTION),
    );
    match run.result {
        Err(RunError::InvalidOutput(what)) => assert!(what.contains("10000 effects"), "{what}"),
        other => panic!("expected invalid output, got {other:?}"),
    }
}

#[test]
fn an_overlong_reply_is_invalid_output() {
    let run = hostile_action().execute(
        r#"{"attack": "long-string"}"#,
        &ctx(),
        &Sandbox::new(Limits::ACTION),
    );
    assert!(
        matches!(run.result, Err(RunError::InvalidOutput(_))),
        "{:?}",
        run.result
    );
}

fn http_attack(
    url: &str,
    swallow: bool,
    grants: &[String],
) -> ferrule_host::runtime::Run<Result<Vec<ferrule_types::Effect>, ferrule_types::PluginError>> {
    let attack = if swallow { "http-swallow" } else { "http" };
    let config = format!(r#"{{"attack": "{attack}", "url": "{url}"}}"#);
    let sandbox = Sandbox::new(Limits::ACTION).with_grants(Grants {
        http: grants.to_vec(),
    });
    let plugin = hostile_action(); // loaded (compiled) before the clock starts
    let started = Instant::now();
    let run = plugin.execute(&config, &ctx(), &sandbox);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    run
}

#[test]
fn http_to_a_granted_host_works() {
    let server = fake_services::start();
    let run = http_attack(
        &format!("{}/hello", server.url()),
        false,
        &[server.authority()],
    );
    let effects = run.result.unwrap().unwrap();
    assert!(format!("{effects:?}").contains("hello from the fake service"));
}

#[test]
fn http_to_a_host_that_is_not_granted_is_denied() {
    let server = fake_services::start();
    let other = fake_services::start();
    let run = http_attack(
        &format!("{}/hello", other.url()),
        false,
        &[server.authority()],
    );
    match run.result {
        Err(RunError::CapabilityDenied(what)) => {
            assert!(what.contains(&other.authority()), "{what}")
        }
        other => panic!("expected capability denied, got {other:?}"),
    }
    assert!(
        other.requests().is_empty(),
        "the request never left the host"
    );
}

#[test]
fn a_denied_request_fails_the_run_even_when_the_plugin_ignores_the_error() {
    let granted = fake_services::start();
    let run = http_attack("http://127.0.0.1:9/", true, &[granted.authority()]);
    assert!(
        matches!(run.result, Err(RunError::CapabilityDenied(_))),
        "{:?}",
        run.result
    );
}

#[test]
fn a_redirect_to_a_host_that_is_not_granted_is_denied() {
    let granted = fake_services::start();
    let other = fake_services::start();
    let url = format!("{}/redirect?to={}/hello", granted.url(), other.url());
    let run = http_attack(&url, false, &[granted.authority()]);
    assert!(
        matches!(run.result, Err(RunError::CapabilityDenied(_))),
        "{:?}",
        run.result
    );
    assert!(
        other.requests().is_empty(),
        "the redirect target was never contacted"
    );
}

#[test]
fn a_redirect_within_granted_hosts_is_followed() {
    let granted = fake_services::start();
    let url = format!("{}/redirect?to={}/hello", granted.url(), granted.url());
    let run = http_attack(&url, false, &[granted.authority()]);
    let effects = run.result.unwrap().unwrap();
    assert!(format!("{effects:?}").contains("hello from the fake service"));
}
