//! `crm-lookup` 1.0.0: any tag length.
const VERSION: &str = "1.0.0";
const MAX_TAG: Option<usize> = None;
include!("../../crm-lookup.rs");
