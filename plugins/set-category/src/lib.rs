//! `set-category` — set the ticket's category.

use ferrule_plugin_sdk::prelude::*;

/// `{"category": "zwroty"}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The category, stored as written (trimmed).
    pub category: String,
}

/// The action.
pub struct SetCategory;

impl Action for SetCategory {
    type Config = Config;
    const NAME: &'static str = "set-category";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Set the ticket's category.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.category.trim().is_empty() {
            return Err(PluginError::invalid_config("category", "name a category"));
        }
        Ok(())
    }

    fn execute(config: &Config, _ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        Ok(vec![Effect::SetCategory {
            category: config.category.trim().to_owned(),
        }])
    }
}

export_action!(SetCategory);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_the_configured_category_trimmed() {
        let effects =
            testing::execute::<SetCategory>(r#"{"category": " Reklamacje "}"#, &testing::context())
                .unwrap();
        assert_eq!(
            effects,
            vec![Effect::SetCategory {
                category: "Reklamacje".into()
            }]
        );
    }

    #[test]
    fn replaces_a_category_the_ticket_already_has() {
        let mut ctx = testing::context();
        ctx.ticket.category = Some("zwroty".into());
        let effects =
            testing::execute::<SetCategory>(r#"{"category": "reklamacje"}"#, &ctx).unwrap();
        assert_eq!(
            effects,
            vec![Effect::SetCategory {
                category: "reklamacje".into()
            }]
        );
    }

    #[test]
    fn rejects_a_missing_blank_or_mistyped_category() {
        assert!(testing::validate_action::<SetCategory>(r#"{"category": "  "}"#).is_err());
        assert!(testing::validate_action::<SetCategory>("{}").is_err());
        assert!(testing::validate_action::<SetCategory>(r#"{"category": ["a"]}"#).is_err());
        assert!(testing::validate_action::<SetCategory>(r#"{"category": "a", "x": 1}"#).is_err());
        assert!(testing::validate_action::<SetCategory>(r#"{"category": "zwroty"}"#).is_ok());
    }
}
