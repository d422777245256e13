//! `assignee` — who the ticket is assigned to: one of the listed agents (`{"is": ["3"]}`), or
//! nobody (`{"unassigned": true}`). A config gives exactly one of the two. "Assigned to someone"
//! is the rule's `not` around `{"unassigned": true}`.

use ferrule_plugin_sdk::prelude::*;

/// `{"is": ["3", "7"]}` or `{"unassigned": true}`. Agent ids may be written as numbers too.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Agent ids: the ticket is assigned to one of them.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub is: Option<Vec<AgentId>>,
    /// `true`: nobody is assigned.
    #[serde(default)]
    pub unassigned: Option<bool>,
}

/// An agent id written as a string or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AgentId {
    /// `"3"`.
    Text(String),
    /// `3`.
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

/// The condition.
pub struct Assignee;

impl Condition for Assignee {
    type Config = Config;
    const NAME: &'static str = "assignee";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "The ticket is assigned to one of the listed agents, or to nobody.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        match (&config.is, config.unassigned) {
            (Some(_), Some(_)) => Err(PluginError::invalid_config(
                "",
                "give either `is` (agent ids) or `unassigned: true`, not both",
            )),
            (None, None) => Err(PluginError::invalid_config(
                "",
                "give `is` (agent ids) or `unassigned: true`",
            )),
            (None, Some(false)) => Err(PluginError::invalid_config(
                "unassigned",
                "only `true` is meaningful; for \"assigned to someone\" put `not` around \
                 `{\"unassigned\": true}`",
            )),
            (None, Some(true)) => Ok(()),
            (Some(ids), None) => {
                if ids.is_empty() {
                    return Err(PluginError::invalid_config(
                        "is",
                        "list at least one agent id",
                    ));
                }
                if let Some(i) = ids.iter().position(|id| id.text().is_empty()) {
                    return Err(PluginError::invalid_config(
                        format!("is[{i}]"),
                        "an agent id is empty",
                    ));
                }
                Ok(())
            }
        }
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let assignee = ctx
            .ticket
            .assignee
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        Ok(match (&config.is, config.unassigned) {
            (Some(ids), _) => assignee.is_some_and(|a| ids.iter().any(|id| id.text() == a)),
            (None, Some(true)) => assignee.is_none(),
            // Rejected by `validate`; a config that slipped through matches nothing.
            (None, _) => false,
        })
    }
}

export_condition!(Assignee);

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(config: &str, assignee: Option<&str>) -> bool {
        let mut ctx = testing::context();
        ctx.ticket.assignee = assignee.map(Into::into);
        testing::evaluate::<Assignee>(config, &ctx).unwrap()
    }

    #[test]
    fn matches_listed_agents() {
        assert!(eval(r#"{"is": ["3", "7"]}"#, Some("7")));
        assert!(eval(r#"{"is": [7]}"#, Some("7")));
        assert!(!eval(r#"{"is": ["3"]}"#, Some("7")));
        assert!(!eval(r#"{"is": ["3"]}"#, Some("33")));
    }

    #[test]
    fn a_list_of_agents_does_not_match_an_unassigned_ticket() {
        assert!(!eval(r#"{"is": ["3"]}"#, None));
    }

    #[test]
    fn unassigned_matches_only_when_nobody_is_assigned() {
        assert!(eval(r#"{"unassigned": true}"#, None));
        assert!(eval(r#"{"unassigned": true}"#, Some(" ")));
        assert!(!eval(r#"{"unassigned": true}"#, Some("3")));
    }

    #[test]
    fn needs_exactly_one_form() {
        let whole = |c: &str| {
            matches!(
                testing::validate_condition::<Assignee>(c),
                Err(PluginError::InvalidConfig { ref path, .. }) if path.is_empty()
            )
        };
        assert!(whole("{}"));
        assert!(whole(r#"{"is": ["3"], "unassigned": true}"#));
        assert!(whole(r#"{"is": ["3"], "unassigned": false}"#));
    }

    #[test]
    fn rejects_meaningless_configs() {
        let path = |c: &str| match testing::validate_condition::<Assignee>(c) {
            Err(PluginError::InvalidConfig { path, .. }) => path,
            other => panic!("{c}: {other:?}"),
        };
        assert_eq!(path(r#"{"unassigned": false}"#), "unassigned");
        assert_eq!(path(r#"{"is": []}"#), "is");
        assert_eq!(path(r#"{"is": ["3", ""]}"#), "is[1]");
        assert_eq!(path(r#"{"agent": ["3"]}"#), "agent");
        assert!(testing::validate_condition::<Assignee>(r#"{"is": ["3", 4]}"#).is_ok());
        assert!(testing::validate_condition::<Assignee>(r#"{"unassigned": true}"#).is_ok());
    }
}
