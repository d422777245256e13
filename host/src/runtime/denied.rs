//! Imports a plugin is not granted. Every import of an interface outside the kind's allowed set
//! (files, clocks, sockets, exit, unknown interfaces) is linked to a trap that fails
//! the call with a typed `CapabilityDenied` naming what was called. A component importing them
//! still loads (Rust's std imports some of them whether used or not); only a call fails.

use super::state::State;
use ferrule_types::PluginKind;
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, ResourceType};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, DynPollable, IoError};

/// Interfaces linked for every plugin (matched without their version).
const ALWAYS: &[&str] = &[
    "ferrule:plugin/types",
    "ferrule:plugin/log",
    "ferrule:plugin/directory",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:cli/environment",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
];

/// Interfaces linked for actions only.
const ACTIONS: &[&str] = &[
    "wasi:http/types",
    "wasi:http/outgoing-handler",
    "ferrule:plugin/secrets",
];

/// The error a denied import raises.
#[derive(Debug)]
pub(crate) struct Denied(pub String);

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is not available to plugins", self.0)
    }
}

impl std::error::Error for Denied {}

/// A resource type for resources of denied interfaces (never constructed).
struct DeniedResource;

fn allowed(kind: PluginKind, name: &str) -> bool {
    let interface = name.split('@').next().unwrap_or(name);
    ALWAYS.contains(&interface) || (kind == PluginKind::Action && ACTIONS.contains(&interface))
}

/// Link every import of `component` that `kind` is not granted to a denying trap.
pub(crate) fn link_denied(
    engine: &Engine,
    linker: &mut Linker<State>,
    kind: PluginKind,
    component: &Component,
) -> wasmtime::Result<()> {
    // Denied interfaces mention resources of wasi:io (`input-stream`, `pollable`, …) that the
    // linker already defines; those must keep their real host types to type-check.
    let mut shared: Vec<(ResourceType, ResourceType)> = Vec::new();
    for (name, item) in component.component_type().imports(engine) {
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        if !name.starts_with("wasi:io/") {
            continue;
        }
        for (export, item) in instance.exports(engine) {
            let ComponentItem::Resource(ty) = item.ty else {
                continue;
            };
            let host = match export {
                "input-stream" => ResourceType::host::<DynInputStream>(),
                "output-stream" => ResourceType::host::<DynOutputStream>(),
                "pollable" => ResourceType::host::<DynPollable>(),
                "error" => ResourceType::host::<IoError>(),
                _ => continue,
            };
            shared.push((ty, host));
        }
    }
    for (name, item) in component.component_type().imports(engine) {
        if allowed(kind, name) {
            continue;
        }
        match item.ty {
            ComponentItem::ComponentInstance(instance) => {
                let mut linked = linker.instance(name)?;
                for (export, item) in instance.exports(engine) {
                    match item.ty {
                        ComponentItem::ComponentFunc(_) => {
                            let full = format!("{name}#{export}");
                            linked.func_new(export, move |_, _, _, _| {
                                Err(wasmtime::Error::new(Denied(full.clone())))
                            })?;
                        }
                        ComponentItem::Resource(ty) => {
                            let host = shared
                                .iter()
                                .find(|(component_side, _)| *component_side == ty)
                                .map_or_else(ResourceType::host::<DeniedResource>, |(_, host)| {
                                    *host
                                });
                            linked.resource(export, host, |_, _| Ok(()))?;
                        }
                        _ => {}
                    }
                }
            }
            ComponentItem::ComponentFunc(_) => {
                let full = name.to_owned();
                linker.root().func_new(name, move |_, _, _, _| {
                    Err(wasmtime::Error::new(Denied(full.clone())))
                })?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_clocks_sockets_and_exit_are_never_allowed() {
        for kind in [PluginKind::Condition, PluginKind::Action] {
            for name in [
                "wasi:filesystem/preopens@0.2.6",
                "wasi:filesystem/types@0.2.6",
                "wasi:cli/exit@0.2.6",
                "wasi:clocks/wall-clock@0.2.6",
                "wasi:clocks/monotonic-clock@0.2.6",
                "wasi:sockets/tcp@0.2.6",
                "vendor:secret/backdoor@1.0.0",
            ] {
                assert!(!allowed(kind, name), "{name} for {kind:?}");
            }
        }
    }

    #[test]
    fn only_actions_get_http() {
        assert!(allowed(
            PluginKind::Action,
            "wasi:http/outgoing-handler@0.2.12"
        ));
        assert!(!allowed(
            PluginKind::Condition,
            "wasi:http/outgoing-handler@0.2.12"
        ));
        assert!(allowed(PluginKind::Condition, "wasi:cli/stderr@0.2.0"));
    }
}
