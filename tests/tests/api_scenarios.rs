//! The seed documents' time scenarios as templates, end to end through the real server, with
//! tickets and messages imported with past timestamps: each fires at the right moment, once,
//! and is explained in the run history.

use chrono::{SecondsFormat, Utc};
use ferrule_tests::server::{Client, TestServer};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// RFC 3339 time `secs` seconds ago.
fn ago(secs: i64) -> String {
    (Utc::now() - chrono::Duration::seconds(secs)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

const HOUR: i64 = 3600;

fn wait_for(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// Fired runs of rules named `name` on a ticket.
fn fired(c: &Client, ticket: i64, name: &str) -> Vec<Value> {
    let runs = c.get(&format!("/tickets/{ticket}/runs")).body["runs"].clone();
    runs.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule_name"] == name && r["outcome"] == "fired")
        .cloned()
        .collect()
}

fn ticket(c: &Client, id: i64) -> Value {
    c.get(&format!("/tickets/{id}")).body
}

fn outbox(c: &Client, id: i64) -> Vec<Value> {
    c.get(&format!("/tickets/{id}/outbox")).body["outbox"]
        .as_array()
        .unwrap()
        .clone()
}

fn import(c: &Client, body: Value) -> i64 {
    c.post_ok("/tickets", body, 201)["id"].as_i64().unwrap()
}

fn use_template(c: &Client, id: &str, parameters: Value) {
    let r = c.send(
        "POST",
        &format!("/rule-templates/{id}"),
        &json!({ "parameters": parameters }),
    );
    assert_eq!(r.status, 201, "{id}: {}", r.text);
}

fn agent(c: &Client, name: &str) -> i64 {
    c.post_ok(
        "/agents",
        json!({"name": name, "email": format!("{}@sklep.pl", name.to_lowercase())}),
        201,
    )["id"]
        .as_i64()
        .unwrap()
}

#[test]
fn thulium_customer_silent_for_36_hours_goes_back_to_new_with_a_tag() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    use_template(&c, "customer-silent", json!({}));
    let silent = |secs: i64| {
        import(
            &c,
            json!({"subject": "Zwrot", "source": "email", "status": "waiting-for-customer",
                   "customer": {"name": "Anna", "email": "anna@example.com"},
                   "created_at": ago(secs + 60), "message": {"body": "Dzień dobry", "sent_at": ago(secs)}}),
        )
    };
    let overdue = silent(37 * HOUR);
    let recent = silent(35 * HOUR);
    // Falls due six seconds from now: the scheduler must wake for it, not sweep later.
    let soon = silent(36 * HOUR - 6);
    let name = "Customer silent → back to the team";
    assert!(fired(&c, soon, name).is_empty(), "not due yet");
    assert!(wait_for(15, || fired(&c, overdue, name).len() == 1));
    let t = ticket(&c, overdue);
    assert_eq!(t["status"], "new");
    assert!(t["tags"].as_array().unwrap().contains(&json!("decision")));
    let run = &fired(&c, overdue, name)[0];
    assert_eq!(run["conditions"][1]["plugin"], "last-customer-reply");
    assert_eq!(run["conditions"][1]["result"], true);
    assert!(
        wait_for(15, || fired(&c, soon, name).len() == 1),
        "fired when it fell due"
    );
    assert_eq!(ticket(&c, soon)["status"], "new");
    std::thread::sleep(Duration::from_secs(1));
    assert!(fired(&c, recent, name).is_empty());
    assert_eq!(ticket(&c, recent)["status"], "waiting-for-customer");
    assert_eq!(fired(&c, overdue, name).len(), 1, "exactly once");
}

#[test]
fn seed_001_unanswered_for_24_hours_reminds_the_assignee() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let ola = agent(&c, "Ola");
    let waiting = import(
        &c,
        json!({"subject": "Gdzie paczka?", "source": "allegro-messages", "assignee": ola,
               "customer": {"name": "Jan"}, "created_at": ago(25 * HOUR),
               "message": {"body": "Gdzie jest moja paczka?", "sent_at": ago(25 * HOUR)}}),
    );
    let answered = import(
        &c,
        json!({"subject": "Faktura", "source": "email", "assignee": ola,
               "customer": {"name": "Ewa", "email": "ewa@example.com"}, "created_at": ago(25 * HOUR),
               "message": {"body": "Proszę o fakturę", "sent_at": ago(25 * HOUR)}}),
    );
    c.post_ok(
        &format!("/tickets/{answered}/messages"),
        json!({"author": "agent", "body": "Wysłana", "sent_at": ago(20 * HOUR)}),
        201,
    );
    let unassigned = import(
        &c,
        json!({"subject": "Pytanie", "source": "email", "customer": {"name": "Olek"},
               "created_at": ago(25 * HOUR), "message": {"body": "?", "sent_at": ago(25 * HOUR)}}),
    );
    // The rule comes after the import (an answer imported after its ticket could race with
    // the rule); a new time rule covers the tickets that exist.
    use_template(&c, "unanswered-reminder", json!({}));
    assert!(wait_for(10, || !outbox(&c, waiting).is_empty()));
    let sent = outbox(&c, waiting);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["kind"], "notification");
    assert_eq!(sent[0]["recipient"], ola.to_string());
    assert_eq!(
        sent[0]["subject"],
        format!(
            "Ticket #{} is waiting for an answer",
            ticket(&c, waiting)["number"]
        )
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        outbox(&c, answered).is_empty(),
        "answered tickets are left alone"
    );
    assert!(
        outbox(&c, unassigned).is_empty(),
        "nobody to remind on unassigned tickets"
    );
}

