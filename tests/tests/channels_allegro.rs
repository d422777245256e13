//! Allegro connected accounts end to end: the real `ferrule serve` binary against the Allegro
//! protocol simulator (`ferrule_tests::allegro_sim`). An account connects through the device
//! flow; message-center threads, post-purchase issues and customer returns become tickets and
//! events that rules route; replies go back into the same thread or issue; tokens rotate
//! single-use; 429 storms, garbage and kill -9 lose nothing and import nothing twice.

use ferrule_tests::allegro_sim::{AllegroSim, CLIENT_ID, CLIENT_SECRET, SELLER_LOGIN};
use ferrule_tests::process::Process;
use ferrule_tests::wait_for;
use serde_json::{Value, json};
use std::path::Path;

fn start(db: &Path) -> Process {
    Process::start_with(
        db,
        &["--allegro-client-id", CLIENT_ID],
        &[
            ("FERRULE_ALLEGRO_CLIENT_SECRET", CLIENT_SECRET),
            ("RUST_LOG", "info,ferrule_host::channels::allegro=debug"),
        ],
    )
}

fn tenant(p: &Process) -> String {
    let (status, t) = p.call(
        "POST",
        "/tenants",
        Some(&p.operator.clone()),
        Some(&json!({"name": "Sklep", "timezone": "Europe/Warsaw"})),
    );
    assert_eq!(status, 201, "{t}");
    t["api_key"].as_str().unwrap().to_owned()
}

/// Connect the simulator's seller through the device flow; the account's id.
fn connect(p: &Process, key: &str, sim: &AllegroSim) -> i64 {
    sim.set_device_interval(1);
    let (status, account) = p.call(
        "POST",
        "/accounts",
        Some(key),
        Some(
            &json!({"provider": "allegro", "environment": "sandbox", "api_base": sim.base(),
                     "auth_base": sim.base(), "poll_seconds": 1}),
        ),
    );
    assert_eq!(status, 201, "{account}");
    assert_eq!(account["state"], "pending");
    let code = account["user_code"]
        .as_str()
        .expect("a user code")
        .to_owned();
    assert!(
        account["verification_uri_complete"]
            .as_str()
            .unwrap()
            .ends_with(&code),
        "{account}"
    );
    let id = account["id"].as_i64().unwrap();
    assert!(sim.confirm_device(&code), "the simulator knows the code");
    assert!(
        wait_for(20, || account_of(p, key, id)["state"] == "connected"),
        "connected: {}",
        account_of(p, key, id)
    );
    id
}

fn account_of(p: &Process, key: &str, id: i64) -> Value {
    p.call("GET", &format!("/accounts/{id}"), Some(key), None).1
}

fn tickets(p: &Process, key: &str) -> Vec<Value> {
    let (_, body) = p.call("GET", "/tickets?limit=500", Some(key), None);
    body["tickets"].as_array().cloned().unwrap_or_default()
}

fn messages(p: &Process, key: &str, ticket: i64) -> Vec<Value> {
    let (_, body) = p.call(
        "GET",
        &format!("/tickets/{ticket}/messages"),
        Some(key),
        None,
    );
    body["messages"].as_array().cloned().unwrap_or_default()
}

fn rule(p: &Process, key: &str, rule: Value) {
    let (status, r) = p.call("POST", "/rules", Some(key), Some(&rule));
    assert_eq!(status, 201, "{r}");
}

