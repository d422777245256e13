//! The event and time condition plugins (`event`, `tag-added`, `status-set`, `reply-status`,
//! `day-of-week`, `hour`, `last-customer-reply`, `last-agent-reply`, `ticket-created`,
//! `ticket-closed`, `in-status-for`, `assigned-for`), as the components the build compiled, in the
//! real runtime: answers and the `changes_at` hints the scheduler wakes tickets by.
//!
//! "Older than N" is strict, so a hint is the first millisecond at which the answer is true:
//! boundary + 1 ms.

use ferrule_host::builtin;
use ferrule_host::runtime::{Limits, Plugin, PreparedContext, Sandbox};
use ferrule_plugin_sdk::testing::{self, at};
use ferrule_types::{Context, Event, PluginError, PluginKind, StatusCategory, Timestamp, Verdict};

fn load(folder: &str) -> Plugin {
    let bytes = builtin::component(folder).unwrap_or_else(|| panic!("no built-in `{folder}`"));
    ferrule_host::testing::runtime()
        .load(bytes)
        .unwrap_or_else(|e| panic!("{folder}: {e}"))
}

/// Evaluate each config once, in one call, as the engine does: the full verdicts.
fn verdicts(plugin: &Plugin, ctx: &Context, configs: &[&str]) -> Vec<Result<Verdict, PluginError>> {
    let configs: Vec<String> = configs.iter().map(|c| (*c).to_owned()).collect();
    let sandbox = Sandbox::new(Limits::CONDITION);
    plugin
        .evaluate(&PreparedContext::new(ctx), &configs, &sandbox)
        .result
        .expect("the sandbox ran the plugin")
}

/// Evaluate each config once, in one call: the answers only.
fn evaluate(plugin: &Plugin, ctx: &Context, configs: &[&str]) -> Vec<Result<bool, PluginError>> {
    verdicts(plugin, ctx, configs)
        .into_iter()
        .map(|r| r.map(|v| v.matches))
        .collect()
}

/// A verdict as a tuple, for short assertions.
fn verdict(plugin: &Plugin, ctx: &Context, config: &str) -> (bool, Option<Timestamp>) {
    let v = verdicts(plugin, ctx, &[config])
        .remove(0)
        .unwrap_or_else(|e| panic!("{config}: {e}"));
    (v.matches, v.changes_at)
}

/// A schedule tick at `now` on the fixture ticket (created 2026-11-16 09:00 UTC, Warsaw tenant).
fn tick(now: &str) -> Context {
    let mut ctx = testing::context();
    ctx.event = Event::ScheduleTick;
    ctx.now = at(now);
    ctx
}

fn validate(plugin: &Plugin, config: &str) -> Result<(), PluginError> {
    plugin
        .validate(config, &Sandbox::new(Limits::CONDITION))
        .result
        .expect("the sandbox ran the plugin")
}

#[test]
fn every_pack_plugin_loads_and_describes_itself() {
    for name in [
        "event",
        "tag-added",
        "status-set",
        "reply-status",
        "day-of-week",
        "hour",
        "last-customer-reply",
        "last-agent-reply",
        "ticket-created",
        "ticket-closed",
        "in-status-for",
        "assigned-for",
    ] {
        let plugin = load(name);
        let d = plugin.description();
        assert_eq!((d.name.as_str(), d.kind), (name, PluginKind::Condition));
        assert!(
            d.config_schema["properties"].is_object(),
            "{name} publishes its config schema"
        );
        assert!(d.capabilities.is_empty(), "{name} needs no capability");
    }
}

