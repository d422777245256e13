//! E-mail end to end through the real server: mail appended to a real IMAP mailbox (Dovecot)
//! becomes a ticket, the queue's acknowledgement reaches a real SMTP server (aiosmtpd) threaded
//! to the customer's mail, and the customer's answer lands on the same ticket.

use ferrule_host::channels::mail::imap::{ImapSettings, Mailbox, Tls};
use ferrule_tests::mail_servers::{ImapServer, SmtpSink};
use ferrule_tests::server::{Client, TestServer};
use ferrule_tests::wait_for;
use serde_json::{Value, json};
use std::time::Duration;

fn tickets(c: &Client) -> Vec<Value> {
    c.get("/tickets?limit=500").body["tickets"]
        .as_array()
        .unwrap()
        .clone()
}

fn messages(c: &Client, ticket: i64) -> Vec<Value> {
    c.get(&format!("/tickets/{ticket}/messages")).body["messages"]
        .as_array()
        .unwrap()
        .clone()
}

/// A header's value in a raw mail (first occurrence, unfolded).
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

const ALWAYS_OPEN: &str = r#"{"timezone": "Europe/Warsaw", "weekly": {"mon": [["00:00", "24:00"]], "tue": [["00:00", "24:00"]], "wed": [["00:00", "24:00"]], "thu": [["00:00", "24:00"]], "fri": [["00:00", "24:00"]], "sat": [["00:00", "24:00"]], "sun": [["00:00", "24:00"]]}}"#;
const NEVER_OPEN: &str = r#"{"timezone": "Europe/Warsaw", "weekly": {}}"#;

fn inbox(
    c: &Client,
    name: &str,
    address: &str,
    hours: &str,
    imap: &ImapServer,
    user: &str,
    smtp: &SmtpSink,
) -> i64 {
    let body = json!({
        "name": name,
        "working_hours": serde_json::from_str::<Value>(hours).unwrap(),
        "email": {
            "address": address,
            "imap": {"host": "127.0.0.1", "port": imap.port(), "tls": "none", "username": user,
                     "password": "imap-pass-123", "mailbox": "INBOX"},
            "smtp": {"host": "127.0.0.1", "port": smtp.port(), "tls": "none"},
            "poll_seconds": 1,
            "no_cc": ["formularz@allegro.test"]
        }
    });
    let made = c.post_ok("/inboxes", body, 201);
    assert!(
        !made.to_string().contains("imap-pass-123"),
        "the password is never shown: {made}"
    );
    assert_eq!(made["email"]["imap"]["password_set"], true);
    made["id"].as_i64().unwrap()
}

fn mail(from: &str, to: &str, subject: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: {date}\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        date = chrono::Utc::now().to_rfc2822(),
    )
    .into_bytes()
}

