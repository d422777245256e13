//! The action trait and the glue that runs it.

use crate::config;
use ferrule_types::{Context, Description, Effect, PluginError, PluginKind};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// An action: returns the effects the host applies to the ticket (set a status, reply to the
/// customer, …). Actions change nothing themselves, which gives dry runs and audit for free.
pub trait Action {
    /// The config an admin writes in a rule's action, deserialised from JSON.
    type Config: DeserializeOwned + JsonSchema;
    /// Unique plugin name, lower-case kebab (e.g. `set-status`).
    const NAME: &'static str;
    /// The plugin's version; use `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;
    /// One sentence for admins.
    const SUMMARY: &'static str;
    /// Capabilities the plugin uses (`http` for outgoing requests, `directory` for look-ups).
    const CAPABILITIES: &'static [&'static str] = &[];

    /// Checks beyond the config's type, run when a rule is saved.
    fn validate(config: &Self::Config) -> Result<(), PluginError> {
        let _ = config;
        Ok(())
    }

    /// The effects to apply, in order.
    fn execute(config: &Self::Config, ctx: &Context) -> Result<Vec<Effect>, PluginError>;
}

/// The functions the component exports, written once over any [`Action`].
pub mod run {
    use super::*;

    /// `describe()`.
    pub fn describe<A: Action>() -> Description {
        Description {
            name: A::NAME.to_owned(),
            version: A::VERSION.to_owned(),
            kind: PluginKind::Action,
            summary: A::SUMMARY.to_owned(),
            config_schema: config::schema::<A::Config>(),
            capabilities: A::CAPABILITIES.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    /// `validate(config)`.
    pub fn validate<A: Action>(config: &str) -> Result<(), PluginError> {
        A::validate(&config::parse::<A::Config>(config)?)
    }

    /// `execute(config, context)`.
    pub fn execute<A: Action>(config: &str, ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        let config = config::parse::<A::Config>(config)?;
        A::execute(&config, ctx)
    }
}
