//! The seed examples end to end through the real server: rules saved over HTTP, tickets posted,
//! effects visible on the ticket and its conversation, and every run explained.

use ferrule_tests::server::{Client, TestServer};
use serde_json::{Value, json};

fn rule(c: &Client, body: Value) -> i64 {
    c.post_ok("/rules", body, 201)["id"].as_i64().unwrap()
}

fn ticket(c: &Client, body: Value) -> Value {
    c.post_ok("/tickets", body, 201)
}

fn agent(c: &Client, name: &str) -> i64 {
    c.post_ok("/agents", json!({"name": name, "email": "a@sklep.pl"}), 201)["id"]
        .as_i64()
        .unwrap()
}

fn runs(c: &Client, ticket: i64) -> Vec<Value> {
    c.get(&format!("/tickets/{ticket}/runs")).body["runs"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn seed_001_source_is_not_allegro_discussions_assigns_an_agent() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let anna = agent(&c, "Anna Nowak");
    rule(
        &c,
        json!({
            "name": "Everything but Allegro discussions → Anna",
            "trigger": {"events": ["ticket_created"]},
            "conditions": {"not": {"plugin": "source", "config": {"is": ["allegro-discussions"]}}},
            "actions": [{"plugin": "assign-agent", "config": {"agent": anna.to_string()}}]
        }),
    );
    let mail = ticket(
        &c,
        json!({"subject": "Faktura", "source": "email", "customer": {"name": "Jan"}}),
    );
    assert_eq!(mail["assignee"], anna);
    assert_eq!(mail["runs"][0]["outcome"], "fired");
    let discussion = ticket(
        &c,
        json!({"subject": "Pytanie", "source": "allegro-discussions", "customer": {"name": "Ola"}}),
    );
    assert_eq!(discussion["assignee"], Value::Null);

    // The run record explains the decision: the `source` leaf under `not` answered true.
    let explained = runs(&c, discussion["id"].as_i64().unwrap());
    assert_eq!(explained[0]["outcome"], "not_matched");
    assert_eq!(explained[0]["conditions"][0]["path"], "conditions.not");
    assert_eq!(explained[0]["conditions"][0]["plugin"], "source");
    assert_eq!(explained[0]["conditions"][0]["result"], true);
}

#[test]
fn subject_contains_matches_polish_and_russian_upper_case_and_tags() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    rule(
        &c,
        json!({
            "name": "Returns", "trigger": {"events": ["ticket_created"]},
            "conditions": {"any": [{"plugin": "subject-contains", "config": {"phrases": ["zwrot", "возврат"]}}]},
            "actions": [{"plugin": "add-tags", "config": {"tags": ["Zwrot"]}}]
        }),
    );
    let pl = ticket(
        &c,
        json!({"subject": "ZWROT ZAMÓWIENIA 1042", "source": "email", "customer": {"name": "Jan"}}),
    );
    assert_eq!(pl["tags"], json!(["zwrot"]));
    let ru = ticket(
        &c,
        json!({"subject": "ВОЗВРАТ ТОВАРА", "source": "chat", "customer": {"name": "Иван"}}),
    );
    assert_eq!(ru["tags"], json!(["zwrot"]));
    let other = ticket(
        &c,
        json!({"subject": "Dostawa", "source": "email", "customer": {"name": "Ola"}}),
    );
    assert_eq!(other["tags"], json!([]));
}

#[test]
fn allegro_accounts_route_to_their_agents() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let (anna, piotr) = (agent(&c, "Anna"), agent(&c, "Piotr"));
    for (account, who) in [("sklep_kowalski", anna), ("outlet_kowalski", piotr)] {
        rule(
            &c,
            json!({
                "name": format!("{account} → agent"), "trigger": {"events": ["ticket_created"]},
                "conditions": {"all": [{"plugin": "allegro-account", "config": {"is": [account]}}]},
                "actions": [{"plugin": "assign-agent", "config": {"agent": who}}]
            }),
        );
    }
    let t1 = ticket(
        &c,
        json!({"subject": "a", "source": "allegro-messages", "account": "sklep_kowalski", "customer": {"name": "x"}}),
    );
    let t2 = ticket(
        &c,
        json!({"subject": "b", "source": "allegro-discussions", "account": "outlet_kowalski", "customer": {"name": "y"}}),
    );
    let t3 = ticket(
        &c,
        json!({"subject": "c", "source": "email", "account": "sklep_kowalski", "customer": {"name": "z"}}),
    );
    assert_eq!(
        (
            t1["assignee"].as_i64(),
            t2["assignee"].as_i64(),
            t3["assignee"].as_i64()
        ),
        (Some(anna), Some(piotr), None)
    );
}