#[test]
fn event_matches_rule_json_kinds_and_rejects_unknown_ones() {
    let plugin = load("event");
    let mut ctx = testing::context();
    ctx.event = Event::FirstCustomerMessage;
    let answers = evaluate(
        &plugin,
        &ctx,
        &[
            r#"{"is": ["first_customer_message"]}"#,
            r#"{"is": ["customer_message", "ticket_created"]}"#,
            r#"{"is": ["reopened"]}"#,
        ],
    );
    assert_eq!(answers[0], Ok(true));
    assert_eq!(answers[1], Ok(false));
    assert!(
        matches!(&answers[2], Err(PluginError::InvalidConfig { path, .. }) if path == "is[0]"),
        "{:?}",
        answers[2]
    );
    ctx.event = Event::ScheduleTick;
    assert_eq!(
        verdict(&plugin, &ctx, r#"{"is": ["schedule_tick"]}"#),
        (true, None)
    );
    assert!(validate(&plugin, r#"{"is": []}"#).is_err());
}

#[test]
fn tag_added_matches_the_added_tag_only() {
    let plugin = load("tag-added");
    let mut ctx = testing::context();
    ctx.event = Event::TagAdded { tag: "vip".into() };
    let answers = evaluate(
        &plugin,
        &ctx,
        &[r#"{"is": ["VIP", "zwrot"]}"#, r#"{"is": ["zwrot"]}"#],
    );
    assert_eq!(answers, vec![Ok(true), Ok(false)]);
    ctx.event = Event::ScheduleTick;
    ctx.ticket.tags = vec!["vip".into()];
    assert_eq!(verdict(&plugin, &ctx, r#"{"is": ["vip"]}"#), (false, None));
}

#[test]
fn status_set_matches_the_new_status() {
    let plugin = load("status-set");
    let mut ctx = testing::context();
    ctx.event = Event::StatusChanged {
        from: "open".into(),
        to: "resolved".into(),
    };
    ctx.ticket.status = "resolved".into();
    let answers = evaluate(
        &plugin,
        &ctx,
        &[r#"{"is": ["resolved", "closed"]}"#, r#"{"is": ["open"]}"#],
    );
    assert_eq!(answers, vec![Ok(true), Ok(false)]);
    assert!(validate(&plugin, r#"{"is": [" "]}"#).is_err());
}

#[test]
fn reply_status_compares_the_answered_flag() {
    let plugin = load("reply-status");
    let mut ctx = testing::context();
    ctx.ticket.answered = false;
    let answers = evaluate(
        &plugin,
        &ctx,
        &[r#"{"answered": false}"#, r#"{"answered": true}"#],
    );
    assert_eq!(answers, vec![Ok(true), Ok(false)]);
    assert_eq!(verdict(&plugin, &ctx, r#"{"answered": false}"#).1, None);
}

#[test]
fn day_of_week_uses_the_tenants_zone_and_hints_the_next_local_midnight() {
    let plugin = load("day-of-week");
    let weekend = r#"{"days": ["sat", "sun"]}"#;
    // Friday 2026-11-20 12:00 UTC; Saturday starts at 00:00 Warsaw = 23:00 UTC.
    let ctx = tick("2026-11-20T12:00:00Z");
    assert_eq!(
        verdict(&plugin, &ctx, weekend),
        (false, Some(at("2026-11-20T23:00:00Z")))
    );
    let ctx = tick("2026-11-20T23:00:00Z");
    assert_eq!(
        verdict(&plugin, &ctx, weekend),
        (true, Some(at("2026-11-22T23:00:00Z")))
    );
    // Across the spring DST change, Monday 00:00 Warsaw is 22:00 UTC.
    let ctx = tick("2026-03-28T11:00:00Z");
    assert_eq!(
        verdict(&plugin, &ctx, r#"{"days": ["mon"]}"#),
        (false, Some(at("2026-03-29T22:00:00Z")))
    );
    assert!(validate(&plugin, r#"{"days": ["monday"]}"#).is_err());
}

#[test]
fn hour_is_half_open_fractional_wraps_midnight_and_hints_the_next_bound() {
    let plugin = load("hour");
    // 10:00 UTC is 11:00 in Warsaw.
    let ctx = tick("2026-11-16T10:00:00Z");
    let answers = verdicts(
        &plugin,
        &ctx,
        &[
            r#"{"from": 8, "to": 16}"#,
            r#"{"from": 22, "to": 6}"#,
            r#"{"from": 11.5, "to": 12}"#,
        ],
    );
    let answers: Vec<_> = answers
        .into_iter()
        .map(|v| {
            let v = v.unwrap();
            (v.matches, v.changes_at)
        })
        .collect();
    assert_eq!(
        answers,
        vec![
            (true, Some(at("2026-11-16T15:00:00Z"))),
            (false, Some(at("2026-11-16T21:00:00Z"))),
            (false, Some(at("2026-11-16T10:30:00Z"))),
        ]
    );
    // `from` inclusive, `to` exclusive.
    let ctx = tick("2026-11-16T15:00:00Z");
    assert_eq!(
        verdict(&plugin, &ctx, r#"{"from": 8, "to": 16}"#),
        (false, Some(at("2026-11-17T07:00:00Z")))
    );
    // 02:30 does not exist on 2026-03-29 in Warsaw: the answer flips at the jump (01:00 UTC).
    let ctx = tick("2026-03-29T00:30:00Z");
    assert_eq!(
        verdict(&plugin, &ctx, r#"{"from": 2.5, "to": 12}"#),
        (false, Some(at("2026-03-29T01:00:00Z")))
    );
    assert!(validate(&plugin, r#"{"from": 8, "to": 8}"#).is_err());
}

#[test]
fn last_customer_reply_thulium_36_hours() {
    let plugin = load("last-customer-reply");
    let config = r#"{"older_than_hours": 36}"#;
    // The customer last wrote 2026-11-16 09:00 UTC: 36 h later is 2026-11-17 21:00.
    for now in [
        "2026-11-16T10:00:00Z",
        "2026-11-17T20:59:59.999Z",
        "2026-11-17T21:00:00Z",
    ] {
        assert_eq!(
            verdict(&plugin, &tick(now), config),
            (false, Some(at("2026-11-17T21:00:00.001Z"))),
            "{now}"
        );
    }
    assert_eq!(
        verdict(&plugin, &tick("2026-11-17T21:00:00.001Z"), config),
        (true, None)
    );
    let mut ctx = tick("2026-12-01T00:00:00Z");
    ctx.ticket.last_customer_message_at = None;
    assert_eq!(verdict(&plugin, &ctx, config), (false, None));
    assert!(validate(&plugin, r#"{"older_than_hours": 0}"#).is_err());
}

#[test]
fn last_agent_reply_counts_from_creation_until_an_agent_writes() {
    let plugin = load("last-agent-reply");
    let config = r#"{"older_than_hours": 24}"#;
    // No agent message: counted from creation (2026-11-16 09:00 UTC).
    let ctx = tick("2026-11-17T09:00:00Z");
    assert_eq!(
        verdict(&plugin, &ctx, config),
        (false, Some(at("2026-11-17T09:00:00.001Z")))
    );
    let ctx = tick("2026-11-17T09:00:00.001Z");
    assert_eq!(verdict(&plugin, &ctx, config), (true, None));
    // An agent wrote: counted from that message.
    let mut ctx = tick("2026-11-17T09:00:00.001Z");
    ctx.ticket.last_agent_message_at = Some(at("2026-11-17T08:00:00Z"));
    assert_eq!(
        verdict(&plugin, &ctx, config),
        (false, Some(at("2026-11-18T08:00:00.001Z")))
    );
}

#[test]
fn ticket_created_seed_001_reminder_after_24_hours() {
    let plugin = load("ticket-created");
    let ctx = tick("2026-11-16T10:00:00Z");
    let answers = verdicts(
        &plugin,
        &ctx,
        &[
            r#"{"older_than_hours": 24}"#,
            r#"{"older_than_hours": 0.5}"#,
        ],
    );
    assert_eq!(
        answers,
        vec![
            Ok(Verdict {
                matches: false,
                changes_at: Some(at("2026-11-17T09:00:00.001Z")),
            }),
            Ok(Verdict {
                matches: true,
                changes_at: None,
            }),
        ]
    );
}

#[test]
fn ticket_closed_planfix_three_days_after_resolving() {
    let plugin = load("ticket-closed");
    let config = r#"{"older_than_hours": 72}"#;
    let mut ctx = tick("2026-11-17T12:00:00Z");
    ctx.ticket.status = "resolved".into();
    ctx.ticket.status_category = StatusCategory::Solved;
    ctx.ticket.closed_at = Some(at("2026-11-16T12:00:00Z"));
    assert_eq!(
        verdict(&plugin, &ctx, config),
        (false, Some(at("2026-11-19T12:00:00.001Z")))
    );
    ctx.now = at("2026-11-19T12:00:00.001Z");
    assert_eq!(verdict(&plugin, &ctx, config), (true, None));
    ctx.ticket.closed_at = None;
    assert_eq!(verdict(&plugin, &ctx, config), (false, None));
}

#[test]
fn in_status_for_planfix_two_and_three_hours_in_progress() {
    let plugin = load("in-status-for");
    let mut ctx = tick("2026-11-16T12:30:00Z");
    ctx.ticket.status = "in-progress".into();
    ctx.ticket.status_category = StatusCategory::Open;
    ctx.ticket.status_changed_at = Some(at("2026-11-16T10:00:00Z"));
    let answers = verdicts(
        &plugin,
        &ctx,
        &[
            r#"{"status": "in-progress", "longer_than_minutes": 120}"#,
            r#"{"status": "in-progress", "longer_than_minutes": 180}"#,
            r#"{"status": "waiting-for-customer", "longer_than_minutes": 1}"#,
        ],
    );
    assert_eq!(
        answers,
        vec![
            Ok(Verdict {
                matches: true,
                changes_at: None,
            }),
            Ok(Verdict {
                matches: false,
                changes_at: Some(at("2026-11-16T13:00:00.001Z")),
            }),
            Ok(Verdict {
                matches: false,
                changes_at: None,
            }),
        ]
    );
}

#[test]
fn assigned_for_planfix_fifteen_minutes_without_a_reply() {
    let plugin = load("assigned-for");
    let config = r#"{"longer_than_minutes": 15, "without_agent_reply": true}"#;
    let mut ctx = tick("2026-11-16T10:15:00Z");
    ctx.ticket.assignee = Some("anna".into());
    ctx.ticket.assigned_at = Some(at("2026-11-16T10:00:00Z"));
    assert_eq!(
        verdict(&plugin, &ctx, config),
        (false, Some(at("2026-11-16T10:15:00.001Z")))
    );
    ctx.now = at("2026-11-16T10:15:00.001Z");
    assert_eq!(verdict(&plugin, &ctx, config), (true, None));
    // The agent answered after the assignment: false for good.
    ctx.ticket.last_agent_message_at = Some(at("2026-11-16T10:05:00Z"));
    assert_eq!(verdict(&plugin, &ctx, config), (false, None));
    assert_eq!(
        verdict(&plugin, &ctx, r#"{"longer_than_minutes": 15}"#),
        (true, None)
    );
    ctx.ticket.assignee = None;
    ctx.ticket.assigned_at = None;
    assert_eq!(
        verdict(&plugin, &ctx, r#"{"longer_than_minutes": 15}"#),
        (false, None)
    );
}
