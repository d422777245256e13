//! The mail benchmark: a real Dovecot mailbox of N mails (default 10,000) read by the release
//! `ferrule serve`, each mail acknowledged by a rule through a real SMTP server (aiosmtpd).
//! Prints mails imported per second, acknowledgements delivered per second, the server's peak
//! RSS, and the delay from a mail landing in the mailbox to its acknowledgement arriving.
//!
//! `cargo build --release -p ferrule-host --bin ferrule && cargo run --release -p ferrule-tests --bin mail-bench -- [mails] [latency-mails] [noidle]`

use ferrule_tests::mail_servers::{ImapServer, SmtpSink};
use ferrule_tests::process::Process;
use serde_json::json;
use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> u64 {
    ferrule_tests::process::status_kib(pid, "VmRSS:")
}

fn mail(i: usize, tag: &str) -> Vec<u8> {
    format!(
        "From: Klient {i} <klient{i}@klient.test>\r\nTo: pomoc@sklep.test\r\nSubject: {tag} {i}\r\n\
         Message-ID: <{tag}-{i}@klient.test>\r\nDate: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Dzień dobry, zamówienie {i} nie dotarło.\r\n\r\n-- \r\nKlient {i}\r\n",
        chrono::Utc::now().to_rfc2822()
    )
    .into_bytes()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mails: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let probes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    // `noidle`: a server without IDLE, read every `poll_seconds` (1).
    let idle = args.next().as_deref() != Some("noidle");
    let users = [("support", "imap-pass-123")];
    let imap = if idle {
        ImapServer::start_with_users(&users)
    } else {
        ImapServer::start_without_idle(&users)
    };
    let smtp = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Process::start(&dir.path().join("bench.db"));
    let (_, tenant) = server.call(
        "POST",
        "/tenants",
        Some(&server.operator.clone()),
        Some(&json!({"name": "Sklep", "timezone": "Europe/Warsaw"})),
    );
    let key = tenant["api_key"].as_str().unwrap().to_owned();
    server.call("POST", "/rules", Some(&key), Some(&json!({"name": "Potwierdzenie",
        "trigger": {"events": ["first_customer_message"]}, "conditions": {"all": []},
        "actions": [{"plugin": "send-message", "config": {"body": "Dzień dobry {{customer.name}}, przyjęliśmy zgłoszenie #{{ticket.number}}."}}]})));
    let filled = Instant::now();
    let batch: Vec<Vec<u8>> = (0..mails).map(|i| mail(i, "Sprawa")).collect();
    imap.append_many("support", "INBOX", batch.iter().map(Vec::as_slice));
    eprintln!(
        "mailbox filled with {mails} mails in {:.1} s",
        filled.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let (_, inbox) = server.call("POST", "/inboxes", Some(&key), Some(&json!({"name": "Pomoc", "email": {
        "address": "pomoc@sklep.test",
        "imap": {"host": "127.0.0.1", "port": imap.port(), "tls": "none", "username": "support", "password": "imap-pass-123"},
        "smtp": {"host": "127.0.0.1", "port": smtp.port(), "tls": "none"}, "poll_seconds": 1}})));
    let inbox = inbox["id"].as_i64().unwrap();
    let mut peak = 0;
    let mut imported_at = None;
    let mut first_delivery = None;
    let delivered_at;
    loop {
        peak = peak.max(rss_kib(server.pid()));
        if imported_at.is_none() {
            let (_, shown) = server.call("GET", &format!("/inboxes/{inbox}"), Some(&key), None);
            if shown["email"]["status"]["imported"].as_u64() == Some(mails as u64) {
                imported_at = Some(started.elapsed());
            }
        }
        let received = smtp.count();
        if received > 0 && first_delivery.is_none() {
            first_delivery = Some(started.elapsed());
        }
        if received >= mails {
            delivered_at = started.elapsed();
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            panic!("not done in 10 min: {received} acknowledgements");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let imported_at = imported_at.unwrap_or(delivered_at);
    println!(
        "import: {mails} mails in {:.2} s = {:.0} mails/s",
        imported_at.as_secs_f64(),
        mails as f64 / imported_at.as_secs_f64()
    );
    let first = first_delivery.unwrap_or_default();
    println!(
        "deliveries: {mails} acknowledgements received {:.2} s after the import started, {:.2} s after the first = {:.0}/s over the whole run",
        delivered_at.as_secs_f64(),
        (delivered_at - first).as_secs_f64(),
        mails as f64 / delivered_at.as_secs_f64()
    );
    println!("peak RSS of ferrule serve: {:.0} MiB", peak as f64 / 1024.0);

    // Latency: mails landing one at a time in a quiet mailbox, each timed to its acknowledgement.
    let mut delays = Vec::new();
    let (mut to_queued, mut to_sent) = (Vec::new(), Vec::new());
    for i in 0..probes {
        let before = smtp.count();
        let sent = Instant::now();
        let appended = chrono::Utc::now();
        imap.append("support", "INBOX", &mail(i, "Pojedyncza"));
        while smtp.count() <= before {
            if sent.elapsed() > Duration::from_secs(30) {
                panic!("no acknowledgement of probe {i} in 30 s");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        delays.push(sent.elapsed().as_secs_f64() * 1000.0);
        // Where the time went: mailbox → delivery queued (import and rules) → sent.
        let (_, last) = server.call("GET", "/deliveries?limit=1", Some(&key), None);
        let at = |field: &str| {
            last["deliveries"][0][field]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| (t.timestamp_millis() - appended.timestamp_millis()) as f64)
        };
        if let (Some(q), Some(s)) = (at("created_at"), at("sent_at")) {
            to_queued.push(q);
            to_sent.push(s);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for v in [&mut to_queued, &mut to_sent] {
        v.sort_by(f64::total_cmp);
    }
    if !to_queued.is_empty() {
        println!(
            "  of which mailbox → delivery queued: p50 {:.0} ms; → sent: p50 {:.0} ms",
            to_queued[to_queued.len() / 2],
            to_sent[to_sent.len() / 2]
        );
    }
    delays.sort_by(f64::total_cmp);
    let at =
        |q: f64| delays[((delays.len() as f64 * q).ceil() as usize).clamp(1, delays.len()) - 1];
    println!(
        "mailbox → acknowledgement ({}), {probes} mails: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        if idle {
            "IDLE"
        } else {
            "no IDLE, poll_seconds 1"
        },
        at(0.5),
        at(0.99),
        delays[delays.len() - 1]
    );
    println!(
        "peak RSS of ferrule serve: {:.0} MiB",
        peak.max(rss_kib(server.pid())) as f64 / 1024.0
    );
}