#[test]
fn a_mail_becomes_a_ticket_is_acknowledged_in_its_thread_and_the_answer_lands_on_it() {
    let imap =
        ImapServer::start_with_users(&[("open", "imap-pass-123"), ("closed", "imap-pass-123")]);
    let smtp = SmtpSink::start();
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let open = inbox(
        &c,
        "Reklamacje",
        "reklamacje@sklep.test",
        ALWAYS_OPEN,
        &imap,
        "open",
        &smtp,
    );
    let closed = inbox(
        &c,
        "Nocna",
        "noc@sklep.test",
        NEVER_OPEN,
        &imap,
        "closed",
        &smtp,
    );
    c.post_ok("/rule-templates/queue-acknowledgement", json!({"parameters": {
        "in_hours_body": "Dzień dobry {{customer.name}}, zgłoszenie #{{ticket.number}} przyjęte.",
        "after_hours_body": "Dzień dobry {{customer.name}}, odpowiemy w godzinach pracy (#{{ticket.number}})."
    }}), 201);

    imap.append(
        "open",
        "INBOX",
        &mail(
            "Jan Kowalski <Jan@Klient.test>",
            "reklamacje@sklep.test",
            "Reklamacja butów",
            "m1@klient.test",
            "Cc: zona@klient.test, formularz@allegro.test\r\n",
            "Buty się rozkleiły po tygodniu.\r\n\r\n--\r\nJan Kowalski\r\ntel. 600 100 200",
        ),
    );
    imap.append(
        "closed",
        "INBOX",
        &mail(
            "Anna Nowak <anna@klient.test>",
            "noc@sklep.test",
            "Zwrot",
            "n1@klient.test",
            "",
            "Chcę zwrócić kurtkę.",
        ),
    );
    assert!(
        wait_for(30, || tickets(&c).len() == 2),
        "both mails became tickets: {:?}",
        tickets(&c)
    );
    let all = tickets(&c);
    let jan = all
        .iter()
        .find(|t| t["inbox"] == open)
        .expect("the open inbox's ticket")
        .clone();
    let anna = all
        .iter()
        .find(|t| t["inbox"] == closed)
        .expect("the closed inbox's ticket")
        .clone();
    assert_eq!(jan["source"], "email");
    assert_eq!(jan["subject"], "Reklamacja butów");
    assert_eq!(jan["customer"]["email"], "jan@klient.test");
    assert_eq!(jan["customer"]["name"], "Jan Kowalski");
    let first = messages(&c, jan["id"].as_i64().unwrap());
    assert_eq!(first[0]["author"], "customer");
    assert_eq!(
        first[0]["body"], "Buty się rozkleiły po tygodniu.",
        "the signature is stripped"
    );

    // Both acknowledgements arrive at the SMTP server, each in its customer's thread.
    let received = smtp.wait_for(2, Duration::from_secs(30));
    assert_eq!(received.len(), 2, "two acknowledgements");
    let to_jan = received
        .iter()
        .find(|m| m.envelope_to.contains(&"jan@klient.test".to_owned()))
        .expect("Jan's");
    let text = to_jan.text();
    let number = jan["number"].as_i64().unwrap();
    assert!(
        text.contains("przyj"),
        "the in-hours acknowledgement: {text}"
    );
    assert_eq!(
        header(&text, "In-Reply-To").as_deref(),
        Some("<m1@klient.test>")
    );
    assert!(
        header(&text, "Subject")
            .unwrap()
            .contains(&format!("[#{number}]")),
        "{text}"
    );
    assert_eq!(
        header(&text, "Reply-To").as_deref(),
        Some("reklamacje@sklep.test")
    );
    assert!(
        header(&text, "From")
            .unwrap()
            .contains("reklamacje@sklep.test")
    );
    // The other customer in CC stays in CC; the no_cc address never.
    assert!(
        to_jan.envelope_to.contains(&"zona@klient.test".to_owned()),
        "{:?}",
        to_jan.envelope_to
    );
    assert!(
        !text.contains("formularz@allegro.test"),
        "no_cc is never in CC: {text}"
    );
    let to_anna = received
        .iter()
        .find(|m| m.envelope_to.contains(&"anna@klient.test".to_owned()))
        .expect("Anna's");
    assert!(
        to_anna.text().contains("godzinach pracy"),
        "the after-hours acknowledgement: {}",
        to_anna.text()
    );
    let _ = anna;

    // The delivery is recorded as sent, with the Message-ID the customer's client saw.
    let jan_id = jan["id"].as_i64().unwrap();
    let outbox = c.get(&format!("/tickets/{jan_id}/outbox")).body["outbox"].clone();
    assert!(
        wait_for(
            10,
            || c.get(&format!("/tickets/{jan_id}/outbox")).body["outbox"][0]["state"] == "sent"
        ),
        "{outbox}"
    );
    let delivery = c.get(&format!("/tickets/{jan_id}/outbox")).body["outbox"][0].clone();
    assert_eq!(delivery["channel"], "smtp");
    let ack_id = header(&text, "Message-ID").unwrap();
    assert_eq!(
        format!("<{}>", delivery["message_id"].as_str().unwrap()),
        ack_id
    );
    let listed = messages(&c, jan_id);
    assert_eq!(listed[1]["direction"], "outbound");
    assert_eq!(listed[1]["deliveries"][0]["state"], "sent");

    // The customer answers the acknowledgement: a customer message on the same ticket.
    imap.append("open", "INBOX", &mail(
        "Jan Kowalski <jan@klient.test>", "reklamacje@sklep.test", &format!("Re: Reklamacja butów [#{number}]"),
        "m2@klient.test", &format!("In-Reply-To: {ack_id}\r\nReferences: <m1@klient.test> {ack_id}\r\n"),
        "Dołączam zdjęcie paragonu.\r\n\r\nW dniu 3.12.2026 o 10:00, reklamacje@sklep.test napisał:\r\n> Dzień dobry",
    ));
    assert!(
        wait_for(30, || messages(&c, jan_id).len() == 3),
        "{:?}",
        messages(&c, jan_id)
    );
    // Listed by when each was sent (the mail's Date has whole seconds, the reply ms): find it.
    let thread = messages(&c, jan_id);
    let answer = thread
        .iter()
        .filter(|m| m["author"] == "customer")
        .nth(1)
        .expect("the answer");
    assert_eq!(
        answer["body"], "Dołączam zdjęcie paragonu.",
        "quoted history is stripped"
    );
    assert_eq!(tickets(&c).len(), 2, "no new ticket for the answer");
    // The answer raised customer_message only: no second acknowledgement.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(smtp.messages().len(), 2);

    let shown = c.get(&format!("/inboxes/{open}")).body;
    assert_eq!(shown["email"]["status"]["state"], "connected", "{shown}");
    assert_eq!(shown["email"]["status"]["imported"], 2, "{shown}");
    assert!(!shown.to_string().contains("imap-pass-123"));
}

