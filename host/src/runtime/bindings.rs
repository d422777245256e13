//! The host side of `wit/plugin.wit`: the one place that runs `bindgen!`.
#![allow(missing_docs)]

pub mod condition {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "ferrule:plugin/condition",
    });
}

pub mod action {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "ferrule:plugin/action",
        require_store_data_send: true,
        with: {
            "ferrule:plugin/types": super::condition::ferrule::plugin::types,
            "ferrule:plugin/log": super::condition::ferrule::plugin::log,
            "ferrule:plugin/directory": super::condition::ferrule::plugin::directory,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        },
    });
}

pub use action::ferrule::plugin::secrets;
pub use condition::ferrule::plugin::directory;
pub use condition::ferrule::plugin::log;
pub use condition::ferrule::plugin::types;
