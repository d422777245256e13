//! Shared helpers of the end-to-end tests in `tests/`: the hostile components, a small HTTP
//! server that speaks the LibreTranslate and OpenAI protocols, and real mail servers (Dovecot,
//! aiosmtpd).

/// Hostile components built from `components/` by the build script.
pub mod components {
    include!(concat!(env!("OUT_DIR"), "/components.rs"));
}

pub mod allegro_sim;
pub mod fake_services;
pub mod mail_servers;
pub mod process;
pub mod receiver;
pub mod server;

/// Poll `check` every 100 ms for up to `secs` seconds; whether it came true.
pub fn wait_for(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    check()
}
