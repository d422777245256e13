//! The front door against hostile and careless clients, with real sockets against the real
//! `ferrule serve` binary: trickled headers, idle keep-alive connections, stalled bodies, a
//! connection storm, bodies too large or not JSON, and a shutdown while clients stall.

use ferrule_tests::process::Process;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Small limits, so the tests see them act.
const LIMITS: &[&str] = &[
    "--header-read-timeout",
    "1s",
    "--idle-timeout",
    "2s",
    "--body-timeout",
    "1s",
    "--max-connections",
    "40",
    "--shutdown-timeout",
    "2s",
];

fn start(dir: &tempfile::TempDir) -> Process {
    Process::start_with(&dir.path().join("ferrule.db"), LIMITS, &[])
}

fn connect(p: &Process) -> TcpStream {
    let s = TcpStream::connect(&p.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s
}

/// Whether the server closed the connection: a read answers end of file (or a reset).
fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// One raw request on its own connection: (status, JSON body).
fn raw(p: &Process, request: &[u8]) -> (u16, Value) {
    let mut s = connect(p);
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn healthy(p: &Process) -> bool {
    let (status, _) = raw(
        p,
        b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    status == 200
}

#[test]
fn headers_that_trickle_in_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(&dir);
    let mut s = connect(&p);
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    let mut cut = false;
    for byte in b"GET /api/v1/healthz HTTP/1.1\r\nHost: slow.example\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        if s.write_all(&[*byte]).is_err() || closed(&mut s) {
            cut = true;
            break;
        }
    }
    assert!(
        cut,
        "a client sending one byte every 200 ms was never cut off"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "cut after {:?}",
        started.elapsed()
    );
    assert!(healthy(&p), "the server goes on serving");
}

#[test]
fn an_idle_kept_alive_connection_is_closed_and_a_busy_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(&dir);
    let mut s = connect(&p);
    s.write_all(b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "answered"
    );
    // Kept alive: a second request on it works within the idle timeout.
    std::thread::sleep(Duration::from_millis(800));
    s.write_all(b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let n = s.read(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "kept alive"
    );
    // Then silence: closed after the idle timeout (2 s).
    let started = Instant::now();
    assert!(closed(&mut s), "the idle connection stays open");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "closed after {:?}",
        started.elapsed()
    );
}

#[test]
fn a_body_that_stops_arriving_is_answered_408() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(&dir);
    let mut s = connect(&p);
    s.write_all(
        b"POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer fro_test_operator_token\r\nContent-Length: 100\r\n\r\n{\"name\": ",
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"timeout\""), "{text}");
    assert!(healthy(&p));
}

#[test]
fn a_storm_of_idle_connections_does_not_lock_out_new_clients() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(&dir);
    // Twice the limit (40) of connections that never send a byte.
    let mut storm: Vec<TcpStream> = (0..80)
        .filter_map(|_| TcpStream::connect(&p.addr).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        assert!(
            healthy(&p),
            "a new client is served while 80 idle connections are open"
        );
    }
    // The oldest idle ones made room: at most 40 are still open (the idle timeout is 2 s, so
    // within this second only the limit closed them).
    let mut closed_now = 0;
    for s in &mut storm {
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        closed_now += usize::from(closed(s));
    }
    assert!(
        closed_now >= 40,
        "only {closed_now} of 80 idle connections were closed"
    );
    drop(storm);
    assert!(healthy(&p));
}

#[test]
fn bodies_too_large_or_not_json_get_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(&dir);
    let big = format!(
        "{{\"name\": \"{}\", \"timezone\": \"Europe/Warsaw\"}}",
        "a".repeat(3 * 1024 * 1024)
    );
    let request = format!(
        "POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer fro_test_operator_token\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{big}",
        big.len()
    );
    let (status, body) = raw(&p, request.as_bytes());
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "too_large", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2097152"),
        "{body}"
    );
    for media in [
        "text/plain",
        "application/xml",
        "image/png",
        "multipart/form-data; boundary=x",
    ] {
        let body = r#"{"name": "Sklep", "timezone": "Europe/Warsaw"}"#;
        let request = format!(
            "POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: {media}\r\nAuthorization: Bearer fro_test_operator_token\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (status, answer) = raw(&p, request.as_bytes());
        assert_eq!(status, 415, "{media}: {answer}");
        assert_eq!(
            answer["error"]["code"], "unsupported_media_type",
            "{answer}"
        );
    }
    // JSON, and the form type `curl -d` sends with a JSON body, are read.
    for media in [
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
    ] {
        let body = json!({"name": "Sklep", "timezone": "Europe/Warsaw"}).to_string();
        let request = format!(
            "POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: {media}\r\nAuthorization: Bearer fro_test_operator_token\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (status, answer) = raw(&p, request.as_bytes());
        assert_eq!(status, 201, "{media}: {answer}");
    }
}

#[test]
fn shutdown_does_not_wait_for_stalled_clients_beyond_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = start(&dir);
    // Stalled halfway through the headers, and halfway through a body.
    let mut headers = connect(&p);
    headers
        .write_all(b"GET /api/v1/healthz HTTP/1.1\r\nHo")
        .unwrap();
    let mut body = connect(&p);
    body.write_all(b"POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        .unwrap();
    let idle = connect(&p);
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let status = p.terminate(15).expect("the server ended after SIGTERM");
    assert!(status.success(), "{status:?}: {}", p.log());
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "ended after {:?}",
        started.elapsed()
    );
    assert!(p.log().contains("stopped"), "{}", p.log());
    drop((headers, body, idle));
}

#[test]
fn the_first_start_answers_at_once_while_the_plugins_compile() {
    let dir = tempfile::tempdir().unwrap();
    let port = ferrule_tests::mail_servers::free_port();
    let addr = format!("127.0.0.1:{port}");
    // An empty code cache: every built-in plugin is compiled.
    let mut child = std::process::Command::new(ferrule_tests::process::binary())
        .args(["serve", "--listen", &addr, "--database"])
        .arg(format!("sqlite://{}", dir.path().join("db").display()))
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .env("FERRULE_OPERATOR_TOKEN", "fro_x")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let get = || -> Option<(u16, Value)> {
        let mut s = TcpStream::connect(&addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        s.write_all(b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).ok()?;
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text.split(' ').nth(1)?.parse().ok()?;
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        if let Some(answer) = get() {
            break answer;
        }
        assert!(Instant::now() < deadline, "no answer at all");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(first.0, 503, "{first:?}");
    assert_eq!(first.1["error"]["code"], "starting", "{first:?}");
    assert!(
        first.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("built-in plugins"),
        "{first:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(300);
    while get().map(|a| a.0) != Some(200) {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
}
