//! Write ferrule condition and action plugins.
//!
//! A plugin is a small crate that implements [`Condition`] or [`Action`] with a typed config and
//! exports it with [`export_condition!`] or [`export_action!`]. The same code compiles natively,
//! so its logic is unit-tested with plain `cargo test` on the fixtures of [`testing`], and to a
//! `wasm32-wasip2` component that the ferrule host runs in its sandbox.
//!
//! ```
//! use ferrule_plugin_sdk::prelude::*;
//!
//! /// `{"is": ["email", "chat"]}`
//! #[derive(Deserialize, JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! pub struct Config {
//!     /// Sources that match.
//!     pub is: Vec<String>,
//! }
//!
//! pub struct Source;
//!
//! impl Condition for Source {
//!     type Config = Config;
//!     const NAME: &'static str = "my-source";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!     const SUMMARY: &'static str = "The ticket came from one of these channels.";
//!
//!     fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
//!         Ok(config.is.iter().any(|s| *s == ctx.ticket.source))
//!     }
//! }
//!
//! export_condition!(Source);
//!
//! let ctx = testing::context();
//! assert!(testing::evaluate::<Source>(r#"{"is": ["email"]}"#, &ctx).unwrap());
//! ```
#![deny(missing_docs)]

mod action;
mod condition;
pub mod config;
pub mod directory;
pub mod http;
pub mod log;
pub mod secrets;
pub mod template;
pub mod testing;
pub mod text;

pub use action::Action;
pub use condition::Condition;
pub use ferrule_types as types;
pub use ferrule_types::{
    Author, Context, Customer, Description, Effect, Event, Message, PluginError, PluginKind,
    StatusCategory, Ticket, Timestamp, Verdict,
};
pub use schemars::{self, JsonSchema};
pub use serde::{self, Deserialize, Serialize};

/// Everything a plugin usually needs, in one `use`.
pub mod prelude {
    pub use crate::template::Template;
    pub use crate::{
        Action, Condition, Context, Deserialize, Effect, Event, JsonSchema, PluginError, Ticket,
        Timestamp, export_action, export_condition, testing,
    };
}

/// The component-model bindings. Plugin authors never use these directly.
#[doc(hidden)]
#[cfg(target_arch = "wasm32")]
pub mod wit;

#[doc(hidden)]
pub mod __private {
    pub use crate::action::run as action;
    pub use crate::condition::run as condition;
    #[cfg(target_arch = "wasm32")]
    pub use crate::wit::{ActionExport, ConditionExport};
}

/// Export a [`Condition`] implementation as the plugin's component interface.
///
/// Expands to nothing on non-wasm targets, so the crate still builds and tests natively.
#[macro_export]
macro_rules! export_condition {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        mod __ferrule_condition_export {
            #[allow(unused_imports)]
            use super::*;
            type Export = $crate::__private::ConditionExport<$plugin>;
            $crate::__export_condition_impl!(Export with_types_in $crate::wit::condition);
        }
    };
}

/// Export an [`Action`] implementation as the plugin's component interface.
///
/// Expands to nothing on non-wasm targets, so the crate still builds and tests natively.
#[macro_export]
macro_rules! export_action {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        mod __ferrule_action_export {
            #[allow(unused_imports)]
            use super::*;
            type Export = $crate::__private::ActionExport<$plugin>;
            $crate::__export_action_impl!(Export with_types_in $crate::wit::action);
        }
    };
}