#[test]
fn a_wrong_password_is_shown_in_words_and_fixing_it_imports_the_mail() {
    let imap = ImapServer::start_with_users(&[("support", "imap-pass-123")]);
    let smtp = SmtpSink::start();
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let made = c.post_ok("/inboxes", json!({"name": "Pomoc", "email": {
        "address": "pomoc@sklep.test",
        "imap": {"host": "127.0.0.1", "port": imap.port(), "tls": "none", "username": "support", "password": "wrong-one"},
        "poll_seconds": 1}}), 201);
    let id = made["id"].as_i64().unwrap();
    imap.append(
        "support",
        "INBOX",
        &mail(
            "a@klient.test",
            "pomoc@sklep.test",
            "Pytanie",
            "q1@klient.test",
            "",
            "Gdzie paczka?",
        ),
    );
    assert!(wait_for(
        20,
        || c.get(&format!("/inboxes/{id}")).body["email"]["status"]["state"] == "error"
    ));
    let status = c.get(&format!("/inboxes/{id}")).body["email"]["status"].clone();
    let error = status["last_error"].as_str().unwrap().to_lowercase();
    assert!(
        error.contains("password"),
        "the admin reads what is wrong: {status}"
    );
    assert!(!status.to_string().contains("wrong-one"));
    assert!(tickets(&c).is_empty());

    // Fix the password (the rest of the block again, as PATCH replaces it whole).
    let r = c.send("PATCH", &format!("/inboxes/{id}"), &json!({"email": {
        "address": "pomoc@sklep.test",
        "imap": {"host": "127.0.0.1", "port": imap.port(), "tls": "none", "username": "support", "password": "imap-pass-123"},
        "smtp": {"host": "127.0.0.1", "port": smtp.port(), "tls": "none"},
        "poll_seconds": 1}}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        wait_for(30, || tickets(&c).len() == 1),
        "imported after the fix"
    );
    assert!(wait_for(
        10,
        || c.get(&format!("/inboxes/{id}")).body["email"]["status"]["state"] == "connected"
    ));

    // An unreachable server is an error in words, never a failing API call.
    let r = c.send(
        "PATCH",
        &format!("/inboxes/{id}"),
        &json!({"email": {
        "address": "pomoc@sklep.test",
        "imap": {"host": "127.0.0.1", "port": 1, "tls": "none", "username": "support"},
        "poll_seconds": 1}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        wait_for(20, || {
            c.get(&format!("/inboxes/{id}")).body["email"]["status"]["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("reach"))
        }),
        "{}",
        c.get(&format!("/inboxes/{id}")).text
    );
}

#[test]
fn bad_email_settings_are_refused_naming_the_field() {
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let cases = [
        (json!({"address": "not-an-address"}), "email.address"),
        (
            json!({"address": "a@b.test", "imap": {"host": "", "port": 993, "tls": "tls", "username": "u", "password": "p"}}),
            "email.imap.host",
        ),
        (
            json!({"address": "a@b.test", "imap": {"host": "h", "port": 0, "tls": "tls", "username": "u", "password": "p"}}),
            "email.imap.port",
        ),
        (
            json!({"address": "a@b.test", "imap": {"host": "h", "port": 993, "tls": "ssl", "username": "u"}}),
            "email.imap.tls",
        ),
        (
            json!({"address": "a@b.test", "poll_seconds": 0}),
            "email.poll_seconds",
        ),
        (
            json!({"address": "a@b.test", "no_cc": ["x"]}),
            "email.no_cc[0]",
        ),
        (
            json!({"address": "a@b.test", "smtp": {"host": "h", "port": 25, "tls": "none", "password": ""}}),
            "email.smtp.password",
        ),
        (
            json!({"address": "a@b.test", "imap": {"host": "h", "port": 993, "tls": "tls", "username": "u", "pasword": "p"}}),
            "email.imap",
        ),
    ];
    for (email, field) in cases {
        let r = c.send("POST", "/inboxes", &json!({"name": "X", "email": email}));
        assert!(matches!(r.status, 400 | 422), "{email}: {}", r.text);
        assert!(
            r.body["error"]["field"]
                .as_str()
                .unwrap_or_default()
                .starts_with(field),
            "{email}: {}",
            r.text
        );
    }
    assert!(
        c.get("/inboxes").body["inboxes"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was saved"
    );
}

#[test]
fn malformed_mails_are_imported_or_refused_with_a_reason_and_the_worker_goes_on() {
    let imap = ImapServer::start_with_users(&[("support", "imap-pass-123")]);
    let smtp = SmtpSink::start();
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let id = inbox(
        &c,
        "Pomoc",
        "pomoc@sklep.test",
        ALWAYS_OPEN,
        &imap,
        "support",
        &smtp,
    );
    // 8-bit headers in cp1250 and KOI8-R, with the charset only in Content-Type.
    let mut cp1250 =
        b"From: =?utf-8?q?Pawe=C5=82?= <pawel@klient.test>\r\nTo: pomoc@sklep.test\r\nSubject: "
            .to_vec();
    cp1250.extend([
        0xaf, 0xf3, 0xb3, 0x74, 0x61, 0x20, 0x6b, 0x75, 0x72, 0x74, 0x6b, 0x61,
    ]); // "Żółta kurtka" in cp1250
    cp1250.extend(b"\r\nMessage-ID: <cp1250@klient.test>\r\nContent-Type: text/plain; charset=windows-1250\r\n\r\nTre\xb6\xe6\r\n");
    let mut koi8 = b"From: ivan@klient.test\r\nTo: pomoc@sklep.test\r\nSubject: ".to_vec();
    koi8.extend([0xf7, 0xcf, 0xda, 0xd7, 0xd2, 0xc1, 0xd4]); // "Возврат" in KOI8-R
    koi8.extend(b"\r\nMessage-ID: <koi8@klient.test>\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\n\xf4\xc5\xd3\xd4\r\n");
    let no_id = b"From: bez@klient.test\r\nTo: pomoc@sklep.test\r\nSubject: Bez identyfikatora\r\n\r\nTekst.\r\n".to_vec();
    let broken = b"From: zly@klient.test\r\nSubject: Zepsuty MIME\r\nMessage-ID: <broken@klient.test>\r\nContent-Type: multipart/mixed; boundary=\"nie-ma\"\r\n\r\n--inna\r\nContent-Type: text/plain\r\n\r\nCzesc\r\n--inna".to_vec();
    // A 20 MB attachment (base64).
    let mut big = b"From: duzy@klient.test\r\nTo: pomoc@sklep.test\r\nSubject: Wideo\r\nMessage-ID: <big@klient.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nFilm w zalaczniku.\r\n--b\r\nContent-Type: video/mp4; name=\"film.mp4\"\r\nContent-Disposition: attachment; filename=\"film.mp4\"\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    let line = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n";
    for _ in 0..(20 * 1024 * 1024 / 57) {
        big.extend(line.as_bytes());
    }
    big.extend(b"--b--\r\n");
    let garbage = b"\x00\x01\x02 this is not a mail at all".to_vec();
    let after = mail(
        "ostatni@klient.test",
        "pomoc@sklep.test",
        "Po wszystkim",
        "last@klient.test",
        "",
        "Dziala?",
    );
    for raw in [&cp1250, &koi8, &no_id, &broken, &big, &garbage, &after] {
        imap.append("support", "INBOX", raw);
    }
    assert!(
        wait_for(60, || tickets(&c).len() == 6),
        "six imported: {:?}",
        tickets(&c)
            .iter()
            .map(|t| t["subject"].clone())
            .collect::<Vec<_>>()
    );
    let subjects: Vec<String> = tickets(&c)
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_owned())
        .collect();
    for s in [
        "Żółta kurtka",
        "Возврат",
        "Bez identyfikatora",
        "Zepsuty MIME",
        "Wideo",
        "Po wszystkim",
    ] {
        assert!(subjects.contains(&s.to_owned()), "{s} in {subjects:?}");
    }
    let video = tickets(&c)
        .into_iter()
        .find(|t| t["subject"] == "Wideo")
        .unwrap();
    let listed = messages(&c, video["id"].as_i64().unwrap());
    let file = &listed[0]["attachments"][0];
    assert_eq!(file["name"], "film.mp4");
    assert!(file["size"].as_i64().unwrap() > 19 * 1024 * 1024, "{file}");
    assert_eq!(
        file["stored"], false,
        "over the kept limit: listed, not stored"
    );
    assert!(wait_for(
        10,
        || c.get(&format!("/inboxes/{id}")).body["email"]["status"]["refused"] == 1
    ));
    let status = c.get(&format!("/inboxes/{id}")).body["email"]["status"].clone();
    assert!(
        status["recent_refusals"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not a mail"),
        "{status}"
    );
    assert_eq!(status["state"], "connected");
}

#[test]
fn a_server_without_idle_is_polled_every_poll_seconds() {
    let imap = ImapServer::start_without_idle(&[("support", "imap-pass-123")]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mailbox = runtime
        .block_on(Mailbox::connect(&ImapSettings {
            host: "127.0.0.1".into(),
            port: imap.port(),
            tls: Tls::None,
            username: "support".into(),
            password: "imap-pass-123".into(),
            mailbox: "INBOX".into(),
        }))
        .unwrap();
    assert!(
        !mailbox.supports_idle(),
        "the server offers no IDLE: the worker must poll"
    );
    runtime.block_on(mailbox.logout());
    let smtp = SmtpSink::start();
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    inbox(
        &c,
        "Pomoc",
        "pomoc@sklep.test",
        ALWAYS_OPEN,
        &imap,
        "support",
        &smtp,
    );
    assert!(wait_for(
        20,
        || c.get("/inboxes").body["inboxes"][0]["email"]["status"]["state"] == "connected"
    ));
    for i in 0..3 {
        imap.append(
            "support",
            "INBOX",
            &mail(
                "a@klient.test",
                "pomoc@sklep.test",
                &format!("Pytanie {i}"),
                &format!("poll-{i}@klient.test"),
                "",
                "Gdzie paczka?",
            ),
        );
        assert!(
            wait_for(10, || tickets(&c).len() == i + 1),
            "mail {i} imported by polling"
        );
    }
}

#[test]
fn with_reply_to_agent_the_customer_answers_the_assigned_agent() {
    let imap = ImapServer::start_with_users(&[("support", "imap-pass-123")]);
    let smtp = SmtpSink::start();
    let server = TestServer::start();
    let key = server.tenant("Sklep");
    let c = server.as_tenant(&key);
    let agent = c.post_ok(
        "/agents",
        json!({"name": "Ola Nowak", "email": "ola@sklep.test"}),
        201,
    )["id"]
        .as_i64()
        .unwrap();
    let made = c.post_ok("/inboxes", json!({"name": "Pomoc", "email": {
        "address": "pomoc@sklep.test",
        "imap": {"host": "127.0.0.1", "port": imap.port(), "tls": "none", "username": "support", "password": "imap-pass-123"},
        "smtp": {"host": "127.0.0.1", "port": smtp.port(), "tls": "none"},
        "poll_seconds": 1, "reply_to_agent": true}}), 201);
    assert_eq!(made["email"]["reply_to_agent"], true);
    c.post_ok(
        "/rules",
        json!({"name": "Przydziel i potwierdź", "trigger": {"events": ["ticket_created"]},
        "conditions": {"all": []}, "actions": [
            {"plugin": "assign-agent", "config": {"agent": agent.to_string()}},
            {"plugin": "send-message", "config": {"body": "Zajmie się tym {{agent.name}}."}}]}),
        201,
    );
    imap.append(
        "support",
        "INBOX",
        &mail(
            "jan@klient.test",
            "pomoc@sklep.test",
            "Faktura",
            "f1@klient.test",
            "",
            "Proszę o fakturę.",
        ),
    );
    let received = smtp.wait_for(1, Duration::from_secs(30));
    let text = received[0].text();
    assert_eq!(
        header(&text, "Reply-To").as_deref(),
        Some("ola@sklep.test"),
        "{text}"
    );
    assert!(
        header(&text, "From").unwrap().contains("pomoc@sklep.test"),
        "sent from the inbox's address"
    );
    assert!(
        text.contains("Ola Nowak"),
        "signed with the agent's name: {text}"
    );
}
