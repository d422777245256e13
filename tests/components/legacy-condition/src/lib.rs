//! A condition plugin as a vendor built it against `ferrule:plugin@0.1.0` (the frozen WIT in
//! `wit/`), with wit-bindgen directly and no SDK: it must keep loading and answering on every
//! `0.1.x` host. Config: `{"word": "..."}`; matches when the subject contains the word.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)] // wit-bindgen's generated export glue
mod component {
    wit_bindgen::generate!({
        path: "wit",
        world: "ferrule:plugin/condition",
    });

    use exports::ferrule::plugin::condition_plugin::Guest;
    use ferrule::plugin::log::{Level, log};
    use ferrule::plugin::types::{ConfigError, Context, Description, Error, PluginKind, Verdict};

    struct Legacy;

    fn word(config: &str) -> Result<String, Error> {
        let value: serde_json::Value = serde_json::from_str(config).map_err(|e| {
            Error::InvalidConfig(ConfigError {
                path: String::new(),
                message: format!("not JSON: {e}"),
            })
        })?;
        value["word"]
            .as_str()
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .ok_or_else(|| {
                Error::InvalidConfig(ConfigError {
                    path: "word".into(),
                    message: "give a non-empty word".into(),
                })
            })
    }

    impl Guest for Legacy {
        fn describe() -> Description {
            Description {
                name: "legacy-subject".into(),
                version: "0.1.0".into(),
                kind: PluginKind::Condition,
                summary: "The subject contains a word (built against ferrule:plugin@0.1.0).".into(),
                config_schema: r#"{"type":"object","required":["word"],"properties":{"word":{"type":"string"}},"additionalProperties":false}"#.into(),
                capabilities: Vec::new(),
            }
        }

        fn validate(config: String) -> Result<(), Error> {
            word(&config).map(|_| ())
        }

        fn evaluate(context: Context, configs: Vec<String>) -> Vec<Result<Verdict, Error>> {
            log(Level::Debug, "legacy plugin evaluating");
            let subject = context.ticket.subject.to_lowercase();
            configs
                .iter()
                .map(|c| {
                    word(c).map(|w| Verdict {
                        matches: subject.contains(&w),
                        changes_at: None,
                    })
                })
                .collect()
        }
    }

    export!(Legacy);
}
