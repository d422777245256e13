//! The read-only tenant directory a plugin may look up (agents and inboxes).

use ferrule_types::{Agent, Inbox};
use std::collections::HashMap;

/// Where plugin look-ups of agents and inboxes go. The server implements it over its store;
/// [`StaticDirectory`] serves fixtures and the command line.
pub trait Directory: Send + Sync {
    /// The agent with this id.
    fn agent(&self, id: &str) -> Option<Agent>;
    /// The inbox with this id.
    fn inbox(&self, id: &str) -> Option<Inbox>;
}

/// A directory held in memory.
#[derive(Debug, Clone, Default)]
pub struct StaticDirectory {
    agents: HashMap<String, Agent>,
    inboxes: HashMap<String, Inbox>,
}

impl StaticDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an agent.
    pub fn with_agent(mut self, agent: Agent) -> Self {
        self.agents.insert(agent.id.clone(), agent);
        self
    }

    /// Add an inbox.
    pub fn with_inbox(mut self, inbox: Inbox) -> Self {
        self.inboxes.insert(inbox.id.clone(), inbox);
        self
    }
}

impl Directory for StaticDirectory {
    fn agent(&self, id: &str) -> Option<Agent> {
        self.agents.get(id).cloned()
    }

    fn inbox(&self, id: &str) -> Option<Inbox> {
        self.inboxes.get(id).cloned()
    }
}
