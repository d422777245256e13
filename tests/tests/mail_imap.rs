//! The IMAP client (`channels::mail::imap`) against a real Dovecot, and the SMTP sink, both from
//! `ferrule_tests::mail_servers`.

use ferrule_host::channels::mail::imap::{
    ImapErrorKind, ImapSettings, MAX_MESSAGE_BYTES, Mailbox, Tls,
};
use ferrule_tests::mail_servers::{ImapServer, SinkOptions, SmtpSink, free_port};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

fn settings(port: u16, password: &str) -> ImapSettings {
    ImapSettings {
        host: "127.0.0.1".into(),
        port,
        tls: Tls::None,
        username: "support".into(),
        password: password.into(),
        mailbox: "INBOX".into(),
    }
}

fn mail(n: usize) -> Vec<u8> {
    format!(
        "From: Customer {n} <customer{n}@example.com>\r\nTo: support@example.com\r\n\
         Subject: Order {n}\r\nMessage-ID: <m{n}@example.com>\r\n\r\nWhere is order {n}?\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn fetch_after_returns_the_new_messages_in_uid_order_with_their_raw_bytes() {
    let server = ImapServer::start();
    let sent: Vec<Vec<u8>> = (1..=3).map(mail).collect();
    server.append_many("support", "INBOX", sent.iter().map(Vec::as_slice));
    assert_eq!(server.message_count("support", "INBOX"), 3);

    let mut mailbox = Mailbox::connect(&settings(server.port(), "secret"))
        .await
        .unwrap();
    assert!(mailbox.supports_idle());
    assert_ne!(mailbox.uid_validity(), 0);

    let fetched = mailbox.fetch_after(0, 100).await.unwrap();
    let uids: Vec<u32> = fetched.iter().map(|f| f.uid).collect();
    assert_eq!(uids, [1, 2, 3]);
    for (got, want) in fetched.iter().zip(&sent) {
        assert_eq!(got.raw, *want);
        assert!(!got.truncated);
    }
    // `4:*` matches the highest UID (3) too: it must not come back.
    assert!(mailbox.fetch_after(3, 100).await.unwrap().is_empty());
    let first_two = mailbox.fetch_after(0, 2).await.unwrap();
    assert_eq!(first_two.iter().map(|f| f.uid).collect::<Vec<_>>(), [1, 2]);
    let after_one = mailbox.fetch_after(1, 100).await.unwrap();
    assert_eq!(after_one.iter().map(|f| f.uid).collect::<Vec<_>>(), [2, 3]);
    mailbox.logout().await;
}

#[tokio::test]
async fn wait_with_idle_returns_soon_after_a_message_arrives() {
    let server = Arc::new(ImapServer::start());
    let mailbox = Mailbox::connect(&settings(server.port(), "secret"))
        .await
        .unwrap();
    let appender = {
        let server = server.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            server.append("support", "INBOX", &mail(1));
        })
    };
    let started = Instant::now();
    let mut mailbox = mailbox.wait(Duration::from_secs(20)).await.unwrap();
    let waited = started.elapsed();
    appender.join().unwrap();
    assert!(waited < Duration::from_secs(5), "IDLE took {waited:?}");
    assert!(
        waited >= Duration::from_millis(250),
        "returned before the mail: {waited:?}"
    );
    let fetched = mailbox.fetch_after(0, 10).await.unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].raw, mail(1));
    mailbox.logout().await;
}

