//! The plugin runtime: one wasmtime engine per process, compiled code cached on disk, one
//! pre-instantiated component per plugin and a fresh, limited store for every call.

mod bindings;
mod cache;
mod convert;
mod denied;
mod directory;
mod error;
mod grants;
mod limits;
mod plugin;
mod state;

pub use cache::{CodeCache, CodeSource, sha256_hex};
pub use convert::PreparedContext;
pub use directory::{Directory, StaticDirectory};
pub use error::RunError;
pub use grants::{GrantError, Grants};
pub use limits::Limits;
pub use plugin::{Plugin, Run, RunStats, Session, WarmCondition};
pub use state::{LogLine, Sandbox, Secrets, redact};

use ferrule_types::PluginKind;
use state::State;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, HasData, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Largest component accepted, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 32 << 20;

/// Plugin instances that may exist at once (one per call in flight).
pub const POOL_INSTANCES: u32 = 512;

/// How often the epoch advances; the granularity of call timeouts.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Why a component could not be loaded as a plugin.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Larger than [`MAX_COMPONENT_BYTES`].
    #[error("component is {0} bytes; the limit is {MAX_COMPONENT_BYTES}")]
    TooLarge(usize),
    /// Not a valid WebAssembly component.
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// A component, but not of a ferrule world.
    #[error(
        "the component exports neither `ferrule:plugin/condition-plugin@0.1.x` nor \
         `ferrule:plugin/action-plugin@0.1.x`, the worlds this host runs (it exports: {0})"
    )]
    NotAPlugin(String),
    /// It cannot be linked (an import of a known interface with the wrong shape).
    #[error("cannot link the component: {0}")]
    Link(String),
    /// `describe()` failed.
    #[error("describe() failed: {0}")]
    Describe(RunError),
    /// `describe()` answered something unusable.
    #[error("bad description: {0}")]
    BadDescription(String),
}

/// The runtime. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Runtime {
    engine: Engine,
    cache: Option<CodeCache>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("cache", &self.cache)
            .finish()
    }
}

impl Runtime {
    /// A runtime; compiled code is cached in `cache` when given.
    pub fn new(cache: Option<CodeCache>) -> wasmtime::Result<Arc<Self>> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.consume_fuel(true);
        config.epoch_interruption(true);
        config.parallel_compilation(true);
        // Instances come from a pool whose memory pages stay resident between uses, so a fresh
        // sandbox per call does not pay page faults for its stack and heap.
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES * 4)
            .total_memories(POOL_INSTANCES * 2)
            .total_tables(POOL_INSTANCES * 4)
            .max_memories_per_component(4)
            .linear_memory_keep_resident(1 << 20)
            .table_keep_resident(64 << 10);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)?;
        spawn_epoch_ticker(&engine);
        Ok(Arc::new(Runtime { engine, cache }))
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compile (or load from the cache), link and describe a component.
    pub fn load(&self, bytes: &[u8]) -> Result<Plugin, LoadError> {
        if bytes.len() > MAX_COMPONENT_BYTES {
            return Err(LoadError::TooLarge(bytes.len()));
        }
        let sha256 = sha256_hex(bytes);
        let (component, source) = match &self.cache {
            Some(cache) => cache.load(&self.engine, &sha256, bytes),
            None => Component::new(&self.engine, bytes).map(|c| (c, CodeSource::Compiled)),
        }
        .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        let kind = self.kind_of(&component)?;
        let linker = self
            .linker(kind, &component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let imports = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        plugin::Plugin::new(self.engine.clone(), kind, pre, sha256, source, imports)
    }

    fn kind_of(&self, component: &Component) -> Result<PluginKind, LoadError> {
        let exports: Vec<String> = component
            .component_type()
            .exports(&self.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        let exports_compatible = |interface: &str| {
            exports
                .iter()
                .any(|e| e.starts_with(&format!("ferrule:plugin/{interface}@0.1.")))
        };
        if exports_compatible("condition-plugin") {
            Ok(PluginKind::Condition)
        } else if exports_compatible("action-plugin") {
            Ok(PluginKind::Action)
        } else {
            Err(LoadError::NotAPlugin(if exports.is_empty() {
                "nothing".into()
            } else {
                exports.join(", ")
            }))
        }
    }

    /// The imports a kind of plugin gets; every other import the component names is linked to a
    /// trap that fails the call with `CapabilityDenied`.
    fn linker(&self, kind: PluginKind, component: &Component) -> wasmtime::Result<Linker<State>> {
        let mut linker = Linker::<State>::new(&self.engine);
        // Rust's std on wasm32-wasip2 imports stdio and random even when unused: link those,
        // with captured stdout/stderr and an empty environment. Files, clocks, sockets and exit
        // stay out.
        link_wasi_basics(&mut linker)?;
        bindings::log::add_to_linker::<State, Own>(&mut linker, |s| s)?;
        bindings::directory::add_to_linker::<State, Own>(&mut linker, |s| s)?;
        if kind == PluginKind::Action {
            wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
            bindings::secrets::add_to_linker::<State, Own>(&mut linker, |s| s)?;
        }
        denied::link_denied(&self.engine, &mut linker, kind, component)?;
        Ok(linker)
    }
}

struct Own;

impl HasData for Own {
    type Data<'a> = &'a mut State;
}

struct Io;

impl HasData for Io {
    type Data<'a> = &'a mut ResourceTable;
}

fn link_wasi_basics(l: &mut Linker<State>) -> wasmtime::Result<()> {
    use wasmtime_wasi::WasiView;
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::p2::bindings::{cli, random, sync::io};
    use wasmtime_wasi::random::WasiRandom;
    wasmtime_wasi::p2::bindings::io::error::add_to_linker::<State, Io>(l, |t| t.ctx().table)?;
    io::poll::add_to_linker::<State, Io>(l, |t| t.ctx().table)?;
    io::streams::add_to_linker::<State, Io>(l, |t| t.ctx().table)?;
    // An empty environment: no variables, no arguments (std's panic handler reads it).
    cli::environment::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::stdin::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::stdout::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::stderr::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_input::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_output::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_stdin::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_stdout::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_stderr::add_to_linker::<State, WasiCli>(l, State::cli)?;
    random::random::add_to_linker::<State, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure::add_to_linker::<State, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<State, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    Ok(())
}

/// Advance the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("ferrule-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}
