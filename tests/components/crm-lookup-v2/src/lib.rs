//! `crm-lookup` 2.0.0: tags of at most 12 characters.
const VERSION: &str = "2.0.0";
const MAX_TAG: Option<usize> = Some(12);
include!("../../crm-lookup.rs");
