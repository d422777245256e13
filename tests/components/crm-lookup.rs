// The vendor action `crm-lookup`, shared by the crates `crm-lookup-v1` and `crm-lookup-v2`
// (test fixtures for uploads, grants, secrets and upgrades). Each crate sets `VERSION` and
// `MAX_TAG` (v2 limits tags to 12 characters, so some v1 configs do not survive the upgrade)
// before including this file.
//
// Config `{"endpoint": "http://host:port", "tag": "crm"}`: asks the CRM at `endpoint` (a
// granted host) for the customer's segment, with the installation's secret `api_key` as a
// bearer token, and tags the ticket with `tag` and `segment-<segment>`.

use ferrule_plugin_sdk::http;
use ferrule_plugin_sdk::prelude::*;

/// The config.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Base URL of the CRM.
    pub endpoint: String,
    /// Tag added to every ticket looked up.
    pub tag: String,
}

#[derive(Deserialize)]
struct Customer {
    segment: String,
}

/// The action.
pub struct CrmLookup;

impl Action for CrmLookup {
    type Config = Config;
    const NAME: &'static str = "crm-lookup";
    const VERSION: &'static str = VERSION;
    const SUMMARY: &'static str = "Tags the ticket with the customer's CRM segment (test fixture).";
    const CAPABILITIES: &'static [&'static str] = &["http", "secrets"];

    fn validate(config: &Config) -> Result<(), PluginError> {
        http::parse_url_checked(&config.endpoint, "endpoint")?;
        if config.tag.is_empty() || MAX_TAG.is_some_and(|max| config.tag.chars().count() > max) {
            return Err(PluginError::InvalidConfig {
                path: "tag".into(),
                message: match MAX_TAG {
                    Some(max) => format!("give a tag of 1 to {max} characters"),
                    None => "give a tag".into(),
                },
            });
        }
        Ok(())
    }

    fn execute(config: &Config, ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        let key = ferrule_plugin_sdk::secrets::get("api_key")
            .ok_or_else(|| PluginError::Failed {
                message: "the installation has no secret `api_key`".into(),
            })?;
        let email = ctx.ticket.customer.email.clone().unwrap_or_default();
        let auth = format!("Bearer {key}");
        let response = http::send(http::Request {
            method: http::Method::Get,
            url: format!("{}/crm/customer?email={email}", config.endpoint.trim_end_matches('/')),
            headers: vec![("authorization".into(), auth)],
            body: vec![],
        })?;
        if response.status != 200 {
            return Err(PluginError::Unavailable {
                message: format!("the CRM answered {}", response.status),
            });
        }
        let customer: Customer = response.json()?;
        Ok(vec![Effect::AddTags {
            tags: vec![config.tag.clone(), format!("segment-{}", customer.segment)],
        }])
    }
}

export_action!(CrmLookup);
