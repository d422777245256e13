//! `unassign` — remove the ticket's assignee. Takes no settings: its config is `{}`. On a ticket
//! nobody is assigned to it changes nothing.

use ferrule_plugin_sdk::prelude::*;

/// `{}` — no settings; any key is an error.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {}

/// The action.
pub struct Unassign;

impl Action for Unassign {
    type Config = Config;
    const NAME: &'static str = "unassign";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Remove the ticket's assignee.";

    fn execute(_config: &Config, _ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        Ok(vec![Effect::Unassign])
    }
}

export_action!(Unassign);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_the_assignee() {
        let mut ctx = testing::context();
        ctx.ticket.assignee = Some("3".into());
        assert_eq!(
            testing::execute::<Unassign>("{}", &ctx).unwrap(),
            vec![Effect::Unassign]
        );
    }

    #[test]
    fn on_an_unassigned_ticket_asks_for_the_same_harmless_effect() {
        // The host applies `unassign` on an unassigned ticket as "no change".
        assert_eq!(
            testing::execute::<Unassign>("{}", &testing::context()).unwrap(),
            vec![Effect::Unassign]
        );
    }

    #[test]
    fn accepts_only_an_object_without_keys() {
        assert!(testing::validate_action::<Unassign>("{}").is_ok());
        assert!(testing::validate_action::<Unassign>(r#"{"agent": "3"}"#).is_err());
        assert!(testing::validate_action::<Unassign>(r#""now""#).is_err());
    }
}