#[test]
fn acknowledgement_in_and_after_working_hours_fills_placeholders() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let always = json!({"timezone": "Europe/Warsaw", "weekly": {"mon": [["00:00", "24:00"]], "tue": [["00:00", "24:00"]], "wed": [["00:00", "24:00"]], "thu": [["00:00", "24:00"]], "fri": [["00:00", "24:00"]], "sat": [["00:00", "24:00"]], "sun": [["00:00", "24:00"]]}});
    let never = json!({"timezone": "Europe/Warsaw", "weekly": {}});
    let open = c.post_ok(
        "/inboxes",
        json!({"name": "Zwroty", "working_hours": always}),
        201,
    )["id"]
        .as_i64()
        .unwrap();
    let closed = c.post_ok(
        "/inboxes",
        json!({"name": "Reklamacje", "working_hours": never}),
        201,
    )["id"]
        .as_i64()
        .unwrap();
    let made = c.post_ok("/rule-templates/queue-acknowledgement", json!({"parameters": {
        "in_hours_body": "Dzień dobry {{customer.name}}, zgłoszenie #{{ticket.number}} ({{ticket.subject}}) przyjęte.",
        "after_hours_body": "Dzień dobry {{customer.name}}, odpowiemy po godzinach pracy (#{{ticket.number}})."
    }}), 201);
    assert_eq!(made["rules"].as_array().unwrap().len(), 2);

    let first = ticket(
        &c,
        json!({"subject": "Zwrot butów", "source": "email", "inbox": open,
        "customer": {"name": "Jan Kowalski"}, "message": {"body": "Chcę zwrócić buty."}}),
    );
    let messages = c.get(&format!("/tickets/{}/messages", first["id"])).body["messages"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        messages.len(),
        2,
        "the customer's message and the acknowledgement"
    );
    assert_eq!(messages[1]["direction"], "outbound");
    assert_eq!(
        messages[1]["body"],
        format!(
            "Dzień dobry Jan Kowalski, zgłoszenie #{} (Zwrot butów) przyjęte.",
            first["number"]
        )
    );

    let late = ticket(
        &c,
        json!({"subject": "Reklamacja", "source": "email", "inbox": closed,
        "customer": {"name": "Ola"}, "message": {"body": "Zepsute."}}),
    );
    let messages = c.get(&format!("/tickets/{}/messages", late["id"])).body["messages"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        messages[1]["body"],
        format!(
            "Dzień dobry Ola, odpowiemy po godzinach pracy (#{}).",
            late["number"]
        )
    );
    assert_eq!(
        c.get(&format!("/tickets/{}", late["id"])).body["answered"],
        true
    );
}

#[test]
fn status_flow_template_follows_the_conversation() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    c.post_ok("/rule-templates/status-flow", json!({}), 201);
    let t = ticket(
        &c,
        json!({"subject": "Pytanie", "source": "email", "customer": {"name": "Jan"}, "message": {"body": "Hej"}}),
    );
    assert_eq!(
        t["status"], "new",
        "the first customer message does not move a new ticket"
    );
    let id = t["id"].as_i64().unwrap();
    c.post_ok(
        &format!("/tickets/{id}/messages"),
        json!({"author": "agent", "body": "Sprawdzamy."}),
        201,
    );
    assert_eq!(
        c.get(&format!("/tickets/{id}")).body["status"],
        "waiting-for-customer"
    );
    c.post_ok(
        &format!("/tickets/{id}/messages"),
        json!({"author": "customer", "body": "Dzięki, czekam."}),
        201,
    );
    let now = c.get(&format!("/tickets/{id}")).body;
    assert_eq!(now["status"], "in-progress");
    assert_eq!(now["answered"], false);
}

