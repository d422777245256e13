//! An action that attacks the sandbox when its config says so: `{"attack": "http", "url": …}`.

use ferrule_plugin_sdk::http;
use ferrule_plugin_sdk::prelude::*;

/// Which attack.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Attack {
    /// GET `url` and reply with the body (denied unless granted; redirects are followed).
    Http,
    /// GET `url`, ignore a denial and return no effects.
    HttpSwallow,
    /// Return far too many effects.
    ManyEffects,
    /// Return a reply of 1 MiB.
    LongString,
}

/// `{"attack": "http", "url": "http://127.0.0.1:1234/"}`
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Config {
    /// The attack.
    pub attack: Attack,
    /// Target URL for HTTP attacks.
    #[serde(default)]
    pub url: String,
}

/// The action.
pub struct Hostile;

impl Action for Hostile {
    type Config = Config;
    const NAME: &'static str = "hostile-action";
    const VERSION: &'static str = "0.1.0";
    const SUMMARY: &'static str = "Attacks the sandbox (test fixture).";
    const CAPABILITIES: &'static [&'static str] = &["http"];

    fn execute(config: &Config, _ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        let get = || {
            http::send(http::Request {
                method: http::Method::Get,
                url: config.url.clone(),
                headers: vec![],
                body: vec![],
            })
        };
        match config.attack {
            Attack::Http => {
                let response = get()?;
                Ok(vec![Effect::Reply {
                    body: String::from_utf8_lossy(&response.body).into_owned(),
                    subject: None,
                    language: None,
                }])
            }
            Attack::HttpSwallow => {
                let _ = get();
                Ok(vec![])
            }
            Attack::ManyEffects => Ok((0..10_000)
                .map(|i| Effect::AddTags {
                    tags: vec![format!("t{i}")],
                })
                .collect()),
            Attack::LongString => Ok(vec![Effect::Reply {
                body: "x".repeat(1 << 20),
                subject: None,
                language: None,
            }]),
        }
    }
}

export_action!(Hostile);
