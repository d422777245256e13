//! The condition trait and the glue that runs it.

use crate::config;
use ferrule_types::{Context, Description, PluginError, PluginKind, Timestamp, Verdict};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// A condition: answers yes or no about a ticket in a context. Conditions are pure: the same
/// config and context always give the same answer, and they have no network.
pub trait Condition {
    /// The config an admin writes in a rule leaf, deserialised from JSON. Its JSON Schema is
    /// generated from the type and published in `describe()`.
    type Config: DeserializeOwned + JsonSchema;
    /// Unique plugin name, lower-case kebab (e.g. `subject-contains`).
    const NAME: &'static str;
    /// The plugin's version; use `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;
    /// One sentence for admins.
    const SUMMARY: &'static str;
    /// Capabilities the plugin uses (`directory` for look-ups of agents and inboxes).
    const CAPABILITIES: &'static [&'static str] = &[];

    /// Checks beyond the config's type, run when a rule is saved.
    fn validate(config: &Self::Config) -> Result<(), PluginError> {
        let _ = config;
        Ok(())
    }

    /// Whether the condition holds.
    fn evaluate(config: &Self::Config, ctx: &Context) -> Result<bool, PluginError>;

    /// The earliest moment after `ctx.now` at which the answer may change without any change to
    /// the ticket (time-aware conditions); the scheduler wakes the rule then.
    fn changes_at(config: &Self::Config, ctx: &Context) -> Option<Timestamp> {
        let _ = (config, ctx);
        None
    }
}

/// The functions the component exports, written once over any [`Condition`].
pub mod run {
    use super::*;

    /// `describe()`.
    pub fn describe<C: Condition>() -> Description {
        Description {
            name: C::NAME.to_owned(),
            version: C::VERSION.to_owned(),
            kind: PluginKind::Condition,
            summary: C::SUMMARY.to_owned(),
            config_schema: config::schema::<C::Config>(),
            capabilities: C::CAPABILITIES.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    /// `validate(config)`.
    pub fn validate<C: Condition>(config: &str) -> Result<(), PluginError> {
        C::validate(&config::parse::<C::Config>(config)?)
    }

    /// `evaluate(context, configs)` for one config.
    pub fn evaluate<C: Condition>(config: &str, ctx: &Context) -> Result<Verdict, PluginError> {
        let config = config::parse::<C::Config>(config)?;
        let matches = C::evaluate(&config, ctx)?;
        let changes_at = C::changes_at(&config, ctx).filter(|t| *t > ctx.now);
        Ok(Verdict {
            matches,
            changes_at,
        })
    }
}
