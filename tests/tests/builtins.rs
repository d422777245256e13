//! Every built-in plugin, as the component the build compiled, in the real runtime.

use ferrule_host::builtin;
use ferrule_host::runtime::{Grants, Limits, Plugin, PreparedContext, Sandbox, StaticDirectory};
use ferrule_plugin_sdk::testing::{self, at};
use ferrule_tests::fake_services;
use ferrule_types::{Agent, Calendar, Context, Effect, PluginError, PluginKind};
use std::sync::Arc;

fn load(folder: &str) -> Plugin {
    let bytes = builtin::component(folder).unwrap_or_else(|| panic!("no built-in `{folder}`"));
    ferrule_host::testing::runtime()
        .load(bytes)
        .unwrap_or_else(|e| panic!("{folder}: {e}"))
}

/// Evaluate each config once, in one call, as the engine does.
fn evaluate(plugin: &Plugin, ctx: &Context, configs: &[&str]) -> Vec<Result<bool, PluginError>> {
    evaluate_in(plugin, ctx, configs, Sandbox::new(Limits::CONDITION))
}

fn evaluate_in(
    plugin: &Plugin,
    ctx: &Context,
    configs: &[&str],
    sandbox: Sandbox,
) -> Vec<Result<bool, PluginError>> {
    let configs: Vec<String> = configs.iter().map(|c| (*c).to_owned()).collect();
    let run = plugin.evaluate(&PreparedContext::new(ctx), &configs, &sandbox);
    run.result
        .expect("the sandbox ran the plugin")
        .into_iter()
        .map(|r| r.map(|v| v.matches))
        .collect()
}

fn execute(
    plugin: &Plugin,
    ctx: &Context,
    config: &str,
    sandbox: &Sandbox,
) -> Result<Vec<Effect>, PluginError> {
    plugin
        .execute(config, &PreparedContext::new(ctx), sandbox)
        .result
        .expect("the sandbox ran the plugin")
}

#[test]
fn every_built_in_plugin_loads_and_describes_itself() {
    // DESIGN.md's catalog, in its order.
    let expected = [
        ("source", PluginKind::Condition),
        ("subject-contains", PluginKind::Condition),
        ("working-hours", PluginKind::Condition),
        ("allegro-account", PluginKind::Condition),
        ("status", PluginKind::Condition),
        ("message-contains", PluginKind::Condition),
        ("customer-name-contains", PluginKind::Condition),
        ("sender-email", PluginKind::Condition),
        ("day-of-week", PluginKind::Condition),
        ("hour", PluginKind::Condition),
        ("integration", PluginKind::Condition),
        ("inbox", PluginKind::Condition),
        ("inbox-group", PluginKind::Condition),
        ("category", PluginKind::Condition),
        ("priority", PluginKind::Condition),
        ("ticket-type", PluginKind::Condition),
        ("tag", PluginKind::Condition),
        ("assignee", PluginKind::Condition),
        ("event", PluginKind::Condition),
        ("tag-added", PluginKind::Condition),
        ("status-set", PluginKind::Condition),
        ("reply-status", PluginKind::Condition),
        ("last-customer-reply", PluginKind::Condition),
        ("last-agent-reply", PluginKind::Condition),
        ("ticket-created", PluginKind::Condition),
        ("ticket-closed", PluginKind::Condition),
        ("in-status-for", PluginKind::Condition),
        ("assigned-for", PluginKind::Condition),
        ("set-status", PluginKind::Action),
        ("set-category", PluginKind::Action),
        ("set-priority", PluginKind::Action),
        ("assign-agent", PluginKind::Action),
        ("unassign", PluginKind::Action),
        ("add-tags", PluginKind::Action),
        ("remove-tags", PluginKind::Action),
        ("send-message", PluginKind::Action),
        ("send-translated-message", PluginKind::Action),
        ("ai-reply", PluginKind::Action),
        ("send-email", PluginKind::Action),
        ("notify-user", PluginKind::Action),
        ("send-sms", PluginKind::Action),
    ];
    for (name, kind) in expected {
        let plugin = load(name);
        let d = plugin.description();
        assert_eq!((d.name.as_str(), d.kind), (name, kind));
        assert_eq!(d.version, "0.1.0");
        assert!(
            d.config_schema["type"] == "object",
            "{name} publishes its config schema"
        );
        assert!(!d.summary.is_empty());
    }
    assert_eq!(
        builtin::COMPONENTS.len(),
        expected.len(),
        "a test covers every built-in plugin"
    );
}