#[test]
fn effects_of_one_rule_are_visible_to_the_next_and_raise_events() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    rule(
        &c,
        json!({"name": "tag returns", "trigger": {"events": ["ticket_created"]},
        "conditions": {"all": [{"plugin": "subject-contains", "config": {"phrases": ["zwrot"]}}]},
        "actions": [{"plugin": "set-status", "config": {"status": "open"}}]}),
    );
    // Sees the status set by the rule above in the same event.
    rule(
        &c,
        json!({"name": "open → in progress", "trigger": {"events": ["ticket_created"]},
        "conditions": {"all": [{"plugin": "status", "config": {"is": ["open"]}}]},
        "actions": [{"plugin": "add-tags", "config": {"tags": ["seen-open"]}}]}),
    );
    // Runs on the status_changed event the first rule raised.
    rule(
        &c,
        json!({"name": "on status change", "trigger": {"events": ["status_changed"]},
        "actions": [{"plugin": "add-tags", "config": {"tags": ["status-moved"]}}]}),
    );
    let t = ticket(
        &c,
        json!({"subject": "Zwrot", "source": "email", "customer": {"name": "Jan"}}),
    );
    assert_eq!(t["status"], "open");
    assert_eq!(t["tags"], json!(["seen-open", "status-moved"]));
}

#[test]
fn loops_stop_because_a_rule_fires_once_per_chain() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    rule(
        &c,
        json!({"name": "ping", "trigger": {"events": ["tag_added", "ticket_created"]},
        "actions": [{"plugin": "set-status", "config": {"status": "open"}}, {"plugin": "add-tags", "config": {"tags": ["ping"]}}]}),
    );
    rule(
        &c,
        json!({"name": "pong", "trigger": {"events": ["status_changed", "tag_added"]},
        "actions": [{"plugin": "set-status", "config": {"status": "in-progress"}}, {"plugin": "add-tags", "config": {"tags": ["pong"]}}]}),
    );
    let t = ticket(
        &c,
        json!({"subject": "loop", "source": "email", "customer": {"name": "Jan"}}),
    );
    let outcomes: Vec<&str> = t["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "fired").count(),
        2,
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&"skipped"),
        "loop protection is recorded: {outcomes:?}"
    );
    assert_eq!(t["status"], "in-progress");
}

#[test]
fn a_failing_plugin_fails_only_its_rule_and_changes_nothing() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    // The ticket has no inbox, so `working-hours {of: inbox}` fails at run time.
    rule(
        &c,
        json!({"name": "needs an inbox", "trigger": {"events": ["ticket_created"]},
        "conditions": {"all": [{"plugin": "working-hours", "config": {"of": "inbox"}}]},
        "actions": [{"plugin": "add-tags", "config": {"tags": ["never"]}}]}),
    );
    rule(
        &c,
        json!({"name": "still runs", "trigger": {"events": ["ticket_created"]},
        "actions": [{"plugin": "add-tags", "config": {"tags": ["ok"]}}]}),
    );
    let t = ticket(
        &c,
        json!({"subject": "x", "source": "email", "customer": {"name": "Jan"}}),
    );
    assert_eq!(t["tags"], json!(["ok"]));
    let records = runs(&c, t["id"].as_i64().unwrap());
    let failed = records
        .iter()
        .find(|r| r["rule_name"] == "needs an inbox")
        .unwrap();
    assert_eq!(failed["outcome"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("no inbox"),
        "{failed}"
    );
    assert_eq!(failed["effects"], json!([]));
}

#[test]
fn disabled_rules_never_run_and_dry_run_changes_nothing() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let id = rule(
        &c,
        json!({"name": "close", "trigger": {"events": ["ticket_created"]},
        "actions": [{"plugin": "set-status", "config": {"status": "closed"}}]}),
    );
    let patched = c.send("PATCH", &format!("/rules/{id}"), &json!({"enabled": false}));
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["enabled"], false);
    assert_eq!(patched.body["revision"], 2);
    let t = ticket(
        &c,
        json!({"subject": "x", "source": "email", "customer": {"name": "Jan"}}),
    );
    assert_eq!(t["status"], "new");
    assert_eq!(t["runs"], json!([]));

    let dry = c.post_ok(
        &format!("/rules/{id}/dry-run"),
        json!({"ticket_id": t["id"]}),
        200,
    );
    assert_eq!(dry["outcome"], "would_fire");
    assert_eq!(
        dry["effects"],
        json!([{"type": "set_status", "status": "closed"}])
    );
    assert_eq!(
        c.get(&format!("/tickets/{}", t["id"])).body["status"],
        "new",
        "a dry run applies nothing"
    );
    assert!(
        runs(&c, t["id"].as_i64().unwrap()).is_empty(),
        "a dry run leaves no run record"
    );

    let revisions = c.get(&format!("/rules/{id}/revisions")).body;
    assert_eq!(revisions["revisions"][0]["definition"]["enabled"], true);
    assert_eq!(revisions["revisions"][1]["definition"]["enabled"], false);
}

