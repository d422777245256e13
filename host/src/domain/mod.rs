//! Plain types of the server's domain, parsed and checked at the edge.

pub mod channels;
pub mod rule;
pub mod schema_bounds;
pub mod views;
