//! Directory records a plugin may look up: agents and inboxes.

use crate::Calendar;
use serde::{Deserialize, Serialize};

/// A helpdesk agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// E-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Working hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<Calendar>,
}

/// An inbox (queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Working hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<Calendar>,
}
