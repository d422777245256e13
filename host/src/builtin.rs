//! The built-in plugins: components compiled from `plugins/` by the build script.

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// The component bytes of the built-in plugin in `plugins/<folder>`.
pub fn component(folder: &str) -> Option<&'static [u8]> {
    COMPONENTS
        .iter()
        .find(|(name, _)| *name == folder)
        .map(|(_, bytes)| *bytes)
}
