//! Shared helpers of the end-to-end tests in `tests/`: the hostile components, a small HTTP
//! server that speaks the LibreTranslate and OpenAI protocols, and real mail servers (Dovecot,
//! aiosmtpd).

/// Hostile components built from `components/` by the build script.
pub mod components {
    include!(concat!(env!("OUT_DIR"), "/components.rs"));
}

pub mod fake_services;
pub mod mail_servers;
pub mod process;
pub mod receiver;
pub mod server;
