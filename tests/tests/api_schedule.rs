//! Time rules and durable events through the real server: the scheduler fires a time rule once
//! per ticket until the ticket changes, across restarts, and events cut off by a crash are
//! processed at start.

use ferrule_tests::server::{Client, TestServer};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Poll `check` until it returns Some, for up to `secs` seconds.
fn wait_for<T>(secs: u64, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The runs of `rule` on `ticket` with outcome `fired`.
fn fired(c: &Client, ticket: i64, rule: i64) -> Vec<Value> {
    let runs = c.get(&format!("/tickets/{ticket}/runs")).body["runs"].clone();
    runs.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule_id"] == rule && r["outcome"] == "fired")
        .cloned()
        .collect()
}

fn tags(c: &Client, ticket: i64) -> Vec<String> {
    let t = c.get(&format!("/tickets/{ticket}")).body;
    serde_json::from_value(t["tags"].clone()).unwrap()
}

/// A tenant with the rule "waiting for the customer → tag `reminded` and remind them".
fn reminder_rule(c: &Client) -> i64 {
    c.post_ok(
        "/rules",
        json!({"name": "Remind waiting customers", "trigger": {"time": {}},
               "conditions": {"plugin": "status", "config": {"is": ["waiting-for-customer"]}},
               "actions": [{"plugin": "add-tags", "config": {"tags": ["reminded"]}},
                           {"plugin": "send-message", "config": {"body": "Do you still need help with #{{ticket.number}}?"}}]}),
        201,
    )["id"]
        .as_i64()
        .unwrap()
}

fn new_ticket(c: &Client, subject: &str) -> i64 {
    c.post_ok(
        "/tickets",
        json!({"subject": subject, "source": "email", "customer": {"name": "Anna", "email": "anna@example.com"},
               "message": {"body": "Hello"}}),
        201,
    )["id"]
        .as_i64()
        .unwrap()
}

#[test]
fn a_time_rule_fires_once_per_ticket_until_the_ticket_changes_again() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let rule = reminder_rule(&c);
    let waiting = new_ticket(&c, "Order 1");
    let other = new_ticket(&c, "Order 2");
    c.send(
        "PATCH",
        &format!("/tickets/{waiting}"),
        &json!({"status": "waiting-for-customer"}),
    );
    let runs = wait_for(10, || {
        Some(fired(&c, waiting, rule)).filter(|r| !r.is_empty())
    })
    .expect("the time rule fired within seconds of the ticket matching");
    assert_eq!(runs[0]["event"]["kind"], "schedule_tick");
    assert!(tags(&c, waiting).contains(&"reminded".to_owned()));
    let messages = c.get(&format!("/tickets/{waiting}/messages")).body["messages"].clone();
    let reminders: Vec<&Value> = messages
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["rule_id"] == rule)
        .collect();
    assert_eq!(reminders.len(), 1, "{messages}");
    assert_eq!(reminders[0]["body"], "Do you still need help with #1?");

    // Its own effects changed the ticket, which does not re-arm it: still one run after the
    // scheduler had every chance to look again.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(fired(&c, waiting, rule).len(), 1);
    assert!(fired(&c, other, rule).is_empty(), "the other ticket is new");

    // A change to the ticket re-arms it; the conditions still hold, so it fires once more.
    c.send(
        "PATCH",
        &format!("/tickets/{waiting}"),
        &json!({"priority": "high"}),
    );
    wait_for(10, || {
        Some(()).filter(|_| fired(&c, waiting, rule).len() == 2)
    })
    .expect("fired again after the ticket changed");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(fired(&c, waiting, rule).len(), 2);
}

#[test]
fn a_fired_time_rule_stays_fired_across_a_restart() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let rule = reminder_rule(&server.as_tenant(&key));
    let ticket = {
        let c = server.as_tenant(&key);
        let t = new_ticket(&c, "Order 1");
        c.send(
            "PATCH",
            &format!("/tickets/{t}"),
            &json!({"status": "waiting-for-customer"}),
        );
        wait_for(10, || Some(()).filter(|_| fired(&c, t, rule).len() == 1)).expect("fired");
        t
    };
    let server = server.restart();
    std::thread::sleep(Duration::from_secs(2));
    let c = server.as_tenant(&key);
    assert_eq!(
        fired(&c, ticket, rule).len(),
        1,
        "no second fire after the restart"
    );
}

#[test]
fn a_new_time_rule_covers_the_tickets_that_already_exist() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let tickets: Vec<i64> = (0..3)
        .map(|i| new_ticket(&c, &format!("Order {i}")))
        .collect();
    for t in &tickets[..2] {
        c.send(
            "PATCH",
            &format!("/tickets/{t}"),
            &json!({"status": "waiting-for-customer"}),
        );
    }
    let rule = reminder_rule(&c);
    for t in &tickets[..2] {
        wait_for(10, || Some(()).filter(|_| fired(&c, *t, rule).len() == 1))
            .expect("an existing matching ticket got the new rule");
    }
    assert!(fired(&c, tickets[2], rule).is_empty());
}

#[test]
fn a_disabled_time_rule_never_fires() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let rule = reminder_rule(&c);
    let r = c.send(
        "PATCH",
        &format!("/rules/{rule}"),
        &json!({"enabled": false}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let t = new_ticket(&c, "Order 1");
    c.send(
        "PATCH",
        &format!("/tickets/{t}"),
        &json!({"status": "waiting-for-customer"}),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(fired(&c, t, rule).is_empty());
}

#[test]
fn events_cut_off_by_a_crash_are_processed_at_start() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let rule = c.post_ok(
        "/rules",
        json!({"name": "Returns", "trigger": {"events": ["return_created"]},
               "actions": [{"plugin": "add-tags", "config": {"tags": ["return"]}}]}),
        201,
    )["id"]
        .as_i64()
        .unwrap();
    let ticket = new_ticket(&c, "Order 1");
    // The server dies after storing an event and before running its rules: the event is
    // written here, straight into the database, while the server is down.
    let server = server.restart_with(|db| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let url = format!("sqlite://{}", db.display());
            let secret_key =
                std::fs::read_to_string(format!("{}.secret-key", db.display())).unwrap();
            let sealer = ferrule_host::store::Sealer::from_hex(&secret_key).unwrap();
            let store = ferrule_host::store::Store::connect(&url, sealer)
                .await
                .unwrap();
            let tenant = store.tenant_by_key(&key).await.unwrap().unwrap();
            let mut tx = store.begin().await.unwrap();
            let event = (ferrule_types::Event::ReturnCreated, 0);
            store
                .add_events(&mut tx, tenant.id, ticket, &[event], None)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        })
    });
    let c = server.as_tenant(&key);
    wait_for(10, || {
        Some(()).filter(|_| fired(&c, ticket, rule).len() == 1)
    })
    .expect("the stored event ran its rule at start");
    assert!(tags(&c, ticket).contains(&"return".to_owned()));
    let events = c.get(&format!("/tickets/{ticket}/events")).body["events"].clone();
    let events = events.as_array().unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ticket_created",
            "first_customer_message",
            "customer_message",
            "return_created",
            "tag_added"
        ],
        "the stored event, then the one its rule's effect raised"
    );
    assert!(
        events.iter().all(|e| e["processed_at"].is_string()),
        "{events:?}"
    );
    assert_eq!(events[4]["depth"], 1);
}
