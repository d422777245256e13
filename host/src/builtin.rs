//! The built-in plugins: components compiled from `plugins/` by the build script.

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// The component bytes of the built-in plugin in `plugins/<folder>`.
pub fn component(folder: &str) -> Option<&'static [u8]> {
    COMPONENTS
        .iter()
        .find(|(name, _)| *name == folder)
        .map(|(_, bytes)| *bytes)
}

/// How many built-in plugins this process has loaded (compiled, or read from the code cache):
/// the API's "starting" answer reports it while the first start compiles them.
pub static LOADED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