#[test]
fn source_matches_listed_channels_in_one_batched_call() {
    let mut ctx = testing::context();
    ctx.ticket.source = "allegro-discussions".into();
    let answers = evaluate(
        &load("source"),
        &ctx,
        &[
            r#"{"is": ["allegro-discussions"]}"#,
            r#"{"is": ["email"]}"#,
            r#"{"is": 5}"#,
        ],
    );
    assert_eq!(answers[0], Ok(true));
    assert_eq!(answers[1], Ok(false));
    assert!(
        matches!(&answers[2], Err(PluginError::InvalidConfig { path, .. }) if path == "is"),
        "{:?}",
        answers[2]
    );
}

#[test]
fn subject_contains_matches_polish_and_russian_in_upper_case() {
    let plugin = load("subject-contains");
    let mut ctx = testing::context();
    ctx.ticket.subject = "ZWROT TOWARU — ВОЗВРАТ ТОВАРА".into();
    let answers = evaluate(
        &plugin,
        &ctx,
        &[
            r#"{"phrases": ["zwrot"]}"#,
            r#"{"phrases": ["возврат товара"]}"#,
            r#"{"phrases": ["reklamacja"]}"#,
            r#"{"phrases": ["zwrot", "reklamacja"], "match": "all"}"#,
        ],
    );
    assert_eq!(answers, vec![Ok(true), Ok(true), Ok(false), Ok(false)]);
}

