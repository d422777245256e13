//! `ferrule plugin new NAME --kind condition|action`: a plugin crate that builds and tests out of
//! the box (a native unit test and a test of the built component in the real sandbox).

use super::Kind;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The ferrule source tree this binary was built from.
fn default_ferrule_tree() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn camel(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

pub fn new(
    name: &str,
    kind: Kind,
    path: Option<PathBuf>,
    ferrule: Option<PathBuf>,
) -> Result<ExitCode, String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-');
    if !valid {
        return Err(format!(
            "plugin name `{name}`: use lower-case letters, digits and `-`, starting with a letter"
        ));
    }
    let tree = ferrule.unwrap_or_else(default_ferrule_tree);
    let tree = tree.canonicalize().map_err(|e| {
        format!(
            "ferrule source tree {}: {e} (pass --ferrule PATH)",
            tree.display()
        )
    })?;
    if !tree.join("plugin-sdk").join("Cargo.toml").exists() {
        return Err(format!(
            "{} has no plugin-sdk/ (pass --ferrule PATH to a ferrule checkout)",
            tree.display()
        ));
    }
    let dir = path.unwrap_or_else(|| PathBuf::from(name));
    if dir.exists()
        && dir
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(format!("{} already exists and is not empty", dir.display()));
    }
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('-', "_"))
            .replace("{{Type}}", &camel(name))
            .replace("{{ferrule}}", &tree.display().to_string())
    };
    let (lib, test, config) = match kind {
        Kind::Condition => (CONDITION_LIB, CONDITION_TEST, CONDITION_CONFIG),
        Kind::Action => (ACTION_LIB, ACTION_TEST, ACTION_CONFIG),
    };
    let files: [(&str, String); 7] = [
        ("Cargo.toml", fill(CARGO_TOML)),
        (".cargo/config.toml", CARGO_CONFIG.to_owned()),
        (".gitignore", "/target\n".to_owned()),
        ("src/lib.rs", fill(lib)),
        ("tests/component.rs", fill(test)),
        ("config.json", config.to_owned()),
        ("README.md", fill(README)),
    ];
    for (file, text) in &files {
        let target = dir.join(file);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&target, text).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    // Pin dependencies to the versions ferrule itself is tested with.
    let lock = tree.join("Cargo.lock");
    if lock.exists() {
        std::fs::copy(&lock, dir.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    }
    let context = tree.join("tests").join("fixtures").join("context.json");
    if context.exists() {
        std::fs::copy(&context, dir.join("context.json"))
            .map_err(|e| format!("context.json: {e}"))?;
    }
    println!(
        "created {} ({} plugin `{name}`)",
        dir.display(),
        match kind {
            Kind::Condition => "condition",
            Kind::Action => "action",
        }
    );
    println!("next: cd {} && cargo test", dir.display());
    Ok(ExitCode::SUCCESS)
}

const CARGO_TOML: &str = r##"[package]
name = "{{name}}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
ferrule-plugin-sdk = { path = "{{ferrule}}/plugin-sdk" }
serde = { version = "1", features = ["derive"] }
schemars = "1.2"

[dev-dependencies]
# Runs the built component in the real sandbox from `tests/component.rs`.
ferrule-host = { path = "{{ferrule}}/host" }

# The component is built with this profile: small and fast.
[profile.plugin]
inherits = "release"
opt-level = 3
lto = true
codegen-units = 1
panic = "abort"
strip = true

# The sandbox (wasmtime) is optimised even in test builds.
[profile.dev.package."*"]
opt-level = 2
debug = false

[workspace]
"##;

const CARGO_CONFIG: &str = r##"# A plugin needs far less than Rust's default 1 MiB wasm stack.
[target.wasm32-wasip2]
rustflags = ["-C", "link-arg=-zstack-size=131072"]
"##;

const README: &str = r##"# {{name}}

A ferrule plugin.

- Test (natively and as a component in the sandbox): `cargo test`
- Build the component: `cargo build --target wasm32-wasip2 --profile plugin`
  → `target/wasm32-wasip2/plugin/{{crate}}.wasm`
- Run it: `ferrule plugin run target/wasm32-wasip2/plugin/{{crate}}.wasm --config config.json --context context.json`
"##;

const CONDITION_CONFIG: &str = "{\"phrases\": [\"paczka\"]}\n";
const ACTION_CONFIG: &str = "{\"tag\": \"needs-attention\"}\n";

const CONDITION_LIB: &str = r##"//! `{{name}}` — the latest message mentions any of the phrases (ignoring case).

