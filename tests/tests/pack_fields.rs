//! The ticket-field conditions and the field/notification actions (the `pack-fields` plugins), as
//! the components the build compiled, in the real runtime: one batched call per condition, real
//! validation, real effects.

use ferrule_host::builtin;
use ferrule_host::runtime::{Limits, Plugin, PreparedContext, Sandbox, StaticDirectory};
use ferrule_plugin_sdk::testing;
use ferrule_types::{Agent, Context, Effect, PluginError, PluginKind};
use std::sync::Arc;

fn load(folder: &str) -> Plugin {
    let bytes = builtin::component(folder).unwrap_or_else(|| panic!("no built-in `{folder}`"));
    ferrule_host::testing::runtime()
        .load(bytes)
        .unwrap_or_else(|e| panic!("{folder}: {e}"))
}

/// Evaluate each config once, in one call, as the engine does.
fn evaluate(plugin: &Plugin, ctx: &Context, configs: &[&str]) -> Vec<Result<bool, PluginError>> {
    let configs: Vec<String> = configs.iter().map(|c| (*c).to_owned()).collect();
    let run = plugin.evaluate(
        &PreparedContext::new(ctx),
        &configs,
        &Sandbox::new(Limits::CONDITION),
    );
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

/// Validate a config as when a rule is saved: `Ok`, or the path of the invalid value.
fn validate(plugin: &Plugin, config: &str) -> Result<(), String> {
    let limits = match plugin.kind() {
        PluginKind::Condition => Limits::CONDITION,
        PluginKind::Action => Limits::ACTION,
    };
    match plugin
        .validate(config, &Sandbox::new(limits))
        .result
        .expect("the sandbox ran the plugin")
    {
        Ok(()) => Ok(()),
        Err(PluginError::InvalidConfig { path, .. }) => Err(path),
        Err(other) => panic!("expected an invalid config, got {other:?}"),
    }
}

fn action_sandbox() -> Sandbox {
    Sandbox::new(Limits::ACTION)
}

#[test]
fn every_pack_fields_plugin_loads_and_describes_itself() {
    let expected = [
        ("message-contains", PluginKind::Condition),
        ("customer-name-contains", PluginKind::Condition),
        ("sender-email", PluginKind::Condition),
        ("integration", PluginKind::Condition),
        ("inbox", PluginKind::Condition),
        ("inbox-group", PluginKind::Condition),
        ("category", PluginKind::Condition),
        ("priority", PluginKind::Condition),
        ("ticket-type", PluginKind::Condition),
        ("tag", PluginKind::Condition),
        ("assignee", PluginKind::Condition),
        ("set-category", PluginKind::Action),
        ("set-priority", PluginKind::Action),
        ("unassign", PluginKind::Action),
        ("remove-tags", PluginKind::Action),
        ("send-email", PluginKind::Action),
        ("notify-user", PluginKind::Action),
        ("send-sms", PluginKind::Action),
    ];
    for (name, kind) in expected {
        let plugin = load(name);
        let d = plugin.description();
        assert_eq!((d.name.as_str(), d.kind), (name, kind));
        assert_eq!(d.version, "0.1.0");
        assert_eq!(
            d.config_schema["type"], "object",
            "{name} publishes its config schema"
        );
        assert!(!d.summary.is_empty(), "{name} has a summary");
    }
}

#[test]
fn message_contains_reads_the_latest_message_in_any_case_and_script() {
    let plugin = load("message-contains");
    let mut ctx = testing::context();
    if let Some(m) = ctx.latest_message.as_mut() {
        m.body = "PACZKA USZKODZONA — хочу ВОЗВРАТ".into();
    }
    let configs = [
        r#"{"phrases": ["paczka uszkodzona"]}"#,
        r#"{"phrases": ["возврат"]}"#,
        r#"{"phrases": ["faktura"]}"#,
        r#"{"phrases": ["uszkodzona", "faktura"], "match": "all"}"#,
        r#"{"phrases": ["uszkodzona", "возврат"], "match": "all"}"#,
    ];
    assert_eq!(
        evaluate(&plugin, &ctx, &configs),
        vec![Ok(true), Ok(true), Ok(false), Ok(false), Ok(true)]
    );
    ctx.latest_message = None;
    assert_eq!(
        evaluate(&plugin, &ctx, &[configs[0]]),
        vec![Ok(false)],
        "no message, no match"
    );
    assert_eq!(
        validate(&plugin, r#"{"phrases": [" "]}"#),
        Err("phrases".into())
    );
}

#[test]
fn customer_name_contains_matches_any_phrase() {
    let plugin = load("customer-name-contains");
    let mut ctx = testing::context();
    ctx.ticket.customer.name = "ООО «Ромашка»".into();
    assert_eq!(
        evaluate(
            &plugin,
            &ctx,
            &[
                r#"{"phrases": ["sp. z o.o.", "ооо"]}"#,
                r#"{"phrases": ["kowalski"]}"#
            ]
        ),
        vec![Ok(true), Ok(false)]
    );
    assert_eq!(
        validate(&plugin, r#"{"phrases": []}"#),
        Err("phrases".into())
    );
}

#[test]
fn sender_email_matches_addresses_and_domains() {
    let plugin = load("sender-email");
    let mut ctx = testing::context();
    ctx.ticket.customer.email = Some("XYZ123@AllegroMail.pl".into());
    assert_eq!(
        evaluate(
            &plugin,
            &ctx,
            &[
                r#"{"is": ["*@allegromail.pl"]}"#,
                r#"{"is": ["xyz123@allegromail.pl"]}"#,
                r#"{"is": ["*@example.pl", "jan@allegromail.pl"]}"#,
            ]
        ),
        vec![Ok(true), Ok(true), Ok(false)]
    );
    ctx.ticket.customer.email = None;
    assert_eq!(
        evaluate(&plugin, &ctx, &[r#"{"is": ["*@allegromail.pl"]}"#]),
        vec![Ok(false)]
    );
    assert_eq!(
        validate(&plugin, r#"{"is": ["a@example.pl", "example.pl"]}"#),
        Err("is[1]".into())
    );
}

#[test]
fn integration_matches_the_connected_account_on_any_source() {
    let plugin = load("integration");
    let mut ctx = testing::context();
    ctx.ticket.source = "email".into();
    ctx.ticket.account = Some("bok@sklep.pl".into());
    assert_eq!(
        evaluate(
            &plugin,
            &ctx,
            &[
                r#"{"is": ["BOK@sklep.pl"]}"#,
                r#"{"is": ["sklep_kowalski"]}"#
            ]
        ),
        vec![Ok(true), Ok(false)]
    );
    ctx.ticket.account = None;
    assert_eq!(
        evaluate(&plugin, &ctx, &[r#"{"is": ["bok@sklep.pl"]}"#]),
        vec![Ok(false)]
    );
}

#[test]
fn inbox_matches_ids_written_as_strings_or_numbers() {
    let plugin = load("inbox");
    let mut ctx = testing::context();
    ctx.ticket.inbox = Some("3".into());
    assert_eq!(
        evaluate(
            &plugin,
            &ctx,
            &[r#"{"is": ["3"]}"#, r#"{"is": [3, 7]}"#, r#"{"is": ["33"]}"#]
        ),
        vec![Ok(true), Ok(true), Ok(false)]
    );
    ctx.ticket.inbox = None;
    assert_eq!(
        evaluate(&plugin, &ctx, &[r#"{"is": ["3"]}"#]),
        vec![Ok(false)]
    );
    assert_eq!(validate(&plugin, r#"{"is": []}"#), Err("is".into()));
}

#[test]
fn inbox_group_category_priority_and_type_compare_ignoring_case() {
    let mut ctx = testing::context();
    ctx.ticket.inbox_group = Some("Reklamacje".into());
    ctx.ticket.category = Some("Zwroty".into());
    ctx.ticket.priority = Some("high".into());
    ctx.ticket.ticket_type = Some("return".into());
    for (plugin, yes, no) in [
        ("inbox-group", "REKLAMACJE", "sprzedaż"),
        ("category", "zwroty", "reklamacje"),
        ("priority", "HIGH", "normal"),
        ("ticket-type", "Return", "complaint"),
    ] {
        let plugin_ = load(plugin);
        let yes = format!(r#"{{"is": ["{yes}"]}}"#);
        let no = format!(r#"{{"is": ["{no}"]}}"#);
        assert_eq!(
            evaluate(&plugin_, &ctx, &[yes.as_str(), no.as_str()]),
            vec![Ok(true), Ok(false)],
            "{plugin}"
        );
        assert_eq!(
            validate(&plugin_, r#"{"is": ["a", ""]}"#),
            Err("is[1]".into())
        );
    }
    ctx.ticket.priority = None;
    assert_eq!(
        evaluate(&load("priority"), &ctx, &[r#"{"is": ["high"]}"#]),
        vec![Ok(false)],
        "no priority, no match"
    );
}

#[test]
fn tag_matches_any_listed_tag_folded_to_lower_case() {
    let plugin = load("tag");
    let mut ctx = testing::context();
    ctx.ticket.tags = vec!["vip".into(), "zwrot".into()];
    assert_eq!(
        evaluate(
            &plugin,
            &ctx,
            &[
                r#"{"is": ["VIP"]}"#,
                r#"{"is": ["decision", "zwrot"]}"#,
                r#"{"is": ["vi"]}"#
            ]
        ),
        vec![Ok(true), Ok(true), Ok(false)]
    );
}

#[test]
fn assignee_matches_agents_or_nobody_and_needs_exactly_one_form() {
    let plugin = load("assignee");
    let mut ctx = testing::context();
    ctx.ticket.assignee = Some("7".into());
    let configs = [
        r#"{"is": ["3", "7"]}"#,
        r#"{"is": [3]}"#,
        r#"{"unassigned": true}"#,
    ];
    assert_eq!(
        evaluate(&plugin, &ctx, &configs),
        vec![Ok(true), Ok(false), Ok(false)]
    );
    ctx.ticket.assignee = None;
    assert_eq!(
        evaluate(&plugin, &ctx, &configs),
        vec![Ok(false), Ok(false), Ok(true)]
    );
    assert_eq!(validate(&plugin, "{}"), Err(String::new()));
    assert_eq!(
        validate(&plugin, r#"{"is": ["3"], "unassigned": true}"#),
        Err(String::new())
    );
    assert_eq!(
        validate(&plugin, r#"{"unassigned": false}"#),
        Err("unassigned".into())
    );
    assert_eq!(validate(&plugin, r#"{"unassigned": true}"#), Ok(()));
}

#[test]
fn field_actions_ask_for_their_effects() {
    let ctx = testing::context();
    let sandbox = action_sandbox();
    assert_eq!(
        execute(
            &load("set-category"),
            &ctx,
            r#"{"category": " Reklamacje "}"#,
            &sandbox
        ),
        Ok(vec![Effect::SetCategory {
            category: "Reklamacje".into()
        }])
    );
    assert_eq!(
        execute(
            &load("set-priority"),
            &ctx,
            r#"{"priority": "URGENT"}"#,
            &sandbox
        ),
        Ok(vec![Effect::SetPriority {
            priority: "urgent".into()
        }])
    );
    assert_eq!(
        execute(&load("unassign"), &ctx, "{}", &sandbox),
        Ok(vec![Effect::Unassign])
    );
    assert_eq!(
        execute(
            &load("remove-tags"),
            &ctx,
            r#"{"tags": ["VIP", "decision", "vip"]}"#,
            &sandbox
        ),
        Ok(vec![Effect::RemoveTags {
            tags: vec!["vip".into(), "decision".into()]
        }])
    );
    assert_eq!(
        validate(&load("set-category"), r#"{"category": ""}"#),
        Err("category".into())
    );
    assert_eq!(validate(&load("set-priority"), "{}"), Err(String::new()));
    assert_eq!(
        validate(&load("unassign"), r#"{"agent": "3"}"#),
        Err("agent".into())
    );
    assert_eq!(
        validate(&load("remove-tags"), r#"{"tags": []}"#),
        Err("tags".into())
    );
}

#[test]
fn send_email_fills_templates_and_checks_the_recipient() {
    let plugin = load("send-email");
    let ctx = testing::context();
    let config = r#"{"to": "zwroty+{{ticket.number}}@sklep.pl", "subject": "Zwrot #{{ticket.number}}", "body": "Klient {{customer.name}}: {{message.body}}"}"#;
    assert_eq!(
        execute(&plugin, &ctx, config, &action_sandbox()),
        Ok(vec![Effect::SendEmail {
            to: "zwroty+1042@sklep.pl".into(),
            subject: "Zwrot #1042".into(),
            body: "Klient Jan Kowalski: Dzień dobry, paczka z zamówienia 1042 nie dotarła. Proszę o pomoc."
                .into(),
        }])
    );

    // `{{agent.email}}` comes from the host's directory.
    let anna = Agent {
        id: "7".into(),
        name: "Anna Nowak".into(),
        email: Some("anna@sklep.pl".into()),
        phone: None,
        working_hours: None,
    };
    let sandbox =
        action_sandbox().with_directory(Arc::new(StaticDirectory::new().with_agent(anna)));
    let mut assigned = testing::context();
    assigned.ticket.assignee = Some("7".into());
    let to_agent = r##"{"to": "{{agent.email}}", "subject": "#{{ticket.number}}", "body": "{{agent.name}}, zajrzyj."}"##;
    assert_eq!(
        execute(&plugin, &assigned, to_agent, &sandbox),
        Ok(vec![Effect::SendEmail {
            to: "anna@sklep.pl".into(),
            subject: "#1042".into(),
            body: "Anna Nowak, zajrzyj.".into(),
        }])
    );

    // A customer without an e-mail: a clear failure, not a message to nobody.
    let mut no_email = testing::context();
    no_email.ticket.customer.email = None;
    let to_customer = r#"{"to": "{{customer.email}}", "subject": "x", "body": "y"}"#;
    assert!(matches!(
        execute(&plugin, &no_email, to_customer, &action_sandbox()),
        Err(PluginError::Failed { .. })
    ));

    assert_eq!(
        validate(
            &plugin,
            r#"{"to": "{{customer.name}}@sklep.pl", "subject": "x", "body": "y"}"#
        ),
        Err("to".into())
    );
    assert_eq!(
        validate(&plugin, r#"{"to": "magazyn", "subject": "x", "body": "y"}"#),
        Err("to".into())
    );
    assert_eq!(
        validate(
            &plugin,
            r#"{"to": "a@sklep.pl", "subject": "{{ticket.nr}}", "body": "y"}"#
        ),
        Err("subject".into())
    );
    assert_eq!(validate(&plugin, to_customer), Ok(()));
}

#[test]
fn notify_user_names_an_agent_or_the_assignee() {
    let plugin = load("notify-user");
    let mut ctx = testing::context();
    let to_agent = r#"{"user": 12, "subject": "Klient czeka: #{{ticket.number}}", "body": "{{customer.name}} czeka."}"#;
    assert_eq!(
        execute(&plugin, &ctx, to_agent, &action_sandbox()),
        Ok(vec![Effect::NotifyUser {
            user: "12".into(),
            subject: "Klient czeka: #1042".into(),
            body: "Jan Kowalski czeka.".into(),
        }])
    );

    let to_assignee = r##"{"user": "assignee", "subject": "#{{ticket.number}}", "body": "x"}"##;
    let result = execute(&plugin, &ctx, to_assignee, &action_sandbox());
    assert!(
        matches!(&result, Err(PluginError::Failed { message }) if message.contains("not assigned")),
        "{result:?}"
    );
    ctx.ticket.assignee = Some("7".into());
    // The host resolves `assignee` when it applies the effect.
    assert_eq!(
        execute(&plugin, &ctx, to_assignee, &action_sandbox()),
        Ok(vec![Effect::NotifyUser {
            user: "assignee".into(),
            subject: "#1042".into(),
            body: "x".into(),
        }])
    );
    assert_eq!(
        validate(&plugin, r#"{"user": " ", "subject": "x", "body": "y"}"#),
        Err("user".into())
    );
}

#[test]
fn send_sms_texts_a_number_or_the_customer() {
    let plugin = load("send-sms");
    let mut ctx = testing::context();
    assert_eq!(
        execute(
            &plugin,
            &ctx,
            r#"{"to": "customer", "body": "Zgłoszenie #{{ticket.number}} przyjęte."}"#,
            &action_sandbox()
        ),
        Ok(vec![Effect::SendSms {
            to: "+48600100200".into(),
            body: "Zgłoszenie #1042 przyjęte.".into(),
        }])
    );
    assert_eq!(
        execute(
            &plugin,
            &ctx,
            r#"{"to": "+48 501 000 111", "body": "Nowe zgłoszenie"}"#,
            &action_sandbox()
        ),
        Ok(vec![Effect::SendSms {
            to: "+48501000111".into(),
            body: "Nowe zgłoszenie".into(),
        }])
    );
    ctx.ticket.customer.phone = None;
    let result = execute(
        &plugin,
        &ctx,
        r#"{"to": "customer", "body": "x"}"#,
        &action_sandbox(),
    );
    assert!(
        matches!(&result, Err(PluginError::Failed { message }) if message.contains("no phone number")),
        "{result:?}"
    );
    assert_eq!(
        validate(&plugin, r#"{"to": "600100200", "body": "x"}"#),
        Err("to".into())
    );
}