#[test]
fn planfix_not_accepted_within_30_minutes_notifies_the_manager() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let manager = agent(&c, "Kierownik");
    let ola = agent(&c, "Ola");
    use_template(&c, "not-accepted", json!({"notify": manager.to_string()}));
    let waiting = import(
        &c,
        json!({"subject": "Reklamacja", "source": "email", "customer": {"name": "Anna"}, "created_at": ago(31 * 60)}),
    );
    let taken = import(
        &c,
        json!({"subject": "Reklamacja 2", "source": "email", "customer": {"name": "Jan"}, "assignee": ola, "created_at": ago(31 * 60)}),
    );
    let fresh = import(
        &c,
        json!({"subject": "Reklamacja 3", "source": "email", "customer": {"name": "Ewa"}, "created_at": ago(60)}),
    );
    assert!(wait_for(10, || outbox(&c, waiting).len() == 1));
    assert_eq!(outbox(&c, waiting)[0]["recipient"], manager.to_string());
    std::thread::sleep(Duration::from_secs(1));
    assert!(outbox(&c, taken).is_empty());
    assert!(outbox(&c, fresh).is_empty(), "29 minutes to go");
}

#[test]
fn planfix_accepted_but_not_answered_within_15_minutes_is_unassigned_again() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let ola = agent(&c, "Ola");
    let silent = import(
        &c,
        json!({"subject": "A", "source": "email", "customer": {"name": "Anna"}, "assignee": ola, "created_at": ago(16 * 60),
               "message": {"body": "?", "sent_at": ago(16 * 60)}}),
    );
    let answered = import(
        &c,
        json!({"subject": "B", "source": "email", "customer": {"name": "Jan"}, "assignee": ola, "created_at": ago(16 * 60),
               "message": {"body": "?", "sent_at": ago(16 * 60)}}),
    );
    c.post_ok(
        &format!("/tickets/{answered}/messages"),
        json!({"author": "agent", "body": "Już sprawdzam", "sent_at": ago(10 * 60)}),
        201,
    );
    use_template(&c, "accepted-not-answered", json!({}));
    let name = "Accepted, not answered → unassign";
    assert!(wait_for(10, || fired(&c, silent, name).len() == 1));
    assert_eq!(ticket(&c, silent)["assignee"], Value::Null);
    std::thread::sleep(Duration::from_secs(1));
    assert!(fired(&c, answered, name).is_empty());
    assert_eq!(ticket(&c, answered)["assignee"], ola);
}

#[test]
fn planfix_in_progress_too_long_notifies_the_agent_then_the_manager() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let manager = agent(&c, "Kierownik");
    let ola = agent(&c, "Ola");
    use_template(
        &c,
        "in-progress-escalation",
        json!({"manager": manager.to_string()}),
    );
    let in_progress = |mins: i64| {
        import(
            &c,
            json!({"subject": "Naprawa", "source": "email", "customer": {"name": "Anna"}, "assignee": ola,
                   "status": "in-progress", "created_at": ago(mins * 60)}),
        )
    };
    let two_and_half = in_progress(150);
    let three_and_half = in_progress(210);
    let one = in_progress(60);
    assert!(wait_for(10, || outbox(&c, three_and_half).len() == 2));
    assert!(wait_for(10, || outbox(&c, two_and_half).len() == 1));
    let to = |id: i64| -> Vec<String> {
        let mut r: Vec<String> = outbox(&c, id)
            .iter()
            .map(|o| o["recipient"].as_str().unwrap().to_owned())
            .collect();
        r.sort();
        r
    };
    let mut both = vec![ola.to_string(), manager.to_string()];
    both.sort();
    assert_eq!(to(three_and_half), both);
    assert_eq!(to(two_and_half), vec![ola.to_string()]);
    std::thread::sleep(Duration::from_secs(1));
    assert!(outbox(&c, one).is_empty());
    assert_eq!(outbox(&c, three_and_half).len(), 2, "each once");
}

#[test]
fn planfix_resolved_tickets_are_closed_after_3_days() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    use_template(&c, "close-resolved", json!({}));
    let old = import(
        &c,
        json!({"subject": "A", "source": "email", "customer": {"name": "Anna"}, "status": "resolved", "created_at": ago(73 * HOUR)}),
    );
    let recent = import(
        &c,
        json!({"subject": "B", "source": "email", "customer": {"name": "Jan"}, "status": "resolved", "created_at": ago(71 * HOUR)}),
    );
    assert!(wait_for(10, || ticket(&c, old)["status"] == "closed"));
    let run = &fired(&c, old, "Resolved → closed")[0];
    assert_eq!(run["event"]["kind"], "schedule_tick");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(ticket(&c, recent)["status"], "resolved");
}

