//! `assign-agent` — assign the ticket to an agent.

use ferrule_plugin_sdk::prelude::*;

/// `{"agent": "12"}` (an agent id; numbers are accepted too).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The agent's id.
    #[schemars(with = "String")]
    pub agent: AgentId,
}

/// An agent id written as a string or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AgentId {
    /// `"12"`.
    Text(String),
    /// `12`.
    Number(u64),
}

impl AgentId {
    fn text(&self) -> String {
        match self {
            AgentId::Text(t) => t.trim().to_owned(),
            AgentId::Number(n) => n.to_string(),
        }
    }
}

/// The action.
pub struct AssignAgent;

impl Action for AssignAgent {
    type Config = Config;
    const NAME: &'static str = "assign-agent";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Assign the ticket to an agent.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.agent.text().is_empty() {
            return Err(PluginError::invalid_config("agent", "name an agent id"));
        }
        Ok(())
    }

    fn execute(config: &Config, _ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        Ok(vec![Effect::AssignAgent {
            agent: config.agent.text(),
        }])
    }
}

export_action!(AssignAgent);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigns_by_string_or_number() {
        let ctx = testing::context();
        assert_eq!(
            testing::execute::<AssignAgent>(r#"{"agent": "7"}"#, &ctx).unwrap(),
            vec![Effect::AssignAgent { agent: "7".into() }]
        );
        assert_eq!(
            testing::execute::<AssignAgent>(r#"{"agent": 7}"#, &ctx).unwrap(),
            vec![Effect::AssignAgent { agent: "7".into() }]
        );
        assert!(testing::validate_action::<AssignAgent>(r#"{"agent": " "}"#).is_err());
        assert!(testing::validate_action::<AssignAgent>(r#"{}"#).is_err());
    }
}
