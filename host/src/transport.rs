//! The front door: accepts HTTP/1.1 connections for the API and keeps them from taking the
//! server down. Every connection is watched: one that sends a request's headers too slowly
//! (slowloris), or sits idle between requests too long, is closed; a request body that stops
//! arriving is answered 408 by the body extractor. Beyond `max_connections` a connection that
//! is not answering a request makes room for the new one — first those that never completed a
//! request (idle, then trickling headers), then idle clients, oldest first — so `/healthz` and
//! live clients keep being served; when every connection is busy the new one is refused. On shutdown, accepting stops, idle
//! connections close, requests in flight get `shutdown_timeout` to finish, and what is still
//! open then is dropped (work the engine committed is durable; the rest is redone at the next
//! start).

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tower_service::Service;

/// Limits of the front door.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a request's headers may take to arrive, from their first byte.
    pub header_read_timeout: Duration,
    /// Longest a connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Longest a request body may take to arrive.
    pub body_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Longest requests in flight may run after a shutdown was asked for.
    pub shutdown_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_connections: 4096,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// Milliseconds since the server started (for the atomics below).
fn clock(start: Instant) -> i64 {
    start.elapsed().as_millis() as i64
}

/// What the watchdog knows of one connection.
struct Watch {
    start: Instant,
    /// Requests being answered.
    in_flight: AtomicUsize,
    /// When the last request was answered (or the connection opened).
    quiet_since: AtomicI64,
    /// When the first byte after `quiet_since` arrived (-1: none yet).
    first_byte: AtomicI64,
    /// Requests answered on it.
    served: AtomicU64,
    /// Closes the connection.
    close: Notify,
}

impl Watch {
    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0 && self.first_byte.load(Ordering::Acquire) < 0
    }

    /// Which connection goes first when there is no room: (class, since), lowest first; None
    /// for one that must stay (a request in flight, or headers that just started arriving).
    /// Connections that never completed a request go before those of clients that did:
    /// idle ones, then ones trickling headers (slowloris), then idle clients.
    fn eviction(&self, now: i64) -> Option<(u8, i64)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let served = self.served.load(Ordering::Acquire) > 0;
        let first = self.first_byte.load(Ordering::Acquire);
        match (served, first) {
            (false, -1) => Some((0, self.quiet_since.load(Ordering::Acquire))),
            (false, first) if now - first > 1000 => Some((1, first)),
            (true, -1) => Some((2, self.quiet_since.load(Ordering::Acquire))),
            (true, first) if now - first > 1000 => Some((3, first)),
            _ => None,
        }
    }
}

/// The socket, noting when bytes arrive.
struct Watched {
    inner: TcpStream,
    watch: Arc<Watch>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let now = clock(self.watch.start);
            let _ = self.watch.first_byte.compare_exchange(
                -1,
                now,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Open connections.
#[derive(Default)]
struct Registry {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Watch>>>,
}

impl Registry {
    /// Make room for one more: false when every connection is busy.
    fn room(&self, max: usize) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() < max {
            return true;
        }
        // See `Watch::eviction`; the one chosen leaves the count now, so the next new
        // connection picks another one.
        let now = open.values().next().map_or(0, |w| clock(w.start));
        let oldest = open
            .iter()
            .filter_map(|(id, w)| w.eviction(now).map(|key| (key, *id)))
            .min()
            .map(|(_, id)| id);
        match oldest.and_then(|id| open.remove(&id)) {
            Some(w) => {
                w.close.notify_one();
                true
            }
            None => false,
        }
    }

    fn count(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Serve `app` on `listener` with `limits` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let start = Instant::now();
    let registry = Arc::new(Registry::default());
    let stopping = Arc::new(tokio::sync::watch::channel(false).0);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::spawn(trim_after_storms(registry.clone()));
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        while tasks.try_join_next().is_some() {}
        if !registry.room(limits.max_connections) {
            tracing::debug!("every connection is busy; a new one is refused");
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let id = registry.next.fetch_add(1, Ordering::Relaxed);
        let watch = Arc::new(Watch {
            start,
            in_flight: AtomicUsize::new(0),
            quiet_since: AtomicI64::new(clock(start)),
            first_byte: AtomicI64::new(-1),
            served: AtomicU64::new(0),
            close: Notify::new(),
        });
        registry
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, watch.clone());
        let (app, registry, stopping) = (app.clone(), registry.clone(), stopping.subscribe());
        tasks.spawn(async move {
            connection(stream, app, watch, limits, stopping).await;
            registry
                .open
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    let open = registry.count();
    if open > 0 {
        tracing::info!(
            open,
            deadline_s = limits.shutdown_timeout.as_secs(),
            "waiting for requests in flight"
        );
    }
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = tasks.len(),
            "shutdown deadline reached: dropping the connections still open"
        );
        tasks.abort_all();
    }
}

async fn connection(
    stream: TcpStream,
    app: Router,
    watch: Arc<Watch>,
    limits: Limits,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let io = TokioIo::new(Watched {
        inner: stream,
        watch: watch.clone(),
    });
    let service_watch = watch.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut app = app.clone();
        let watch = service_watch.clone();
        watch.in_flight.fetch_add(1, Ordering::AcqRel);
        async move {
            let response = app.call(request.map(axum::body::Body::new)).await;
            // The request is answered: the connection is quiet until the next one's first byte.
            watch
                .quiet_since
                .store(clock(watch.start), Ordering::Release);
            watch.first_byte.store(-1, Ordering::Release);
            watch.served.fetch_add(1, Ordering::AcqRel);
            watch.in_flight.fetch_sub(1, Ordering::AcqRel);
            response
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut graceful = false;
    loop {
        tokio::select! {
            _ = &mut conn => return,
            _ = watch.close.notified() => return,
            changed = stopping.changed(), if !graceful => {
                if changed.is_err() || *stopping.borrow() {
                    graceful = true;
                    if watch.idle() {
                        return;
                    }
                    conn.as_mut().graceful_shutdown();
                }
            }
            _ = tick.tick() => {
                let now = clock(watch.start);
                if watch.in_flight.load(Ordering::Acquire) > 0 {
                    continue;
                }
                let first = watch.first_byte.load(Ordering::Acquire);
                let quiet = now - watch.quiet_since.load(Ordering::Acquire);
                // Headers that trickle in (slowloris), or no next request at all.
                if first >= 0 && now - first > limits.header_read_timeout.as_millis() as i64 {
                    return;
                }
                if first < 0 && quiet > limits.idle_timeout.as_millis() as i64 {
                    return;
                }
                if graceful && watch.idle() {
                    return;
                }
            }
        }
    }
}

/// After a storm of connections has gone, give the freed memory back to the system (glibc
/// keeps it in its arenas otherwise).
async fn trim_after_storms(registry: Arc<Registry>) {
    let mut peak = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let now = registry.count();
        peak = peak.max(now);
        if peak >= now + 500 {
            // SAFETY: malloc_trim takes no pointers; it only hands free pages of glibc's arenas
            // back to the system.
            #[allow(unsafe_code)]
            unsafe {
                libc::malloc_trim(0);
            }
            peak = now;
        }
    }
}
