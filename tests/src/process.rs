//! `ferrule serve` as a real process (the binary the workspace builds), for tests that kill it
//! with SIGKILL and start it again on the same database; with a small blocking HTTP client.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `ferrule` binary beside this executable (a bench in `target/<profile>/`, a test in
/// `target/<profile>/deps/`), built first when missing.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let here = exe.parent().expect("target/<profile>");
    if here.join("ferrule").exists() {
        return here.join("ferrule");
    }
    let dir = here.parent().expect("target/<profile>/deps");
    let path = dir.join("ferrule");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "ferrule-host", "--bin", "ferrule"])
            .status()
            .expect("cargo build");
        assert!(status.success(), "cannot build the ferrule binary");
    }
    path
}

/// A field of `/proc/<pid>/status` in KiB (e.g. `VmRSS:`, `VmHWM:`); 0 when unreadable.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A running `ferrule serve`.
#[derive(Debug)]
pub struct Process {
    child: Child,
    /// `127.0.0.1:port`.
    pub addr: String,
    /// The operator token.
    pub operator: String,
    database: PathBuf,
    log: PathBuf,
}

impl Process {
    /// Start on `database` (a file path) and a free port; waits until `/healthz` answers.
    pub fn start(database: &Path) -> Process {
        Process::start_with(database, &[], &[])
    }

    /// [`Process::start`] with more arguments and environment variables.
    pub fn start_with(database: &Path, args: &[&str], env: &[(&str, &str)]) -> Process {
        let port = crate::mail_servers::free_port();
        let addr = format!("127.0.0.1:{port}");
        let log = database.with_extension(format!("{port}.log"));
        let child = Command::new(binary())
            .args(["serve", "--listen", &addr, "--tick", "1s", "--database"])
            .arg(format!("sqlite://{}", database.display()))
            .args(args)
            .env("FERRULE_OPERATOR_TOKEN", "fro_test_operator_token")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start ferrule serve");
        let p = Process {
            child,
            addr,
            operator: "fro_test_operator_token".into(),
            database: database.to_owned(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if p.try_call("GET", "/api/v1/healthz", None, None)
                .is_some_and(|(s, _)| s == 200)
            {
                return p;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("ferrule serve did not start: {}", p.log());
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown, work in flight is cut off.
    pub fn kill(mut self) -> PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.database.clone()
    }

    /// Send SIGTERM and wait up to `secs` for the process to end: its exit status, or None
    /// when it is still running.
    pub fn terminate(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// A request; (status, JSON body).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.try_call(method, &format!("/api/v1{path}"), token, body)
            .unwrap_or_else(|| panic!("{method} {path}: no answer; log: {}", self.log()))
    }

    fn try_call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Option<(u16, Value)> {
        let mut stream = TcpStream::connect(&self.addr).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).ok()?;
        let text = String::from_utf8_lossy(&raw);
        let status = text.split(' ').nth(1)?.parse().ok()?;
        let (head, rest) = text.split_once("\r\n\r\n")?;
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(rest)
        } else {
            rest.to_owned()
        };
        Some((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}
