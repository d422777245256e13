//! The built-in plugins linked natively, without the sandbox. Only for the load benchmark's
//! comparison (feature `native-plugins`, env `FERRULE_BENCH_NATIVE_PLUGINS=1`): it shows what the
//! sandbox costs. Look-ups of the tenant directory are not available natively.

use ferrule_plugin_sdk::__private::{action, condition};
use ferrule_plugin_sdk::{Action, Condition};
use ferrule_types::{Context, Effect, PluginError, Verdict};
use std::collections::HashMap;

/// One answer per config.
type Answers = Vec<Result<Verdict, PluginError>>;

/// The exported functions of one natively linked plugin.
#[derive(Clone, Copy)]
pub struct NativeFns {
    /// `evaluate` over many configs.
    pub evaluate: fn(&Context, &[String]) -> Answers,
    /// `execute`.
    pub execute: fn(&str, &Context) -> Result<Vec<Effect>, PluginError>,
}

fn cond<C: Condition>() -> NativeFns {
    NativeFns {
        evaluate: |ctx, configs| {
            configs
                .iter()
                .map(|c| condition::evaluate::<C>(c, ctx))
                .collect()
        },
        execute: |_, _| Err(PluginError::failed("not an action")),
    }
}

fn act<A: Action>() -> NativeFns {
    NativeFns {
        evaluate: |_, configs| {
            configs
                .iter()
                .map(|_| Err(PluginError::failed("not a condition")))
                .collect()
        },
        execute: |config, ctx| action::execute::<A>(config, ctx),
    }
}

/// Every built-in plugin by name.
pub fn registry() -> HashMap<String, NativeFns> {
    [
        ("source", cond::<ferrule_plugin_source::Source>()),
        (
            "subject-contains",
            cond::<ferrule_plugin_subject_contains::SubjectContains>(),
        ),
        (
            "working-hours",
            cond::<ferrule_plugin_working_hours::WorkingHours>(),
        ),
        (
            "allegro-account",
            cond::<ferrule_plugin_allegro_account::AllegroAccount>(),
        ),
        ("status", cond::<ferrule_plugin_status::Status>()),
        (
            "send-message",
            act::<ferrule_plugin_send_message::SendMessage>(),
        ),
        (
            "send-translated-message",
            act::<ferrule_plugin_send_translated_message::SendTranslatedMessage>(),
        ),
        ("ai-reply", act::<ferrule_plugin_ai_reply::AiReply>()),
        ("set-status", act::<ferrule_plugin_set_status::SetStatus>()),
        (
            "assign-agent",
            act::<ferrule_plugin_assign_agent::AssignAgent>(),
        ),
        ("add-tags", act::<ferrule_plugin_add_tags::AddTags>()),
    ]
    .into_iter()
    .map(|(n, f)| (n.to_owned(), f))
    .collect()
}
