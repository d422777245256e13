//! Reserved for procedural macros of the SDK.
