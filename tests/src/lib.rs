//! Shared helpers of the end-to-end tests in `tests/`: the hostile components and a small HTTP
//! server that speaks the LibreTranslate and OpenAI protocols.

/// Hostile components built from `components/` by the build script.
pub mod components {
    include!(concat!(env!("OUT_DIR"), "/components.rs"));
}

pub mod fake_services;
pub mod server;