#[test]
fn hubspot_received_and_closed_emails_go_to_email_customers_only() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    use_template(&c, "status-emails", json!({}));
    let mail = import(
        &c,
        json!({"subject": "Zamówienie 7", "source": "email", "customer": {"name": "Anna", "email": "anna@example.com"}}),
    );
    let chat = import(
        &c,
        json!({"subject": "Czat", "source": "chat", "customer": {"name": "Jan", "email": "jan@example.com"}}),
    );
    let sent = outbox(&c, mail);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["kind"], "email");
    assert_eq!(sent[0]["recipient"], "anna@example.com");
    let number = ticket(&c, mail)["number"].clone();
    assert_eq!(
        sent[0]["subject"],
        format!("We received your request #{number}")
    );
    c.send(
        "PATCH",
        &format!("/tickets/{mail}"),
        &json!({"status": "closed"}),
    );
    let sent = outbox(&c, mail);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1]["subject"],
        format!("Your request #{number} is closed")
    );
    c.send(
        "PATCH",
        &format!("/tickets/{chat}"),
        &json!({"status": "closed"}),
    );
    assert!(
        outbox(&c, chat).is_empty(),
        "live chat is left out by default"
    );
}

#[test]
fn every_scenario_template_is_listed_with_its_parameters() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let list = c.get("/rule-templates").body["templates"].clone();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    for id in [
        "status-flow",
        "queue-acknowledgement",
        "customer-silent",
        "unanswered-reminder",
        "not-accepted",
        "accepted-not-answered",
        "in-progress-escalation",
        "close-resolved",
        "status-emails",
        "customer-reply-status",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    // A required parameter left out is a 422 naming it; nothing is saved.
    let r = c.send("POST", "/rule-templates/not-accepted", &json!({}));
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["field"], "parameters.notify");
    // A bad number is refused by the plugin's validation, naming the config field.
    let r = c.send(
        "POST",
        "/rule-templates/customer-silent",
        &json!({"parameters": {"hours": "soon"}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.body["error"]["field"]
            .as_str()
            .unwrap()
            .contains("older_than_hours"),
        "{}",
        r.text
    );
    assert_eq!(c.get("/rules").body["rules"].as_array().unwrap().len(), 0);
}

#[test]
fn thulium_queue_defaults_and_the_conversation_placeholder() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let inbox = c.post_ok(
        "/inboxes",
        json!({"name": "Reklamacje", "group": "obsługa", "default_category": "complaint", "default_priority": "high"}),
        201,
    )["id"]
        .as_i64()
        .unwrap();
    c.post_ok(
        "/rules",
        json!({"name": "Forward the conversation", "trigger": {"events": ["customer_message"]},
               "conditions": {"plugin": "inbox", "config": {"is": [inbox.to_string()]}},
               "actions": [{"plugin": "send-email", "config": {"to": "archiwum@sklep.pl",
                            "subject": "#{{ticket.number}}", "body": "Rozmowa:\n{{ticket.conversation}}"}}]}),
        201,
    );
    let t = import(
        &c,
        json!({"subject": "Uszkodzony towar", "source": "email", "inbox": inbox,
               "customer": {"name": "Anna Nowak", "email": "anna@example.com"},
               "message": {"body": "Paczka przyszła zgnieciona.", "sent_at": "2026-11-20T09:00:00Z"}}),
    );
    let view = ticket(&c, t);
    assert_eq!(view["category"], "complaint", "the inbox's default");
    assert_eq!(view["priority"], "high");
    let explicit = import(
        &c,
        json!({"subject": "Pytanie", "source": "email", "inbox": inbox, "priority": "low", "customer": {"name": "Jan"}}),
    );
    assert_eq!(
        ticket(&c, explicit)["priority"],
        "low",
        "the ticket's own value wins"
    );

    c.post_ok(
        &format!("/tickets/{t}/messages"),
        json!({"author": "agent", "body": "Prosimy o zdjęcia.", "sent_at": "2026-11-20T10:00:00Z"}),
        201,
    );
    c.post_ok(
        &format!("/tickets/{t}/messages"),
        json!({"author": "customer", "body": "Zdjęcia w załączniku.", "sent_at": "2026-11-20T11:00:00Z"}),
        201,
    );
    let sent = outbox(&c, t);
    let last = sent.last().unwrap();
    assert_eq!(
        last["body"],
        "Rozmowa:\n2026-11-20 09:00 Anna Nowak: Paczka przyszła zgnieciona.\n\n\
         2026-11-20 10:00 Agent: Prosimy o zdjęcia.\n\n\
         2026-11-20 11:00 Anna Nowak: Zdjęcia w załączniku."
    );
}
