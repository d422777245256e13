//! The data of one store: a fresh one per call, so nothing leaks between tickets or tenants.

use super::bindings::{directory as wd, log as wl};
use super::convert;
use super::directory::Directory;
use super::grants::{Grants, HttpHooks};
use super::limits::Limits;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// One line a plugin logged (or printed) during a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// `debug`, `info`, `warn`, `error`, or `stdout` / `stderr` for printed text.
    pub level: &'static str,
    /// The text.
    pub message: String,
}

/// What a call may touch besides its arguments: the installation's grants, its limits and the
/// tenant's directory.
#[derive(Clone)]
pub struct Sandbox {
    /// Limits of each call.
    pub limits: Limits,
    /// Capability grants.
    pub grants: Arc<Grants>,
    /// The tenant's directory.
    pub directory: Arc<dyn Directory>,
    /// The installation's secrets (actions only; never logged).
    pub secrets: Arc<Secrets>,
}

/// Secrets by name.
pub type Secrets = BTreeMap<String, String>;

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("limits", &self.limits)
            .field("grants", &self.grants)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Sandbox {
    /// A sandbox with these limits, no grants and an empty directory.
    pub fn new(limits: Limits) -> Self {
        Sandbox {
            limits,
            grants: Arc::new(Grants::default()),
            directory: Arc::new(super::directory::StaticDirectory::new()),
            secrets: Arc::new(Secrets::new()),
        }
    }

    /// With these grants.
    pub fn with_grants(mut self, grants: Grants) -> Self {
        self.grants = Arc::new(grants);
        self
    }

    /// With these secrets.
    pub fn with_secrets(mut self, secrets: Arc<Secrets>) -> Self {
        self.secrets = secrets;
        self
    }

    /// With this directory.
    pub fn with_directory(mut self, directory: Arc<dyn Directory>) -> Self {
        self.directory = directory;
        self
    }
}

const PRINT_BUFFER_BYTES: usize = 1 << 20;

pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    http_ctx: WasiHttpCtx,
    http_hooks: HttpHooks,
    directory: Arc<dyn Directory>,
    secrets: Arc<Secrets>,
    pub(crate) limits: Limits,
    pub(crate) peak_memory: usize,
    pub(crate) memory_exceeded: bool,
    pub(crate) logs: Vec<LogLine>,
    log_bytes: usize,
    pub(crate) stdout: MemoryOutputPipe,
    pub(crate) stderr: MemoryOutputPipe,
    /// Bytes of stdout and stderr already moved into the log (a store kept for several calls
    /// of one event logs each call's output once).
    printed: (usize, usize),
    pub(crate) denied: Arc<Mutex<Option<String>>>,
}

impl State {
    pub(crate) fn new(sandbox: &Sandbox) -> State {
        let limits = sandbox.limits;
        // Printing is buffered up to a fixed size (writes past it fail in the guest); only
        // `log_bytes` of it are kept in the run's log.
        let stdout = MemoryOutputPipe::new(PRINT_BUFFER_BYTES);
        let stderr = MemoryOutputPipe::new(PRINT_BUFFER_BYTES);
        // No preopened directories, no environment, no arguments, no network: the WASI context
        // grants nothing. Only stdout/stderr (captured) and random numbers are linked at all.
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .build();
        let denied = Arc::new(Mutex::new(None));
        State {
            wasi,
            table: ResourceTable::new(),
            http_ctx: WasiHttpCtx::new(),
            http_hooks: HttpHooks {
                grants: sandbox.grants.clone(),
                timeout: Duration::from_millis(limits.http_timeout_ms),
                denied: denied.clone(),
            },
            directory: sandbox.directory.clone(),
            secrets: sandbox.secrets.clone(),
            limits,
            peak_memory: 0,
            memory_exceeded: false,
            logs: Vec::new(),
            log_bytes: 0,
            stdout,
            stderr,
            printed: (0, 0),
            denied,
        }
    }

    /// Start another call on this store: its own log budget and log lines.
    pub(crate) fn next_call(&mut self) {
        self.logs.clear();
        self.log_bytes = 0;
    }

    pub(crate) fn push_log(&mut self, level: &'static str, message: String) {
        let message = redact(&self.secrets, message);
        if self.log_bytes >= self.limits.log_bytes {
            return;
        }
        let room = self.limits.log_bytes - self.log_bytes;
        let mut message = message;
        if message.len() > room {
            let mut cut = room;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" [log budget exhausted]");
        }
        self.log_bytes += message.len();
        self.logs.push(LogLine { level, message });
    }

    /// Move captured stdout/stderr into the log, and return stderr's text.
    pub(crate) fn drain_output(&mut self) -> String {
        let (out, err) = (self.stdout.contents(), self.stderr.contents());
        let (seen_out, seen_err) = self.printed;
        self.printed = (out.len(), err.len());
        let out = String::from_utf8_lossy(out.get(seen_out..).unwrap_or_default())
            .trim_end()
            .to_owned();
        let err = String::from_utf8_lossy(err.get(seen_err..).unwrap_or_default())
            .trim_end()
            .to_owned();
        if !out.is_empty() {
            self.push_log("stdout", out);
        }
        if !err.is_empty() {
            self.push_log("stderr", err.clone());
        }
        err
    }

    pub(crate) fn denied(&self) -> Option<String> {
        self.denied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http_ctx,
            table: &mut self.table,
            hooks: &mut self.http_hooks,
        }
    }
}

impl wasmtime::ResourceLimiter for State {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limits.memory_bytes {
            self.memory_exceeded = true;
            return Ok(false);
        }
        self.peak_memory = self.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl wl::Host for State {
    fn log(&mut self, level: wl::Level, message: String) {
        let level = match level {
            wl::Level::Debug => "debug",
            wl::Level::Info => "info",
            wl::Level::Warn => "warn",
            wl::Level::Error => "error",
        };
        self.push_log(level, message);
    }
}

impl wd::Host for State {
    fn find_agent(&mut self, id: String) -> Option<wd::Agent> {
        self.directory.agent(&id).map(convert::agent)
    }

    fn find_inbox(&mut self, id: String) -> Option<wd::Inbox> {
        self.directory.inbox(&id).map(convert::inbox)
    }
}

impl super::bindings::secrets::Host for State {
    fn get(&mut self, name: String) -> Option<String> {
        self.secrets.get(&name).cloned()
    }
}

impl super::bindings::types::Host for State {}

/// `text` with every secret value replaced by `[secret]`, so what a plugin logs or fails with
/// never shows a secret.
pub fn redact(secrets: &Secrets, text: String) -> String {
    let mut text = text;
    for value in secrets.values().filter(|v| !v.is_empty()) {
        if text.contains(value.as_str()) {
            text = text.replace(value.as_str(), "[secret]");
        }
    }
    text
}