#[test]
fn operations_endpoints_answer() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    ticket(
        &c,
        json!({"subject": "x", "source": "email", "customer": {"name": "Jan"}}),
    );
    assert_eq!(
        server.call("GET", "/healthz", None, None).body["status"],
        "ok"
    );
    let metrics = server.call("GET", "/metrics", None, None).text;
    assert!(
        metrics.contains("ferrule_events_processed_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ferrule_http_request_seconds_count"),
        "{metrics}"
    );
    let doc = server.call("GET", "/openapi.json", None, None).body;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/tickets"]["post"]["requestBody"].is_object());
    let plugins = c.get("/plugins").body["plugins"].as_array().unwrap().len();
    assert!(plugins >= 11, "every built-in plugin is in the catalog");
}

#[test]
fn a_time_trigger_takes_no_options_and_names_the_unknown_one() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let actions = json!([{"plugin": "set-status", "config": {"status": "new"}}]);
    let r = c.send(
        "POST",
        "/rules",
        &json!({"name": "36 h", "trigger": {"time": {"every": "1h"}}, "actions": actions}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["field"], "trigger.time.every");
    let r = c.send(
        "POST",
        "/rules",
        &json!({"name": "36 h", "trigger": {"time": {}}, "actions": actions}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["trigger"], json!({"time": {}}));
}

#[test]
fn oversized_rules_and_unknown_agents_or_inboxes_are_refused_naming_the_place() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let anna = agent(&c, "Anna Nowak");
    let other = server.tenant("Inny sklep");
    let stranger = server.as_tenant(&other).post_ok(
        "/agents",
        json!({"name": "Obcy", "email": "obcy@inny.pl"}),
        201,
    )["id"]
        .as_i64()
        .unwrap();
    let leaf = json!({"plugin": "subject-contains", "config": {"phrases": ["paczka"]}});
    let action = json!({"plugin": "add-tags", "config": {"tags": ["x"]}});
    let mut deep = leaf.clone();
    for _ in 0..9 {
        deep = json!({"all": [deep]});
    }
    let cases = [
        (
            json!({"name": "wide", "trigger": {"events": ["ticket_created"]},
                   "conditions": {"any": vec![leaf.clone(); 101]}, "actions": [action.clone()]}),
            "conditions",
            "at most 100 conditions",
        ),
        (
            json!({"name": "deep", "trigger": {"events": ["ticket_created"]},
                   "conditions": deep, "actions": [action.clone()]}),
            "conditions.all[0].all[0].all[0].all[0].all[0].all[0].all[0].all[0].all",
            "at most 8 deep",
        ),
        (
            json!({"name": "busy", "trigger": {"events": ["ticket_created"]},
                   "actions": vec![action.clone(); 21]}),
            "actions",
            "at most 20 actions",
        ),
        (
            json!({"name": "another tenant's agent", "trigger": {"events": ["ticket_created"]},
                   "actions": [{"plugin": "assign-agent", "config": {"agent": stranger}}]}),
            "actions[0].config.agent",
            "no agent",
        ),
        (
            json!({"name": "no such inbox", "trigger": {"events": ["ticket_created"]},
                   "conditions": {"all": [{"plugin": "inbox", "config": {"is": ["999"]}}]},
                   "actions": [action.clone()]}),
            "conditions.all[0].config.is[0]",
            "no inbox",
        ),
        (
            json!({"name": "no such assignee", "trigger": {"events": ["ticket_created"]},
                   "conditions": {"all": [{"not": {"plugin": "assignee", "config": {"is": [anna, 4242]}}}]},
                   "actions": [action.clone()]}),
            "conditions.all[0].not.config.is[1]",
            "no agent",
        ),
    ];
    for (body, field, words) in cases {
        let r = c.send("POST", "/rules", &body);
        assert_eq!(r.status, 422, "{}: {}", body["name"], r.text);
        assert_eq!(
            r.body["error"]["field"], field,
            "{}: {}",
            body["name"], r.text
        );
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains(words),
            "{}: {}",
            body["name"],
            r.text
        );
    }
    // At the limits, and with the tenant's own agent: saved.
    // Eight groups: the top one and seven inside it.
    let mut deepest = leaf.clone();
    for _ in 0..7 {
        deepest = json!({"all": [deepest]});
    }
    rule(
        &c,
        json!({"name": "at the limits", "trigger": {"events": ["ticket_created"]},
               "conditions": {"all": [deepest, {"any": vec![leaf.clone(); 99]}]},
               "actions": vec![json!({"plugin": "assign-agent", "config": {"agent": anna}}); 20]}),
    );
}

