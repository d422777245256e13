//! The engine's write path through the real server: a new ticket and its rules' effects are
//! written together (never one without the other), concurrent requests share group commits
//! without mixing their work, a client that hangs up does not cut the work off, and compactly
//! stored runs are explained by the rule revision that ran.

use ferrule_tests::server::{Client, TestServer};
use serde_json::{Value, json};
use std::io::Write;
use std::time::{Duration, Instant};

fn complaint_rule(c: &Client) -> i64 {
    c.post_ok(
        "/rules",
        json!({"name": "reklamacja → complaint", "trigger": {"events": ["ticket_created"]},
               "conditions": {"plugin": "subject-contains", "config": {"phrases": ["reklamacja"]}},
               "actions": [{"plugin": "add-tags", "config": {"tags": ["complaint"]}}]}),
        201,
    )["id"]
        .as_i64()
        .unwrap()
}

fn tickets(c: &Client) -> Vec<Value> {
    c.get("/tickets?limit=500").body["tickets"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_ticket_whose_client_hangs_up_while_its_rules_run_is_stored_with_their_effects() {
    use ferrule_tests::components::HOSTILE_CONDITION;
    let server = TestServer::start();
    let r = server.upload(&server.operator, HOSTILE_CONDITION, None);
    assert!(r.status == 201 || r.status == 200, "{}", r.text);
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let r = c.send(
        "PUT",
        "/installations/hostile-condition",
        &json!({"enabled": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    complaint_rule(&c);
    // Rules whose condition spins until it runs out of fuel, one for each of the new
    // ticket's events: the request takes a while.
    for event in [
        "ticket_created",
        "first_customer_message",
        "customer_message",
    ] {
        c.post_ok(
            "/rules",
            json!({"name": format!("slow on {event}"), "trigger": {"events": [event]},
                   "conditions": {"plugin": "hostile-condition", "config": {"attack": "loop"}},
                   "actions": [{"plugin": "add-tags", "config": {"tags": ["never"]}}]}),
            201,
        );
    }
    let body = json!({"subject": "Reklamacja: pęknięty ekran", "source": "email",
                      "customer": {"name": "Jan"}, "message": {"body": "Dzień dobry"}})
    .to_string();
    let request = format!(
        "POST /api/v1/tickets HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut socket = std::net::TcpStream::connect(server.addr).unwrap();
    socket.write_all(request.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    drop(socket); // gone while the rules run, before any answer
    assert!(tickets(&c).is_empty(), "the rules were still running");

    let deadline = Instant::now() + Duration::from_secs(20);
    let found = loop {
        if let Some(t) = tickets(&c).into_iter().next() {
            break t;
        }
        assert!(Instant::now() < deadline, "the ticket was never stored");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Stored means its rules ran: the tag is there at once, not at a later tick.
    assert_eq!(found["tags"], json!(["complaint"]));
    let runs = c.get(&format!("/tickets/{}/runs", found["id"])).body["runs"].clone();
    let outcomes: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "fired").count(),
        1,
        "{runs}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| **o == "failed").count(),
        3,
        "{runs}"
    );
    let events = c.get(&format!("/tickets/{}/events", found["id"])).body["events"].clone();
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["processed_at"].is_null()),
        "every event is processed: {events}"
    );
}

#[test]
fn concurrent_tickets_get_distinct_numbers_and_each_its_own_effects() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    complaint_rule(&c);
    let answers: Vec<Value> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..24)
            .map(|i| {
                let c = server.as_tenant(&key);
                s.spawn(move || {
                    let subject = if i % 2 == 0 {
                        format!("Reklamacja {i}")
                    } else {
                        format!("Pytanie {i}")
                    };
                    c.post_ok(
                        "/tickets",
                        json!({"subject": subject, "source": "email",
                               "customer": {"name": format!("Klient {i}"), "email": format!("k{i}@example.pl")},
                               "message": {"body": "Dzień dobry"}}),
                        201,
                    )
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut numbers: Vec<i64> = answers
        .iter()
        .map(|t| t["number"].as_i64().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=24).collect::<Vec<_>>());
    for stored in tickets(&c) {
        let i: i64 = stored["subject"]
            .as_str()
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let expected = if i % 2 == 0 {
            json!(["complaint"])
        } else {
            json!([])
        };
        assert_eq!(stored["tags"], expected, "{stored}");
        assert_eq!(stored["customer"]["email"], format!("k{i}@example.pl"));
    }
}

#[test]
fn a_not_matched_run_is_explained_by_the_rule_revision_that_ran() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let rule = complaint_rule(&c);
    let t = c.post_ok(
        "/tickets",
        json!({"subject": "Pytanie o fakturę", "source": "email", "customer": {"name": "Jan"}}),
        201,
    );
    // The rule changes afterwards: its name and its condition tree.
    let r = c.send(
        "PUT",
        &format!("/rules/{rule}"),
        &json!({"name": "Complaints and returns", "trigger": {"events": ["ticket_created"]},
                "conditions": {"any": [
                    {"plugin": "subject-contains", "config": {"phrases": ["reklamacja"]}},
                    {"plugin": "source", "config": {"is": ["allegro-discussions"]}}]},
                "actions": [{"plugin": "add-tags", "config": {"tags": ["complaint"]}}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let runs = c.get(&format!("/tickets/{}/runs", t["id"])).body["runs"].clone();
    let run = &runs[0];
    assert_eq!(run["outcome"], "not_matched");
    assert_eq!(run["rule_revision"], 1);
    assert_eq!(run["rule_name"], "reklamacja → complaint");
    assert_eq!(run["event"]["kind"], "ticket_created");
    assert_eq!(
        run["conditions"],
        json!([{"path": "conditions", "plugin": "subject-contains", "result": false, "error": null}])
    );
    assert!(run["fuel"].as_u64().unwrap() > 0, "{run}");
    assert_eq!(run["effects"], json!([]));
    // The same run through the rule's own list.
    let by_rule = c.get(&format!("/runs?rule_id={rule}")).body["runs"].clone();
    assert_eq!(by_rule[0]["conditions"], run["conditions"]);
}
