//! The front-door benchmark: the release `ferrule serve` (default limits) attacked by slowloris
//! clients (one header byte a second, reconnecting when cut off) and idle connections
//! (reconnecting when closed), while a well-behaved client makes keep-alive requests. Prints the
//! well-behaved client's requests/s and failures before, during and after the attack, the
//! connections the server holds, and its RSS.
//!
//! `cargo build --release -p ferrule-host --bin ferrule && cargo run --release -p ferrule-tests --bin front-door-bench -- [slow] [idle] [seconds]`
//!
//! The attackers run in child processes (`front-door-bench attack slow|idle N ADDR`) so that
//! their sockets do not count against this process's file-descriptor limit.

use ferrule_tests::process::{Process, status_kib};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// The attacker: N connections kept going until killed.
async fn attack(kind: String, n: usize, addr: String) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let (kind, addr) = (kind.clone(), addr.clone());
        tasks.push(tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            // Spread the connects over the first seconds.
            tokio::time::sleep(Duration::from_millis((i % 5000) as u64)).await;
            loop {
                let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await else {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                };
                if kind == "slow" {
                    for byte in b"GET /api/v1/healthz HTTP/1.1\r\nHost: slow\r\nX-A: "
                        .iter()
                        .cycle()
                    {
                        if s.write_all(&[*byte]).await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                } else {
                    use tokio::io::AsyncReadExt;
                    let mut buf = [0u8; 64];
                    let _ = s.read(&mut buf).await;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// A well-behaved client for `secs`: (requests answered, failures).
fn client(addr: &str, secs: u64, token: &str) -> (u64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (done, failed, stop) = (done.clone(), failed.clone(), stop.clone());
            let (addr, token) = (addr.to_owned(), token.to_owned());
            std::thread::spawn(move || {
                let mut conn: Option<TcpStream> = None;
                while !stop.load(Ordering::Relaxed) {
                    if conn.is_none() {
                        conn = TcpStream::connect(&addr).ok();
                        if let Some(c) = &conn {
                            let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                        }
                    }
                    let Some(c) = conn.as_mut() else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    };
                    let request = format!(
                        "GET /api/v1/tickets?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
                    );
                    let mut buf = vec![0u8; 65536];
                    let ok = c.write_all(request.as_bytes()).is_ok()
                        && c.read(&mut buf).is_ok_and(|n| n > 0 && buf.starts_with(b"HTTP/1.1 200"));
                    if ok {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        conn = None;
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    (done.load(Ordering::Relaxed), failed.load(Ordering::Relaxed))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("attack") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(attack(
            args[1].clone(),
            args[2].parse().unwrap(),
            args[3].clone(),
        ));
        return;
    }
    let slow: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let idle: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let secs: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let server = Process::start(&dir.path().join("bench.db"));
    let (_, tenant) = server.call(
        "POST",
        "/tenants",
        Some(&server.operator.clone()),
        Some(&json!({"name": "Sklep", "timezone": "Europe/Warsaw"})),
    );
    let key = tenant["api_key"].as_str().unwrap().to_owned();
    let pid = server.pid();
    let report = |phase: &str, (done, failed): (u64, u64), secs: u64| {
        println!(
            "{phase:>7}: {:.0} requests/s, {failed} failed; server holds {} fds, RSS {:.0} MiB (peak {:.0} MiB)",
            done as f64 / secs as f64,
            open_fds(pid),
            status_kib(pid, "VmRSS:") as f64 / 1024.0,
            status_kib(pid, "VmHWM:") as f64 / 1024.0,
        );
    };
    report("before", client(&server.addr, 5, &key), 5);
    let me = std::env::current_exe().unwrap();
    // Attackers of at most 10,000 sockets each (the file-descriptor limit is 20,000 here).
    let mut attackers = Vec::new();
    for (kind, total) in [("slow", slow), ("idle", idle)] {
        let mut left = total;
        while left > 0 {
            let n = left.min(10_000);
            attackers.push(
                std::process::Command::new(&me)
                    .args(["attack", kind, &n.to_string(), &server.addr])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("an attacker"),
            );
            left -= n;
        }
    }
    println!("attack: {slow} slowloris and {idle} idle connections, reconnecting when cut off");
    std::thread::sleep(Duration::from_secs(6));
    report("during", client(&server.addr, secs, &key), secs);
    for mut a in attackers {
        let _ = a.kill();
        let _ = a.wait();
    }
    std::thread::sleep(Duration::from_secs(12));
    report("after", client(&server.addr, 5, &key), 5);
}
