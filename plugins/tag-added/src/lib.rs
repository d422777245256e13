//! `tag-added` — the event is "a tag was added" and the added tag is one of the listed tags.
//!
//! Tags are compared case-insensitively (tickets keep them lower-case). Any other event, including
//! a schedule tick, does not match; "a tag is on the ticket" is the `tag` condition. No time hint.

use ferrule_plugin_sdk::prelude::*;

/// `{"is": ["vip", "complaint"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Tags whose addition matches.
    pub is: Vec<String>,
}

/// The condition.
pub struct TagAdded;

impl Condition for TagAdded {
    type Config = Config;
    const NAME: &'static str = "tag-added";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "A tag was just added to the ticket and it is one of the listed tags.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.is_empty() {
            return Err(PluginError::invalid_config("is", "list at least one tag"));
        }
        if let Some(i) = config.is.iter().position(|t| t.trim().is_empty()) {
            return Err(PluginError::invalid_config(
                format!("is[{i}]"),
                "a tag cannot be empty",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let Event::TagAdded { tag } = &ctx.event else {
            return Ok(false);
        };
        let tag = tag.trim().to_lowercase();
        Ok(config.is.iter().any(|t| t.trim().to_lowercase() == tag))
    }
}

export_condition!(TagAdded);

#[cfg(test)]
mod tests {
    use super::*;

    fn added(tag: &str) -> Context {
        let mut ctx = testing::context();
        ctx.event = Event::TagAdded { tag: tag.into() };
        ctx
    }

    #[test]
    fn matches_the_added_tag_in_any_case() {
        let config = r#"{"is": ["VIP", "zwrot"]}"#;
        assert!(testing::evaluate::<TagAdded>(config, &added("vip")).unwrap());
        assert!(testing::evaluate::<TagAdded>(config, &added("zwrot")).unwrap());
        assert!(!testing::evaluate::<TagAdded>(config, &added("spam")).unwrap());
        let v = testing::verdict::<TagAdded>(config, &added("vip")).unwrap();
        assert_eq!(v.changes_at, None);
    }

    #[test]
    fn other_events_never_match_even_with_the_tag_on_the_ticket() {
        let mut ctx = testing::context();
        ctx.ticket.tags.push("vip".into());
        for event in [
            Event::TicketCreated,
            Event::ScheduleTick,
            Event::CustomerMessage,
        ] {
            ctx.event = event;
            assert!(!testing::evaluate::<TagAdded>(r#"{"is": ["vip"]}"#, &ctx).unwrap());
        }
    }

    #[test]
    fn rejects_empty_lists_and_blank_tags() {
        assert!(testing::validate_condition::<TagAdded>(r#"{"is": []}"#).is_err());
        let e = testing::validate_condition::<TagAdded>(r#"{"is": ["vip", " "]}"#).unwrap_err();
        assert!(
            matches!(&e, PluginError::InvalidConfig { path, .. } if path == "is[1]"),
            "{e:?}"
        );
        assert!(testing::validate_condition::<TagAdded>(r#"{"is": "vip"}"#).is_err());
        assert!(testing::validate_condition::<TagAdded>(r#"{"is": ["vip"]}"#).is_ok());
    }
}
