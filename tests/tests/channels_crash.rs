//! kill -9 of the real `ferrule serve` while it imports 200 mails and delivers 200
//! acknowledgements, then a restart on the same database: every mail is one ticket, every
//! acknowledgement arrives, and none is imported or received twice (a repeat at the receiver
//! carries the same Message-ID, which is how delivery "at least once" is made safe).

use ferrule_tests::mail_servers::{ImapServer, SmtpSink};
use ferrule_tests::process::Process;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

const MAILS: usize = 200;

fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    head.replace("\r\n ", " ").lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

fn count_tickets(p: &Process, key: &str) -> usize {
    let (_, body) = p.call("GET", "/tickets?limit=500", Some(key), None);
    body["tickets"].as_array().map_or(0, Vec::len)
}

#[test]
fn kill_9_while_importing_and_delivering_loses_nothing_and_doubles_nothing() {
    let imap = ImapServer::start_with_users(&[("support", "imap-pass-123")]);
    let smtp = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Process::start(&dir.path().join("ferrule.db"));
    let (status, tenant) = server.call(
        "POST",
        "/tenants",
        Some(&server.operator.clone()),
        Some(&json!({"name": "Sklep", "timezone": "Europe/Warsaw"})),
    );
    assert_eq!(status, 201, "{tenant}");
    let key = tenant["api_key"].as_str().unwrap().to_owned();
    let (status, made) = server.call("POST", "/inboxes", Some(&key), Some(&json!({"name": "Pomoc",
        "email": {"address": "pomoc@sklep.test",
            "imap": {"host": "127.0.0.1", "port": imap.port(), "tls": "none", "username": "support", "password": "imap-pass-123"},
            "smtp": {"host": "127.0.0.1", "port": smtp.port(), "tls": "none"}, "poll_seconds": 1}})));
    assert_eq!(status, 201, "{made}");
    let (status, rules) = server.call("POST", "/rules", Some(&key), Some(&json!({"name": "Potwierdzenie",
        "trigger": {"events": ["first_customer_message"]}, "conditions": {"all": []},
        "actions": [{"plugin": "send-message", "config": {"body": "Przyjęliśmy zgłoszenie #{{ticket.number}}."}}]})));
    assert_eq!(status, 201, "{rules}");

    let mails: Vec<Vec<u8>> = (0..MAILS)
        .map(|i| format!("From: Klient {i} <klient{i}@klient.test>\r\nTo: pomoc@sklep.test\r\nSubject: Sprawa {i}\r\n\
            Message-ID: <sprawa-{i}@klient.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTreść {i}\r\n").into_bytes())
        .collect();
    imap.append_many("support", "INBOX", mails.iter().map(Vec::as_slice));

    // Cut the server off in the middle of the import.
    let deadline = Instant::now() + Duration::from_secs(60);
    while count_tickets(&server, &key) < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let before = count_tickets(&server, &key);
    let received_before = smtp.messages().len();
    let database = server.kill();
    assert!(
        before < MAILS,
        "the kill came mid-import ({before} of {MAILS} imported)"
    );

    let server = Process::start(&database);
    let deadline = Instant::now() + Duration::from_secs(120);
    while (count_tickets(&server, &key) < MAILS || smtp.messages().len() < MAILS)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    // Let anything that would come twice come.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        count_tickets(&server, &key),
        MAILS,
        "one ticket per mail; {}",
        server.log()
    );
    let (_, listed) = server.call("GET", "/tickets?limit=500", Some(&key), None);
    for t in listed["tickets"].as_array().unwrap() {
        let (_, m) = server.call(
            "GET",
            &format!("/tickets/{}/messages", t["id"]),
            Some(&key),
            None,
        );
        let customer = m["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["author"] == "customer")
            .count();
        assert_eq!(customer, 1, "ticket {} has its mail once: {m}", t["id"]);
    }
    let received = smtp.messages();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut answered: HashSet<String> = HashSet::new();
    for mail in &received {
        let text = mail.text();
        *by_id
            .entry(header(&text, "Message-ID").expect("a Message-ID"))
            .or_default() += 1;
        answered.insert(header(&text, "In-Reply-To").expect("threaded"));
    }
    assert_eq!(
        by_id.len(),
        MAILS,
        "every acknowledgement arrived, each with its own Message-ID"
    );
    assert_eq!(answered.len(), MAILS, "each customer's mail was answered");
    let repeats = received.len() - by_id.len();
    eprintln!(
        "imported before the kill: {before}; received before: {received_before}; repeats at the receiver: {repeats}"
    );
    let (_, sent) = server.call("GET", "/deliveries?state=sent&limit=500", Some(&key), None);
    assert_eq!(sent["deliveries"].as_array().unwrap().len(), MAILS);
}