#[test]
fn threads_issues_and_returns_become_tickets_and_replies_go_back() {
    let sim = AllegroSim::start();
    let dir = tempfile::tempdir().unwrap();
    let p = start(&dir.path().join("ferrule.db"));
    let key = tenant(&p);
    let (status, agent) = p.call(
        "POST",
        "/agents",
        Some(&key),
        Some(&json!({"name": "Ola", "email": "ola@sklep.test"})),
    );
    assert_eq!(status, 201, "{agent}");
    let agent = agent["id"].as_i64().unwrap();
    // Routed by the account: an acknowledgement back into the thread.
    rule(
        &p,
        &key,
        json!({"name": "Potwierdzenie Allegro", "trigger": {"events": ["first_customer_message"]},
        "conditions": {"all": [{"plugin": "allegro-account", "config": {"is": [SELLER_LOGIN]}},
                               {"plugin": "source", "config": {"is": ["allegro-messages"]}}]},
        "actions": [{"plugin": "send-message", "config": {"body": "Dziękujemy, zgłoszenie #{{ticket.number}} przyjęte."}}]}),
    );
    // Seed 001's exclusion rule: everything but Allegro discussions goes to an agent.
    rule(
        &p,
        &key,
        json!({"name": "Przydziel", "trigger": {"events": ["ticket_created"]},
        "conditions": {"all": [{"not": {"plugin": "source", "config": {"is": ["allegro-discussions"]}}}]},
        "actions": [{"plugin": "assign-agent", "config": {"agent": agent}}]}),
    );
    rule(
        &p,
        &key,
        json!({"name": "Zwrot", "trigger": {"events": ["return_created"]}, "conditions": {"all": []},
        "actions": [{"plugin": "add-tags", "config": {"tags": ["zwrot"]}}]}),
    );
    rule(
        &p,
        &key,
        json!({"name": "Dyskusja", "trigger": {"events": ["first_customer_message"]},
        "conditions": {"all": [{"plugin": "source", "config": {"is": ["allegro-discussions"]}}]},
        "actions": [{"plugin": "send-message", "config": {"body": "Przyjrzymy się sprawie."}}]}),
    );

    let thread = sim.add_thread("kupujacy-anna");
    sim.buyer_writes(
        &thread,
        "Dzień dobry, gdzie jest moja paczka? Wysyłam załącznik.",
        Some("order-111"),
    );
    let account = connect(&p, &key, &sim);
    assert_eq!(account_of(&p, &key, account)["login"], SELLER_LOGIN);
    assert_eq!(sim.slow_downs(), 0, "the polls kept Allegro's interval");

    // The thread is a ticket of the account, routed and acknowledged in the thread.
    assert!(
        wait_for(20, || sim
            .thread_messages(&thread)
            .iter()
            .any(|m| m.from_seller)),
        "the acknowledgement reached the thread: {:?}; log: {}",
        sim.thread_messages(&thread),
        p.log()
    );
    let all = tickets(&p, &key);
    let ticket = all
        .iter()
        .find(|t| t["source"] == "allegro-messages")
        .expect("a message-center ticket")
        .clone();
    assert_eq!(ticket["account"], SELLER_LOGIN);
    assert_eq!(ticket["customer"]["name"], "kupujacy-anna", "{ticket}");
    assert_eq!(ticket["assignee"], agent, "the exclusion rule assigns it");
    let id = ticket["id"].as_i64().unwrap();
    let ack = sim
        .thread_messages(&thread)
        .into_iter()
        .find(|m| m.from_seller)
        .unwrap();
    assert!(
        ack.text.contains(&format!("#{}", ticket["number"])),
        "{}",
        ack.text
    );
    let (_, outbox) = p.call("GET", &format!("/tickets/{id}/outbox"), Some(&key), None);
    let delivery = &outbox["outbox"][0];
    assert_eq!(delivery["channel"], "allegro", "{outbox}");
    assert_eq!(delivery["state"], "sent", "{outbox}");
    assert_eq!(delivery["message_id"], ack.id.as_str(), "{outbox}");

    // The buyer answers, the seller writes on allegro.pl: both arrive, ferrule's own reply
    // is not imported a second time.
    sim.buyer_writes(&thread, "Dziękuję, czekam.", None);
    sim.seller_writes(&thread, "Paczka wyjechała dziś rano.");
    assert!(
        wait_for(20, || messages(&p, &key, id).len() == 4),
        "four messages: {:#?}",
        messages(&p, &key, id)
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    let list = messages(&p, &key, id);
    let authors: Vec<&str> = list.iter().map(|m| m["author"].as_str().unwrap()).collect();
    assert_eq!(
        authors,
        ["customer", "agent", "customer", "agent"],
        "{list:#?}"
    );
    assert!(
        list[0]["body"].as_str().unwrap().contains("paczka"),
        "{:#?}",
        list[0]
    );
    assert_eq!(
        list[0]["attachments"][0]["name"], "zdjecie.jpg",
        "attachments as metadata: {:#?}",
        list[0]
    );
    assert_eq!(list[3]["body"], "Paczka wyjechała dziś rano.");

    // A discussion: its own source and type, left alone by the exclusion rule, answered in
    // its chat; Allegro's staff is heard; a claim flips the type.
    let issue = sim.add_issue(
        "DISPUTE",
        "kupujacy-jan",
        "order-222",
        "Kubek przyszedł pęknięty.",
    );
    assert!(
        wait_for(20, || tickets(&p, &key)
            .iter()
            .any(|t| t["source"] == "allegro-discussions")),
        "a discussion ticket; log: {}",
        p.log()
    );
    let dispute = tickets(&p, &key)
        .into_iter()
        .find(|t| t["source"] == "allegro-discussions")
        .unwrap();
    assert_eq!(dispute["type"], "dispute", "{dispute}");
    assert_eq!(
        dispute["assignee"],
        Value::Null,
        "the exclusion rule leaves discussions alone"
    );
    assert_eq!(dispute["customer"]["name"], "kupujacy-jan");
    assert!(
        wait_for(20, || sim
            .issue_chat(&issue)
            .iter()
            .any(|m| m.from_seller && m.text == "Przyjrzymy się sprawie.")),
        "the reply reached the issue's chat: {:?}",
        sim.issue_chat(&issue)
    );
    let dispute_id = dispute["id"].as_i64().unwrap();
    sim.issue_admin_writes(&issue, "Prosimy o odpowiedź w ciągu 3 dni.");
    sim.set_issue_type(&issue, "CLAIM");
    assert!(
        wait_for(20, || {
            let (_, t) = p.call("GET", &format!("/tickets/{dispute_id}"), Some(&key), None);
            t["type"] == "claim"
        }),
        "the discussion became a claim"
    );
    assert!(
        wait_for(20, || messages(&p, &key, dispute_id).iter().any(|m| {
            m["body"]
                .as_str()
                .unwrap_or("")
                .contains("Prosimy o odpowiedź")
        })),
        "Allegro's message: {:#?}",
        messages(&p, &key, dispute_id)
    );
    assert_eq!(
        messages(&p, &key, dispute_id)
            .iter()
            .filter(|m| m["author"] == "agent")
            .count(),
        1,
        "the reply is not imported back"
    );

    // Returns: on the ticket of the order, else a ticket of type return.
    sim.add_return("kupujacy-anna", "order-111");
    sim.add_return("kupujacy-ewa", "order-999");
    assert!(
        wait_for(20, || {
            let (_, t) = p.call("GET", &format!("/tickets/{id}"), Some(&key), None);
            t["tags"]
                .as_array()
                .is_some_and(|tags| tags.contains(&json!("zwrot")))
        }),
        "return_created on the order's ticket"
    );
    assert!(
        wait_for(20, || tickets(&p, &key)
            .iter()
            .any(|t| t["type"] == "return")),
        "a return ticket"
    );
    let returned = tickets(&p, &key)
        .into_iter()
        .find(|t| t["type"] == "return")
        .unwrap();
    assert_eq!(returned["customer"]["name"], "kupujacy-ewa");
    assert!(
        returned["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("zwrot")),
        "{returned}"
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    let (_, events) = p.call("GET", &format!("/tickets/{id}/events"), Some(&key), None);
    let returns = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"].to_string().contains("return_created"))
        .count();
    assert_eq!(returns, 1, "raised once across passes: {events}");
    assert_eq!(tickets(&p, &key).len(), 3, "{:#?}", tickets(&p, &key));

    // No token or secret in what the API shows or the log holds.
    let (_, list) = p.call("GET", "/accounts", Some(&key), None);
    let shown = list.to_string();
    assert_eq!(list["accounts"][0]["state"], "connected", "{list}");
    assert!(list["accounts"][0]["last_sync_at"].is_string(), "{list}");
    for secret in [
        CLIENT_SECRET,
        "access_token",
        "refresh_token",
        "device_code",
    ] {
        assert!(!shown.contains(secret), "`{secret}` in {shown}");
    }
    let log = p.log();
    for secret in [
        CLIENT_SECRET,
        "Bearer",
        "Basic ",
        "refresh_token=",
        "device_code=",
    ] {
        assert!(!log.contains(secret), "`{secret}` in the log");
    }
    let (_, runs) = p.call("GET", &format!("/tickets/{id}/runs"), Some(&key), None);
    assert!(!runs.to_string().contains(CLIENT_SECRET), "{runs}");

    // Disconnect: the account goes, its tickets stay.
    let (status, _) = p.call("DELETE", &format!("/accounts/{account}"), Some(&key), None);
    assert_eq!(status, 204);
    let (status, _) = p.call("GET", &format!("/accounts/{account}"), Some(&key), None);
    assert_eq!(status, 404);
    assert_eq!(tickets(&p, &key).len(), 3);
}

fn ack_rule(p: &Process, key: &str) {
    rule(
        p,
        key,
        json!({"name": "Potwierdzenie", "trigger": {"events": ["first_customer_message"]},
        "conditions": {"all": [{"plugin": "source", "config": {"is": ["allegro-messages"]}}]},
        "actions": [{"plugin": "send-message", "config": {"body": "Przyjęliśmy #{{ticket.number}}."}}]}),
    );
}

/// Every thread of the simulator is one ticket with its buyer's messages and one
/// acknowledgement, and every thread got exactly one acknowledgement.
fn assert_each_thread_once(
    p: &Process,
    key: &str,
    sim: &AllegroSim,
    threads: &[String],
    per: usize,
) {
    let all = tickets(p, key);
    assert_eq!(all.len(), threads.len(), "one ticket per thread");
    for t in &all {
        let id = t["id"].as_i64().unwrap();
        let list = messages(p, key, id);
        let customer = list.iter().filter(|m| m["author"] == "customer").count();
        let agent = list.iter().filter(|m| m["author"] == "agent").count();
        assert_eq!((customer, agent), (per, 1), "ticket {id}: {list:#?}");
    }
    for thread in threads {
        let acks = sim
            .thread_messages(thread)
            .iter()
            .filter(|m| m.from_seller)
            .count();
        assert_eq!(
            acks,
            1,
            "thread {thread}: {:?}",
            sim.thread_messages(thread)
        );
    }
}

fn seed(sim: &AllegroSim, threads: usize, per: usize) -> Vec<String> {
    (0..threads)
        .map(|i| {
            let thread = sim.add_thread(&format!("kupujacy-{i}"));
            for m in 0..per {
                sim.buyer_writes(&thread, &format!("Wiadomość {m} w wątku {i}"), None);
            }
            thread
        })
        .collect()
}

#[test]
fn single_use_refresh_tokens_rotate_under_load_and_survive_a_restart() {
    let sim = AllegroSim::start();
    // Every token is due for a refresh a second after it is issued (ferrule refreshes a
    // minute ahead), and every so often all of them are voided: many refreshes, some on 401.
    sim.set_access_token_lifetime(61);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ferrule.db");
    let p = start(&db);
    let key = tenant(&p);
    ack_rule(&p, &key);
    let account = connect(&p, &key, &sim);
    let threads = seed(&sim, 40, 2);
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(6) {
        sim.expire_access_tokens();
        std::thread::sleep(std::time::Duration::from_millis(400));
    }
    assert!(
        wait_for(30, || tickets(&p, &key).len() == 40
            && threads.iter().all(|t| sim
                .thread_messages(t)
                .iter()
                .any(|m| m.from_seller))),
        "all imported and acknowledged: {} tickets; log: {}",
        tickets(&p, &key).len(),
        p.log()
    );
    assert!(sim.refreshes() >= 5, "refreshed {} times", sim.refreshes());
    assert_eq!(
        sim.refresh_reuses(),
        0,
        "no refresh token was presented twice"
    );
    assert_eq!(account_of(&p, &key, account)["state"], "connected");

    // The pair stored last is the one Allegro holds: after kill -9 the server goes on with it.
    let db = p.kill();
    let p = start(&db);
    let late = sim.add_thread("kupujacy-pozny");
    sim.buyer_writes(&late, "Czy ktoś tu jest?", None);
    sim.buyer_writes(&late, "Halo?", None);
    assert!(
        wait_for(30, || tickets(&p, &key).len() == 41),
        "the late thread after the restart: {}",
        account_of(&p, &key, account)
    );
    assert_eq!(sim.refresh_reuses(), 0);
    assert_eq!(account_of(&p, &key, account)["state"], "connected");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let mut all = threads.clone();
    all.push(late);
    assert_each_thread_once(&p, &key, &sim, &all, 2);
}

#[test]
fn storms_of_429_and_garbage_delay_the_sync_but_lose_and_double_nothing() {
    let sim = AllegroSim::start();
    let dir = tempfile::tempdir().unwrap();
    let p = start(&dir.path().join("ferrule.db"));
    let key = tenant(&p);
    ack_rule(&p, &key);
    let account = connect(&p, &key, &sim);
    let threads = seed(&sim, 30, 3);
    sim.throttle(6);
    sim.garbage(6);
    assert!(
        wait_for(90, || tickets(&p, &key).len() == 30
            && threads.iter().all(|t| sim
                .thread_messages(t)
                .iter()
                .any(|m| m.from_seller))),
        "all imported and acknowledged: {}; log: {}",
        tickets(&p, &key).len(),
        p.log()
    );
    // A fresh storm while the worker reads, then more mail.
    sim.throttle(4);
    sim.garbage(3);
    let more = seed(&sim, 5, 3);
    assert!(
        wait_for(90, || tickets(&p, &key).len() == 35),
        "the later threads: {}",
        tickets(&p, &key).len()
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    let mut all = threads;
    all.extend(more);
    assert_each_thread_once(&p, &key, &sim, &all, 3);
    let log = p.log();
    assert!(
        log.contains("not its documented shape"),
        "garbage was noticed: {log}"
    );
    assert!(log.contains("429"), "429s were noticed");
    let shown = account_of(&p, &key, account);
    assert_eq!(shown["state"], "connected", "{shown}");
    assert!(shown["api_calls"].as_i64().unwrap() > 0, "{shown}");
}

#[test]
fn kill_9_mid_sync_imports_everything_once_after_the_restart() {
    let sim = AllegroSim::start();
    let dir = tempfile::tempdir().unwrap();
    let p = start(&dir.path().join("ferrule.db"));
    let key = tenant(&p);
    ack_rule(&p, &key);
    connect(&p, &key, &sim);
    let threads = seed(&sim, 200, 3);
    assert!(
        wait_for(60, || tickets(&p, &key).len() >= 30),
        "the import started"
    );
    let db = p.kill();
    let p = start(&db);
    assert!(
        wait_for(120, || tickets(&p, &key).len() == 200
            && threads.iter().all(|t| sim
                .thread_messages(t)
                .iter()
                .any(|m| m.from_seller))),
        "all imported after the restart: {}; log: {}",
        tickets(&p, &key).len(),
        p.log()
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_each_thread_once(&p, &key, &sim, &threads, 3);
}

#[test]
fn bad_account_settings_are_refused_with_the_field_named() {
    let sim = AllegroSim::start();
    let dir = tempfile::tempdir().unwrap();
    let p = start(&dir.path().join("ferrule.db"));
    let key = tenant(&p);
    let cases = [
        (json!({"provider": "ebay"}), 422, Some("provider")),
        (
            json!({"provider": "allegro", "environment": "staging"}),
            422,
            Some("environment"),
        ),
        (
            json!({"provider": "allegro", "api_base": "ftp://x"}),
            422,
            Some("api_base"),
        ),
        (
            json!({"provider": "allegro", "auth_base": "not a url"}),
            422,
            Some("auth_base"),
        ),
        (
            json!({"provider": "allegro", "poll_seconds": 0}),
            422,
            Some("poll_seconds"),
        ),
        (
            json!({"provider": "allegro", "poll_seconds": "often"}),
            400,
            Some("poll_seconds"),
        ),
        (json!({"provider": "allegro", "token": "x"}), 400, None),
        (json!({}), 400, None),
    ];
    for (body, status, field) in cases {
        let (got, answer) = p.call("POST", "/accounts", Some(&key), Some(&body));
        assert_eq!(got, status, "{body}: {answer}");
        assert!(answer["error"]["message"].is_string(), "{answer}");
        if let Some(field) = field {
            assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        }
    }
    // Allegro refusing the client credentials, or not answering: 502 in words.
    let (got, answer) = p.call(
        "POST",
        "/accounts",
        Some(&key),
        Some(&json!({"provider": "allegro", "auth_base": format!("http://127.0.0.1:{}", ferrule_tests::mail_servers::free_port())})),
    );
    assert_eq!(got, 502, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot reach"),
        "{answer}"
    );
    let (got, answer) = p.call("GET", "/accounts/12345", Some(&key), None);
    assert_eq!(got, 404, "{answer}");
    let (got, _) = p.call("GET", "/accounts", Some(&key), None);
    assert_eq!(got, 200);
    drop(sim);

    // A server without an Allegro application says so.
    let plain = Process::start(&dir.path().join("plain.db"));
    let key = tenant(&plain);
    let (got, answer) = plain.call(
        "POST",
        "/accounts",
        Some(&key),
        Some(&json!({"provider": "allegro"})),
    );
    assert_eq!(got, 409, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--allegro-client-id"),
        "{answer}"
    );
}