use ferrule_plugin_sdk::prelude::*;
use ferrule_plugin_sdk::text::Phrases;

/// `{"phrases": ["paczka", "parcel"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Phrases to look for.
    pub phrases: Vec<String>,
}

/// The condition.
pub struct {{Type}};

impl Condition for {{Type}} {
    type Config = Config;
    const NAME: &'static str = "{{name}}";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The latest message mentions any of the phrases.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.phrases.is_empty() {
            return Err(PluginError::invalid_config("phrases", "list at least one phrase"));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let body = ctx.latest_message.as_ref().map(|m| m.body.as_str()).unwrap_or_default();
        Ok(Phrases::new(&config.phrases).any_in(body))
    }
}

export_condition!({{Type}});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_phrase_in_the_latest_message() {
        let ctx = testing::context(); // "… paczka z zamówienia 1042 nie dotarła …"
        assert!(testing::evaluate::<{{Type}}>(r#"{"phrases": ["PACZKA"]}"#, &ctx).unwrap());
        assert!(!testing::evaluate::<{{Type}}>(r#"{"phrases": ["faktura"]}"#, &ctx).unwrap());
    }

    #[test]
    fn rejects_an_empty_list() {
        assert!(testing::validate_condition::<{{Type}}>(r#"{"phrases": []}"#).is_err());
    }
}
"##;

const CONDITION_TEST: &str = r##"//! The built component, in the same sandbox and limits as the ferrule server.

use ferrule_host::runtime::{Limits, PreparedContext, Sandbox};
use ferrule_plugin_sdk::testing;

#[test]
fn the_component_answers_like_the_native_code() {
    let plugin = ferrule_host::testing::component(env!("CARGO_MANIFEST_DIR"));
    assert_eq!(plugin.description().name, "{{name}}");
    let ctx = PreparedContext::new(&testing::context());
    let configs = [r#"{"phrases": ["paczka"]}"#.to_owned(), r#"{"phrases": ["faktura"]}"#.to_owned()];
    let run = plugin.evaluate(&ctx, &configs, &Sandbox::new(Limits::CONDITION));
    let answers = run.result.expect("the sandbox ran the plugin");
    assert!(answers[0].as_ref().unwrap().matches);
    assert!(!answers[1].as_ref().unwrap().matches);
}
"##;

const ACTION_LIB: &str = r##"//! `{{name}}` — tag the ticket and tell the customer we are on it.

use ferrule_plugin_sdk::prelude::*;

/// `{"tag": "needs-attention"}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The tag to add.
    pub tag: String,
}

/// The action.
pub struct {{Type}};

impl Action for {{Type}} {
    type Config = Config;
    const NAME: &'static str = "{{name}}";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Tag the ticket and acknowledge it to the customer.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.tag.trim().is_empty() {
            return Err(PluginError::invalid_config("tag", "name a tag"));
        }
        Ok(())
    }

    fn execute(config: &Config, ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        let body = Template::parse("body", "We are on it, {{customer.name}} (ticket #{{ticket.number}}).")?
            .render(ctx);
        Ok(vec![
            Effect::AddTags { tags: vec![config.tag.clone()] },
            Effect::Reply { body, subject: None, language: None },
        ])
    }
}

export_action!({{Type}});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_replies() {
        let effects = testing::execute::<{{Type}}>(r#"{"tag": "vip"}"#, &testing::context()).unwrap();
        assert_eq!(effects[0], Effect::AddTags { tags: vec!["vip".into()] });
        assert!(matches!(&effects[1], Effect::Reply { body, .. } if body.contains("Jan Kowalski")));
    }
}
"##;

const ACTION_TEST: &str = r##"//! The built component, in the same sandbox and limits as the ferrule server.

use ferrule_host::runtime::{Limits, PreparedContext, Sandbox};
use ferrule_plugin_sdk::{Effect, testing};

#[test]
fn the_component_returns_the_effects() {
    let plugin = ferrule_host::testing::component(env!("CARGO_MANIFEST_DIR"));
    assert_eq!(plugin.description().name, "{{name}}");
    let ctx = PreparedContext::new(&testing::context());
    let run = plugin.execute(r#"{"tag": "vip"}"#, &ctx, &Sandbox::new(Limits::ACTION));
    let effects = run.result.expect("the sandbox ran the plugin").expect("the action succeeded");
    assert_eq!(effects[0], Effect::AddTags { tags: vec!["vip".into()] });
}
"##;
