//! `ferrule plugin inspect` and `ferrule plugin run`.

use crate::runtime::{
    Grants, Limits, PreparedContext, RunError, RunStats, Runtime, Sandbox, StaticDirectory,
};
use ferrule_types::{Agent, Context, Inbox, PluginKind};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Where the command line keeps compiled components (keyed like the server's cache, by the
/// component's SHA-256 and the engine's settings): `FERRULE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/ferrule`, else `~/.cache/ferrule`. None when no folder can be made (the
/// component is then compiled each time).
fn code_cache() -> Option<crate::runtime::CodeCache> {
    let dir = std::env::var_os("FERRULE_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("ferrule")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/ferrule")))?;
    crate::runtime::CodeCache::new(dir).ok()
}

fn load(file: &Path) -> Result<(Arc<Runtime>, crate::runtime::Plugin), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let runtime =
        Runtime::new(code_cache()).map_err(|e| format!("cannot start the runtime: {e}"))?;
    let plugin = runtime
        .load(&bytes)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    Ok((runtime, plugin))
}

fn print(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

pub fn inspect(file: &Path) -> Result<ExitCode, String> {
    let (_runtime, plugin) = load(file)?;
    let mut out = serde_json::to_value(plugin.description()).unwrap_or_default();
    out["sha256"] = json!(plugin.sha256());
    out["imports"] = json!(plugin.imports());
    print(&out);
    Ok(ExitCode::SUCCESS)
}

pub struct RunArgs {
    pub file: PathBuf,
    pub config: String,
    pub context: String,
    pub limits: Option<String>,
    pub grant_http: Vec<String>,
    pub directory: Option<String>,
}

/// JSON from a file, or inline when the argument starts with `{`; errors name the argument and
/// the path of the wrong value.
fn json_arg<T: serde::de::DeserializeOwned>(what: &str, arg: &str) -> Result<T, String> {
    let text = if arg.trim_start().starts_with('{') {
        arg.to_owned()
    } else {
        std::fs::read_to_string(arg).map_err(|e| format!("--{what} {arg}: {e}"))?
    };
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        format!("--{what}: at `{path}`: {}", e.inner())
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DirectoryFile {
    #[serde(default)]
    agents: Vec<Agent>,
    #[serde(default)]
    inboxes: Vec<Inbox>,
}

fn stats_json(stats: &RunStats) -> Value {
    serde_json::to_value(stats).unwrap_or_default()
}

fn failure(e: &RunError) -> Value {
    json!({"kind": serde_json::to_value(e).ok().and_then(|v| v.get("kind").cloned()), "message": e.to_string()})
}

pub fn run(args: RunArgs) -> Result<ExitCode, String> {
    let config: Value = json_arg("config", &args.config)?;
    let context: Context = json_arg("context", &args.context)?;
    let (_runtime, plugin) = load(&args.file)?;
    let kind = plugin.kind();
    let limits = match &args.limits {
        Some(l) => json_arg("limits", l)?,
        None => Limits::for_kind(kind),
    };
    let grants = Grants {
        http: args.grant_http.clone(),
    };
    grants
        .validate()
        .map_err(|e| format!("--grant-http: {e}"))?;
    let dir: DirectoryFile = match &args.directory {
        Some(d) => json_arg("directory", d)?,
        None => DirectoryFile::default(),
    };
    let mut directory = StaticDirectory::new();
    for agent in dir.agents {
        directory = directory.with_agent(agent);
    }
    for inbox in dir.inboxes {
        directory = directory.with_inbox(inbox);
    }
    let sandbox = Sandbox::new(limits)
        .with_grants(grants)
        .with_directory(Arc::new(directory));
    let config_text = config.to_string();
    let name = plugin.description().name.clone();

    // As the server does when a rule is saved: a config outside the plugin's published bounds,
    // or one the plugin rejects, never runs.
    if let Some((path, message)) =
        crate::domain::schema_bounds::check(&plugin.description().config_schema, &config)
    {
        print(
            &json!({"plugin": name, "stage": "validate", "error": {"kind": "invalid_config", "path": path,
                    "message": format!("{message} (its schema says so)")}}),
        );
        return Ok(ExitCode::FAILURE);
    }
    let validation = plugin.validate(&config_text, &sandbox);
    match validation.result {
        Err(e) => {
            print(
                &json!({"plugin": name, "stage": "validate", "failure": failure(&e), "stats": stats_json(&validation.stats)}),
            );
            return Ok(ExitCode::FAILURE);
        }
        Ok(Err(e)) => {
            print(
                &json!({"plugin": name, "stage": "validate", "error": e, "stats": stats_json(&validation.stats)}),
            );
            return Ok(ExitCode::FAILURE);
        }
        Ok(Ok(())) => {}
    }

    let ctx = PreparedContext::new(&context);
    let (out, ok) = match kind {
        PluginKind::Condition => {
            let run = plugin.evaluate(&ctx, &[config_text], &sandbox);
            match run.result {
                Ok(mut answers) => match answers.pop() {
                    Some(Ok(verdict)) => (
                        json!({"plugin": name, "kind": "condition", "verdict": verdict, "stats": stats_json(&run.stats)}),
                        true,
                    ),
                    Some(Err(e)) => (
                        json!({"plugin": name, "kind": "condition", "error": e, "stats": stats_json(&run.stats)}),
                        false,
                    ),
                    None => (
                        json!({"plugin": name, "kind": "condition", "error": "no answer"}),
                        false,
                    ),
                },
                Err(e) => (
                    json!({"plugin": name, "kind": "condition", "failure": failure(&e), "stats": stats_json(&run.stats)}),
                    false,
                ),
            }
        }
        PluginKind::Action => {
            let run = plugin.execute(&config.to_string(), &ctx, &sandbox);
            match run.result {
                Ok(Ok(effects)) => (
                    json!({"plugin": name, "kind": "action", "effects": effects, "stats": stats_json(&run.stats)}),
                    true,
                ),
                Ok(Err(e)) => (
                    json!({"plugin": name, "kind": "action", "error": e, "stats": stats_json(&run.stats)}),
                    false,
                ),
                Err(e) => (
                    json!({"plugin": name, "kind": "action", "failure": failure(&e), "stats": stats_json(&run.stats)}),
                    false,
                ),
            }
        }
    };
    print(&out);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