#[tokio::test]
async fn wait_without_news_ends_after_its_timeout_and_the_session_still_works() {
    let server = ImapServer::start();
    let mailbox = Mailbox::connect(&settings(server.port(), "secret"))
        .await
        .unwrap();
    let started = Instant::now();
    let mut mailbox = mailbox.wait(Duration::from_millis(500)).await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_secs(5),
        "waited {waited:?}"
    );
    server.append("support", "INBOX", &mail(7));
    assert_eq!(mailbox.fetch_after(0, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_error() {
    let server = ImapServer::start();
    let error = Mailbox::connect(&settings(server.port(), "wrong"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ImapErrorKind::Auth, "{error}");
    assert!(
        error.to_string().starts_with("wrong user name or password"),
        "{error}"
    );
}

#[tokio::test]
async fn a_missing_mailbox_is_a_mailbox_error() {
    let server = ImapServer::start();
    let mut settings = settings(server.port(), "secret");
    settings.mailbox = "Nowhere".into();
    let error = Mailbox::connect(&settings).await.unwrap_err();
    assert_eq!(error.kind, ImapErrorKind::Mailbox, "{error}");
    assert!(error.to_string().contains("`Nowhere`"), "{error}");
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let port = free_port();
    let error = Mailbox::connect(&settings(port, "secret"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ImapErrorKind::Unreachable, "{error}");
    assert!(
        error.to_string().starts_with(&format!(
            "cannot reach 127.0.0.1:{port}: connection refused"
        )),
        "{error}"
    );
}

#[tokio::test]
async fn tls_to_a_plain_text_server_is_a_tls_error() {
    let server = ImapServer::start();
    for tls in [Tls::Tls, Tls::Starttls] {
        let mut settings = settings(server.port(), "secret");
        settings.tls = tls;
        let error = Mailbox::connect(&settings).await.unwrap_err();
        assert_eq!(error.kind, ImapErrorKind::Tls, "{tls:?}: {error}");
    }
}

#[tokio::test]
async fn a_stopped_server_is_unreachable_until_it_starts_again_with_its_mail() {
    let mut server = ImapServer::start();
    server.append("support", "INBOX", &mail(1));
    server.stop();
    let error = Mailbox::connect(&settings(server.port(), "secret"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ImapErrorKind::Unreachable, "{error}");
    server.start_again();
    let mut mailbox = Mailbox::connect(&settings(server.port(), "secret"))
        .await
        .unwrap();
    assert_eq!(mailbox.fetch_after(0, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn ten_thousand_appended_messages_are_counted_and_fetched_in_pages() {
    let server = ImapServer::start();
    let sent: Vec<Vec<u8>> = (1..=10_000).map(mail).collect();
    let started = Instant::now();
    server.append_many("support", "INBOX", sent.iter().map(Vec::as_slice));
    let appending = started.elapsed();
    assert_eq!(server.message_count("support", "INBOX"), 10_000);

    let mut mailbox = Mailbox::connect(&settings(server.port(), "secret"))
        .await
        .unwrap();
    let mut last = 0;
    let mut seen = 0;
    loop {
        let page = mailbox.fetch_after(last, 1_000).await.unwrap();
        if page.is_empty() {
            break;
        }
        for fetched in &page {
            assert_eq!(fetched.raw, sent[seen], "uid {}", fetched.uid);
            assert!(fetched.uid > last);
            last = fetched.uid;
            seen += 1;
        }
    }
    assert_eq!(seen, 10_000);
    eprintln!("10,000 appends took {appending:?}");
}

#[test]
fn users_added_after_start_can_log_in_and_have_their_own_mailboxes() {
    let server = ImapServer::start();
    server.add_user("billing", "pw2");
    server.append("billing", "Invoices", &mail(1));
    assert_eq!(server.message_count("billing", "Invoices"), 1);
    assert_eq!(server.message_count("support", "INBOX"), 0);
}

/// A hostile IMAP server on a free port: it logs anyone in, has one message of `claimed` bytes,
/// and answers the body fetch with a literal announced as `announced` bytes, then endless `x`.
async fn lying_server(claimed: u64, announced: u64) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = tokio::io::BufReader::new(read).lines();
        write.write_all(b"* OK hostile ready\r\n").await.unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            let (tag, command) = line.split_once(' ').unwrap_or((&line, ""));
            let answer = if command.starts_with("CAPABILITY") {
                format!("* CAPABILITY IMAP4rev1 IDLE\r\n{tag} OK done\r\n")
            } else if command.starts_with("SELECT") {
                format!("* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n{tag} OK [READ-WRITE] done\r\n")
            } else if command.contains("BODY.PEEK") {
                let head =
                    format!("* 1 FETCH (UID 1 RFC822.SIZE {claimed} BODY[]<0> {{{announced}}}\r\n");
                if write.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let junk = vec![b'x'; 64 * 1024];
                while write.write_all(&junk).await.is_ok() {}
                return;
            } else if command.starts_with("UID FETCH") {
                format!("* 1 FETCH (UID 1 RFC822.SIZE {claimed})\r\n{tag} OK done\r\n")
            } else {
                format!("{tag} OK done\r\n")
            };
            if write.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    port
}

#[tokio::test]
async fn a_server_sending_more_than_it_announced_gets_a_protocol_error_not_our_memory() {
    for (claimed, announced) in [
        (10, 5_000_000),
        (10, 400_000_000),
        (100_000_000, 400_000_000),
    ] {
        let port = lying_server(claimed, announced).await;
        let mut mailbox = Mailbox::connect(&settings(port, "any")).await.unwrap();
        let started = Instant::now();
        let error = mailbox.fetch_after(0, 10).await.unwrap_err();
        assert_eq!(error.kind, ImapErrorKind::Protocol, "{error}");
        assert!(
            error.to_string().contains("sent more than asked for"),
            "{error}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_greeting_that_never_ends_is_cut_off() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let _ = stream.write_all(b"* OK ").await;
        let junk = vec![b'x'; 64 * 1024];
        while stream.write_all(&junk).await.is_ok() {}
    });
    let started = Instant::now();
    let error = Mailbox::connect(&settings(port, "any")).await.unwrap_err();
    assert_eq!(error.kind, ImapErrorKind::Protocol, "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_message_over_the_limit_is_fetched_cut_off_and_marked_truncated() {
    let server = ImapServer::start();
    let mut big = b"Subject: huge\r\n\r\n".to_vec();
    let line = [b'a'; 998];
    while big.len() <= MAX_MESSAGE_BYTES + 1000 {
        big.extend_from_slice(&line);
        big.extend_from_slice(b"\r\n");
    }
    server.append_many("support", "INBOX", [mail(1).as_slice(), &big, &mail(3)]);
    let mut mailbox = Mailbox::connect(&settings(server.port(), "secret"))
        .await
        .unwrap();
    let fetched = mailbox.fetch_after(0, 10).await.unwrap();
    assert_eq!(fetched.len(), 3);
    assert!(!fetched[0].truncated && !fetched[2].truncated);
    assert!(fetched[1].truncated);
    assert_eq!(fetched[1].raw.len(), MAX_MESSAGE_BYTES);
    assert_eq!(fetched[1].raw[..], big[..MAX_MESSAGE_BYTES]);
    assert_eq!(fetched[2].raw, mail(3));
}

/// One SMTP reply: its code and all its lines.
fn reply(reader: &mut impl BufRead) -> (u16, String) {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.len() >= 4, "short SMTP reply line: {line:?}");
        text.push_str(&line);
        if line.as_bytes()[3] == b' ' {
            return (line[..3].parse().unwrap(), text);
        }
    }
}

/// A raw SMTP client: send `line` (CRLF added), return the reply.
struct Smtp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Smtp {
    fn connect(port: u16) -> Smtp {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut smtp = Smtp {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        assert_eq!(reply(&mut smtp.reader).0, 220);
        assert_eq!(smtp.say("EHLO client.test").0, 250);
        smtp
    }

    fn say(&mut self, line: &str) -> (u16, String) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
        reply(&mut self.reader)
    }
}

const MESSAGE: &str = "From: support@example.com\r\nTo: customer@example.com\r\n\
                       Subject: Your order\r\n\r\nIt ships today.\r\n.";

#[test]
fn the_smtp_sink_keeps_accepted_mail_and_refuses_refuse_recipients() {
    let sink = SmtpSink::start();
    let mut smtp = Smtp::connect(sink.port());
    assert_eq!(smtp.say("MAIL FROM:<support@example.com>").0, 250);
    assert_eq!(smtp.say("RCPT TO:<customer@example.com>").0, 250);
    let (code, text) = smtp.say("RCPT TO:<refuse-me@example.com>");
    assert_eq!(code, 550, "{text}");
    assert!(text.contains("mailbox unavailable"), "{text}");
    assert_eq!(smtp.say("DATA").0, 354);
    assert_eq!(smtp.say(MESSAGE).0, 250);
    assert_eq!(smtp.say("QUIT").0, 221);

    let received = sink.wait_for(1, Duration::from_secs(10));
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].envelope_from, "support@example.com");
    assert_eq!(received[0].envelope_to, ["customer@example.com"]);
    assert_eq!(received[0].auth_user, None);
    assert!(received[0].text().contains("Subject: Your order\r\n"));
    assert!(received[0].text().ends_with("It ships today.\r\n"));
}

#[test]
fn the_smtp_sink_checks_credentials_and_can_fail_transiently() {
    let sink = SmtpSink::start_with(SinkOptions {
        credentials: Some(("mailer".into(), "pw".into())),
        fail_first: 1,
        ..SinkOptions::default()
    });
    let mut smtp = Smtp::connect(sink.port());
    // Without AUTH: refused.
    assert_eq!(smtp.say("MAIL FROM:<a@example.com>").0, 530);
    // AUTH PLAIN base64("\0mailer\0bad"), then base64("\0mailer\0pw").
    assert_eq!(smtp.say("AUTH PLAIN AG1haWxlcgBiYWQ=").0, 535);
    assert_eq!(smtp.say("AUTH PLAIN AG1haWxlcgBwdw==").0, 235);
    for expected in [451, 250] {
        assert_eq!(smtp.say("MAIL FROM:<a@example.com>").0, 250);
        assert_eq!(smtp.say("RCPT TO:<b@example.com>").0, 250);
        assert_eq!(smtp.say("DATA").0, 354);
        assert_eq!(smtp.say(MESSAGE).0, expected);
    }
    let received = sink.wait_for(1, Duration::from_secs(10));
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].auth_user.as_deref(), Some("mailer"));
}

#[test]
fn an_smtp_sink_can_start_later_on_a_port_that_refused_before() {
    let port = free_port();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    let mut sink = SmtpSink::start_on(port);
    assert_eq!(sink.port(), port);
    Smtp::connect(port);
    sink.stop();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}