#[test]
fn working_hours_uses_time_zones_holidays_and_the_directory() {
    let plugin = load("working-hours");
    let calendar = r#"{"timezone": "Europe/Warsaw", "weekly": {"mon": [["08:00", "16:00"]]}, "holidays": ["2026-11-23"]}"#;
    let config = format!(r#"{{"calendar": {calendar}}}"#);
    let mut ctx = testing::context();
    ctx.now = at("2026-11-16T07:30:00Z"); // Monday 08:30 in Warsaw
    assert_eq!(evaluate(&plugin, &ctx, &[&config]), vec![Ok(true)]);
    ctx.now = at("2026-11-16T06:30:00Z"); // 07:30 in Warsaw
    assert_eq!(evaluate(&plugin, &ctx, &[&config]), vec![Ok(false)]);
    ctx.now = at("2026-11-23T09:00:00Z"); // a holiday Monday
    assert_eq!(evaluate(&plugin, &ctx, &[&config]), vec![Ok(false)]);

    // The assignee's calendar comes from the host's directory through the `directory` import.
    let hours: Calendar = serde_json::from_str(calendar).unwrap();
    let agent = Agent {
        id: "anna".into(),
        name: "Anna".into(),
        email: None,
        phone: None,
        working_hours: Some(hours),
    };
    let sandbox = Sandbox::new(Limits::CONDITION)
        .with_directory(Arc::new(StaticDirectory::new().with_agent(agent)));
    ctx.ticket.assignee = Some("anna".into());
    ctx.now = at("2026-11-16T07:30:00Z");
    assert_eq!(
        evaluate_in(&plugin, &ctx, &[r#"{"of": "assignee"}"#], sandbox.clone()),
        vec![Ok(true)]
    );
    ctx.ticket.assignee = Some("nobody".into());
    let answers = evaluate_in(&plugin, &ctx, &[r#"{"of": "assignee"}"#], sandbox);
    assert!(
        matches!(&answers[0], Err(e) if e.to_string().contains("nobody")),
        "{answers:?}"
    );
}

#[test]
fn working_hours_tells_the_scheduler_when_it_changes() {
    let plugin = load("working-hours");
    let config =
        r#"{"calendar": {"timezone": "Europe/Warsaw", "weekly": {"mon": [["08:00", "16:00"]]}}}"#
            .to_owned();
    let mut ctx = testing::context();
    ctx.now = at("2026-11-16T10:00:00Z");
    let run = plugin.evaluate(
        &PreparedContext::new(&ctx),
        &[config],
        &Sandbox::new(Limits::CONDITION),
    );
    let verdict = run.result.unwrap().remove(0).unwrap();
    assert_eq!(verdict.changes_at, Some(at("2026-11-16T15:00:00Z")));
}

#[test]
fn allegro_account_routes_by_connected_account() {
    let plugin = load("allegro-account");
    let mut ctx = testing::context();
    ctx.ticket.source = "allegro-messages".into();
    ctx.ticket.account = Some("sklep_kowalski".into());
    let answers = evaluate(
        &plugin,
        &ctx,
        &[
            r#"{"is": ["sklep_kowalski"]}"#,
            r#"{"is": ["outlet_nowak"]}"#,
        ],
    );
    assert_eq!(answers, vec![Ok(true), Ok(false)]);
}

#[test]
fn send_message_fills_placeholders_and_validation_catches_unknown_ones() {
    let plugin = load("send-message");
    let config = r#"{"body": "Dzień dobry {{customer.name}}, zgłoszenie #{{ticket.number}} ({{ticket.subject}}) przyjęte."}"#;
    let effects = execute(
        &plugin,
        &testing::context(),
        config,
        &Sandbox::new(Limits::ACTION),
    )
    .unwrap();
    assert_eq!(
        effects,
        vec![Effect::Reply {
            body:
                "Dzień dobry Jan Kowalski, zgłoszenie #1042 (Zamówienie 1042 nie dotarło) przyjęte."
                    .into(),
            subject: None,
            language: None,
        }]
    );
    let invalid = plugin.validate(
        r#"{"body": "Hi {{customer.nam}}"}"#,
        &Sandbox::new(Limits::ACTION),
    );
    match invalid.result.unwrap() {
        Err(PluginError::InvalidConfig { path, message }) => {
            assert_eq!(path, "body");
            assert!(message.contains("customer.nam"), "{message}");
        }
        other => panic!("expected an invalid config, got {other:?}"),
    }
}

#[test]
fn set_status_sets_the_status() {
    let effects = execute(
        &load("set-status"),
        &testing::context(),
        r#"{"status": "waiting-for-customer"}"#,
        &Sandbox::new(Limits::ACTION),
    )
    .unwrap();
    assert_eq!(
        effects,
        vec![Effect::SetStatus {
            status: "waiting-for-customer".into()
        }]
    );
}

#[test]
fn send_translated_message_speaks_libretranslate() {
    let server = fake_services::start();
    let plugin = load("send-translated-message");
    let config = format!(
        r#"{{"body": "Dzień dobry {{{{customer.name}}}}, dziękujemy.", "language": "de", "endpoint": "{}", "api_key": "k-123"}}"#,
        server.url()
    );
    let sandbox = Sandbox::new(Limits::ACTION).with_grants(Grants {
        http: vec![server.authority()],
    });
    let effects = execute(&plugin, &testing::context(), &config, &sandbox).unwrap();
    assert_eq!(
        effects,
        vec![Effect::Reply {
            body: "[de] Guten Tag Jan Kowalski, dziękujemy.".into(),
            subject: None,
            language: Some("de".into()),
        }]
    );
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/translate");
    assert_eq!(sent.body["q"], "Dzień dobry Jan Kowalski, dziękujemy.");
    assert_eq!(sent.body["target"], "de");
    assert_eq!(sent.body["source"], "auto");
    assert_eq!(sent.body["api_key"], "k-123");
}

#[test]
fn send_translated_message_without_a_grant_is_denied() {
    let server = fake_services::start();
    let config = format!(
        r#"{{"body": "Hi", "language": "de", "endpoint": "{}"}}"#,
        server.url()
    );
    let run = load("send-translated-message").execute(
        &config,
        &PreparedContext::new(&testing::context()),
        &Sandbox::new(Limits::ACTION),
    );
    assert!(
        matches!(
            run.result,
            Err(ferrule_host::runtime::RunError::CapabilityDenied(_))
        ),
        "{:?}",
        run.result
    );
    assert!(server.requests().is_empty());
}

#[test]
fn ai_reply_speaks_openai_chat_completions() {
    let server = fake_services::start();
    let plugin = load("ai-reply");
    let config = format!(
        r#"{{"endpoint": "{}", "model": "local-llama", "instructions": "Odpowiadaj uprzejmie po polsku.", "api_key": "sk-test"}}"#,
        server.url()
    );
    let sandbox = Sandbox::new(Limits::ACTION).with_grants(Grants {
        http: vec![server.authority()],
    });
    let effects = execute(&plugin, &testing::context(), &config, &sandbox).unwrap();
    assert!(
        matches!(&effects[..], [Effect::Reply { body, .. }] if body.starts_with("Dzień dobry! Sprawdzimy")),
        "{effects:?}"
    );
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.headers["authorization"], "Bearer sk-test");
    assert_eq!(sent.body["model"], "local-llama");
    assert_eq!(sent.body["messages"][0]["role"], "system");
    assert_eq!(
        sent.body["messages"][0]["content"],
        "Odpowiadaj uprzejmie po polsku."
    );
    let prompt = sent.body["messages"][1]["content"].as_str().unwrap();
    assert!(
        prompt.contains("Zamówienie 1042 nie dotarło"),
        "the subject is in the prompt: {prompt}"
    );
    assert!(
        prompt.contains("paczka z zamówienia 1042 nie dotarła"),
        "the message is in the prompt: {prompt}"
    );
}

#[test]
fn ai_reply_reports_an_unreachable_service_as_unavailable() {
    let sandbox = Sandbox::new(Limits::ACTION).with_grants(Grants {
        http: vec!["127.0.0.1:9".into()],
    });
    let config = r#"{"endpoint": "http://127.0.0.1:9", "model": "m", "instructions": "x"}"#;
    let result = execute(&load("ai-reply"), &testing::context(), config, &sandbox);
    assert!(
        matches!(result, Err(PluginError::Unavailable { .. })),
        "{result:?}"
    );
}
