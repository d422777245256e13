//! Read-only look-ups in the tenant's directory: agents and inboxes (with their working hours).
//!
//! In the component these call the host; natively they read the directory a test installed with
//! [`crate::testing::Directory::install`].

use ferrule_types::{Agent, Inbox};

/// The agent with this id, if the tenant has one.
pub fn agent(id: &str) -> Option<Agent> {
    #[cfg(target_arch = "wasm32")]
    return crate::wit::lookup_agent(id);
    #[cfg(not(target_arch = "wasm32"))]
    return crate::testing::directory_agent(id);
}

/// The inbox with this id, if the tenant has one.
pub fn inbox(id: &str) -> Option<Inbox> {
    #[cfg(target_arch = "wasm32")]
    return crate::wit::lookup_inbox(id);
    #[cfg(not(target_arch = "wasm32"))]
    return crate::testing::directory_inbox(id);
}