#[test]
fn removing_an_agent_pauses_the_rules_that_name_it() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let anna = agent(&c, "Anna Nowak");
    let ola = agent(&c, "Ola");
    rule(
        &c,
        json!({"name": "To Anna", "trigger": {"events": ["ticket_created"]},
               "actions": [{"plugin": "assign-agent", "config": {"agent": anna}}]}),
    );
    rule(
        &c,
        json!({"name": "Tag", "trigger": {"events": ["ticket_created"]},
               "actions": [{"plugin": "add-tags", "config": {"tags": ["nowe"]}}]}),
    );
    let first = ticket(
        &c,
        json!({"subject": "A", "source": "api", "customer": {"name": "K"}}),
    );
    assert_eq!(first["assignee"], anna);
    let r = c.send("DELETE", &format!("/agents/{anna}"), &json!(null));
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        c.send("DELETE", &format!("/agents/{anna}"), &json!(null))
            .status,
        404
    );
    let listed = c.get("/agents").body;
    let ids: Vec<i64> = listed["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [ola], "{listed}");

    let second = ticket(
        &c,
        json!({"subject": "B", "source": "api", "customer": {"name": "K"}}),
    );
    assert_eq!(
        second["assignee"],
        Value::Null,
        "the paused rule did not run"
    );
    assert!(
        second["tags"].as_array().unwrap().contains(&json!("nowe")),
        "the other rule ran: {second}"
    );
    let paused: Vec<Value> = runs(&c, second["id"].as_i64().unwrap())
        .into_iter()
        .filter(|r| r["outcome"] == "paused")
        .collect();
    assert_eq!(paused.len(), 1, "{paused:?}");
    let why = paused[0]["error"].as_str().unwrap();
    assert!(
        why.contains(&format!("agent {anna}")) && why.contains("actions[0].config.agent"),
        "{why}"
    );
    // The first ticket keeps its history; a new rule naming the removed agent is refused.
    assert_eq!(
        c.get(&format!("/tickets/{}", first["id"])).body["assignee"],
        anna
    );
    let r = c.send(
        "POST",
        "/rules",
        &json!({"name": "Again Anna", "trigger": {"events": ["ticket_created"]},
                "actions": [{"plugin": "assign-agent", "config": {"agent": anna}}]}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
}

#[test]
fn an_api_key_typed_into_a_rule_or_defaults_is_sealed_never_shown_and_still_used() {
    let services = ferrule_tests::fake_services::start();
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let r = c.send(
        "PUT",
        "/installations/send-translated-message",
        &json!({"grants": {"http": [services.authority()]}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let saved = c.post_ok(
        "/rules",
        json!({"name": "Po niemiecku", "trigger": {"events": ["ticket_created"]},
               "actions": [{"plugin": "send-translated-message", "config": {
                   "body": "Dziękujemy", "language": "de", "endpoint": services.url(),
                   "api_key": "sk-rule-secret-123"}}]}),
        201,
    );
    let id = saved["id"].as_i64().unwrap();
    assert_eq!(
        saved["secrets"],
        json!(["actions[0].config.api_key"]),
        "{saved}"
    );
    let shown = [
        saved.to_string(),
        c.get(&format!("/rules/{id}")).text,
        c.get("/rules").text,
        c.get(&format!("/rules/{id}/revisions")).text,
    ];
    for text in &shown {
        assert!(!text.contains("sk-rule-secret-123"), "{text}");
    }
    let sent_key = |n: usize| {
        let calls: Vec<_> = services
            .requests()
            .into_iter()
            .filter(|r| r.path == "/translate")
            .collect();
        assert_eq!(calls.len(), n, "{calls:?}");
        calls[n - 1].body["api_key"].clone()
    };
    let t = c.post_ok(
        "/tickets",
        json!({"subject": "A", "source": "api", "customer": {"name": "K"}}),
        201,
    );
    assert_eq!(
        sent_key(1),
        "sk-rule-secret-123",
        "the plugin got the rule's key"
    );
    assert!(
        !c.get(&format!("/tickets/{}/runs", t["id"]))
            .text
            .contains("sk-rule-secret-123")
    );

    // Read back and saved again (PATCH, PUT without the key): the key stays.
    let r = c.send(
        "PATCH",
        &format!("/rules/{id}"),
        &json!({"description": "zmiana"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["secrets"],
        json!(["actions[0].config.api_key"]),
        "{}",
        r.text
    );
    c.post_ok(
        "/tickets",
        json!({"subject": "B", "source": "api", "customer": {"name": "K"}}),
        201,
    );
    assert_eq!(sent_key(2), "sk-rule-secret-123");
    // An empty value removes it; then the installation's secret is used, and a key typed into
    // the installation's defaults becomes that secret.
    let mut body = c.get(&format!("/rules/{id}")).body;
    body["actions"][0]["config"]["api_key"] = json!("");
    for k in [
        "id",
        "revision",
        "created_at",
        "updated_at",
        "secrets",
        "paused",
    ] {
        body.as_object_mut().unwrap().remove(k);
    }
    let r = c.send("PUT", &format!("/rules/{id}"), &body);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["secrets"], json!([]), "{}", r.text);
    let r = c.send(
        "PUT",
        "/installations/send-translated-message",
        &json!({"config": {"api_key": "sk-installation-456"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.text.contains("sk-installation-456"), "{}", r.text);
    assert!(!c.get("/installations").text.contains("sk-installation-456"));
    c.post_ok(
        "/tickets",
        json!({"subject": "C", "source": "api", "customer": {"name": "K"}}),
        201,
    );
    assert_eq!(sent_key(3), "sk-installation-456");
}

#[test]
fn installation_defaults_are_validated_by_the_plugin_and_named_at_their_key() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    // Defaults the plugin refuses on their own: 422 at config.<key>.
    for (plugin, config, field) in [
        (
            "assignee",
            json!({"unassigned": "yes"}),
            "config.unassigned",
        ),
        ("assignee", json!({"bogus": 1}), "config.bogus"),
    ] {
        let r = c.send(
            "PUT",
            &format!("/installations/{plugin}"),
            &json!({"config": config}),
        );
        assert_eq!(r.status, 422, "{config}: {}", r.text);
        assert_eq!(r.body["error"]["field"], field, "{config}: {}", r.text);
    }
    // Partial defaults are fine (a rule gives the rest); one that breaks a rule is named, and
    // the rule's error says that the value comes from the defaults.
    let r = c.send(
        "PUT",
        "/installations/hour",
        &json!({"config": {"from": 8}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    rule(
        &c,
        json!({"name": "Rano", "trigger": {"events": ["ticket_created"]},
               "conditions": {"all": [{"plugin": "hour", "config": {"to": 12}}]},
               "actions": [{"plugin": "add-tags", "config": {"tags": ["rano"]}}]}),
    );
    let r = c.send(
        "PUT",
        "/installations/hour",
        &json!({"config": {"from": 30}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["field"], "config.from", "{}", r.text);
    assert!(
        r.text.contains("default `from`"),
        "the error says the value is a default: {}",
        r.text
    );
}

#[test]
fn bounds_a_plugin_publishes_in_its_schema_are_enforced_before_its_validate() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let r = c.send(
        "POST",
        "/rules",
        &json!({"name": "Zła wartość", "trigger": {"events": ["ticket_created"]},
                "conditions": {"all": [{"plugin": "subject-contains", "config": {"phrases": ["x"], "match": "sometimes"}}]},
                "actions": [{"plugin": "add-tags", "config": {"tags": ["x"]}}]}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["error"]["field"], "conditions.all[0].config.match",
        "{}",
        r.text
    );
    assert!(
        r.text.contains("must be one of") && r.text.contains("its schema says so"),
        "{}",
        r.text
    );
}
