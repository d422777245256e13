//! `allegro-account` — the ticket came through one of these connected Allegro accounts (the
//! account's login), on any Allegro channel (discussions, messages, returns).

use ferrule_plugin_sdk::prelude::*;

/// `{"is": ["sklep_kowalski", "outlet_kowalski"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Allegro account logins; compared ignoring case.
    pub is: Vec<String>,
}

/// The condition.
pub struct AllegroAccount;

impl Condition for AllegroAccount {
    type Config = Config;
    const NAME: &'static str = "allegro-account";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "The ticket came through one of the listed connected Allegro accounts.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.is.iter().all(|s| s.trim().is_empty()) {
            return Err(PluginError::invalid_config(
                "is",
                "list at least one Allegro account login",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let ticket = &ctx.ticket;
        // The account field names the connected account of whatever channel the ticket came
        // from; only Allegro channels count here.
        if !ticket.source.starts_with("allegro") {
            return Ok(false);
        }
        let Some(account) = ticket.account.as_deref() else {
            return Ok(false);
        };
        Ok(config
            .is
            .iter()
            .any(|login| login.trim().to_lowercase() == account.to_lowercase()))
    }
}

export_condition!(AllegroAccount);

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(source: &str, account: Option<&str>) -> Context {
        let mut ctx = testing::context();
        ctx.ticket.source = source.into();
        ctx.ticket.account = account.map(Into::into);
        ctx
    }

    const CONFIG: &str = r#"{"is": ["Sklep_Kowalski"]}"#;

    #[test]
    fn matches_the_account_on_any_allegro_channel() {
        for source in ["allegro-discussions", "allegro-messages"] {
            let ctx = ticket(source, Some("sklep_kowalski"));
            assert!(
                testing::evaluate::<AllegroAccount>(CONFIG, &ctx).unwrap(),
                "{source}"
            );
        }
    }

    #[test]
    fn other_accounts_and_other_channels_do_not_match() {
        let other = ticket("allegro-messages", Some("outlet_nowak"));
        assert!(!testing::evaluate::<AllegroAccount>(CONFIG, &other).unwrap());
        let mail = ticket("email", Some("sklep_kowalski"));
        assert!(!testing::evaluate::<AllegroAccount>(CONFIG, &mail).unwrap());
        let none = ticket("allegro-messages", None);
        assert!(!testing::evaluate::<AllegroAccount>(CONFIG, &none).unwrap());
    }

    #[test]
    fn rejects_an_empty_list() {
        assert!(testing::validate_condition::<AllegroAccount>(r#"{"is": [""]}"#).is_err());
    }
}
