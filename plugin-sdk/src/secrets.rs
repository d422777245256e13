//! Secrets of the plugin's installation (API keys the tenant admin stored for it), for action
//! plugins. The host hands them over only while a call runs and never logs or returns them.
//!
//! In the component this calls the host (interface `ferrule:plugin/secrets`, since `0.1.1`);
//! natively it reads the secrets a test installed with [`crate::testing::Secrets::install`].
//! A condition plugin has no secrets: calling this from one fails its call with
//! `capability_denied`.

/// The secret with this name, if the installation has one.
pub fn get(name: &str) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return crate::wit::action::ferrule::plugin::secrets::get(name);
    #[cfg(not(target_arch = "wasm32"))]
    return crate::testing::secret(name);
}
