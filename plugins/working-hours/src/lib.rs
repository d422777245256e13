//! `working-hours` — now is inside working hours: of a calendar given in the config, of the
//! ticket's inbox, of its assignee, or of a named agent. Time zones are IANA names; holidays are
//! closed all day. "Outside working hours" is the rule's `not` around this condition.

use chrono::{LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use ferrule_plugin_sdk::directory;
use ferrule_plugin_sdk::prelude::*;
use ferrule_plugin_sdk::types::Calendar;

/// `{"calendar": {"timezone": "Europe/Warsaw", "weekly": {"mon": [["08:00", "16:00"]]},
/// "holidays": ["2026-12-24"]}}` or `{"of": "inbox"}` / `{"of": "assignee"}` / `{"of": "<agent id>"}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A calendar written into the rule.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub calendar: Option<Calendar>,
    /// Whose calendar: `inbox` (the ticket's inbox), `assignee` (the ticket's agent) or an
    /// agent id.
    #[serde(default)]
    pub of: Option<String>,
}

/// The condition.
pub struct WorkingHours;

fn zone(calendar: &Calendar) -> Result<Tz, PluginError> {
    calendar.timezone.parse::<Tz>().map_err(|_| {
        PluginError::invalid_config(
            "calendar.timezone",
            format!(
                "`{}` is not an IANA time zone such as Europe/Warsaw",
                calendar.timezone
            ),
        )
    })
}

fn calendar_for(config: &Config, ctx: &Context) -> Result<Calendar, PluginError> {
    if let Some(calendar) = &config.calendar {
        return Ok(calendar.clone());
    }
    let of = config.of.as_deref().unwrap_or_default();
    let found = match of {
        "inbox" => {
            let id = ctx
                .ticket
                .inbox
                .as_deref()
                .ok_or_else(|| PluginError::failed("the ticket has no inbox"))?;
            let inbox = directory::inbox(id)
                .ok_or_else(|| PluginError::failed(format!("inbox `{id}` not found")))?;
            inbox
                .working_hours
                .ok_or_else(|| PluginError::failed(format!("inbox `{id}` has no working hours")))?
        }
        agent => {
            let id = if agent == "assignee" {
                ctx.ticket
                    .assignee
                    .as_deref()
                    .ok_or_else(|| PluginError::failed("the ticket has no assignee"))?
            } else {
                agent
            };
            let found = directory::agent(id)
                .ok_or_else(|| PluginError::failed(format!("agent `{id}` not found")))?;
            found
                .working_hours
                .ok_or_else(|| PluginError::failed(format!("agent `{id}` has no working hours")))?
        }
    };
    Ok(found)
}

fn to_utc(zone: Tz, local: NaiveDateTime) -> Option<Timestamp> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        // A local time skipped by a DST jump: the change happens at the jump, an hour later.
        LocalResult::None => zone
            .from_local_datetime(&(local + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc)),
    }
}

impl Condition for WorkingHours {
    type Config = Config;
    const NAME: &'static str = "working-hours";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Now is inside the working hours of a calendar, the ticket's inbox, its assignee or an agent.";
    const CAPABILITIES: &'static [&'static str] = &["directory"];

    fn validate(config: &Config) -> Result<(), PluginError> {
        match (&config.calendar, &config.of) {
            (Some(calendar), None) => zone(calendar).map(|_| ()),
            (None, Some(of)) if !of.trim().is_empty() => Ok(()),
            (Some(_), Some(_)) => Err(PluginError::invalid_config(
                "",
                "give either `calendar` or `of`, not both",
            )),
            _ => Err(PluginError::invalid_config(
                "",
                "give `calendar` (a working-hours calendar) or `of` (`inbox`, `assignee` or an agent id)",
            )),
        }
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let calendar = calendar_for(config, ctx)?;
        let local = ctx.now.with_timezone(&zone(&calendar)?).naive_local();
        Ok(calendar.is_open_at(local))
    }

    fn changes_at(config: &Config, ctx: &Context) -> Option<Timestamp> {
        let calendar = calendar_for(config, ctx).ok()?;
        let zone = zone(&calendar).ok()?;
        let next = calendar.next_change_after(ctx.now.with_timezone(&zone).naive_local())?;
        to_utc(zone, next)
    }
}

export_condition!(WorkingHours);

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_plugin_sdk::testing::{self, at};

    const WARSAW: &str = r#"{"calendar": {"timezone": "Europe/Warsaw",
        "weekly": {"mon": [["08:00", "16:00"]], "tue": [["08:00", "16:00"]]},
        "holidays": ["2026-11-24"]}}"#;

    fn at_time(now: &str) -> Context {
        let mut ctx = testing::context();
        ctx.now = at(now);
        ctx
    }

    #[test]
    fn uses_the_calendars_time_zone() {
        // 07:30 UTC is 08:30 in Warsaw in November (UTC+1).
        assert!(
            testing::evaluate::<WorkingHours>(WARSAW, &at_time("2026-11-16T07:30:00Z")).unwrap()
        );
        // 06:30 UTC is 07:30 in Warsaw: before opening.
        assert!(
            !testing::evaluate::<WorkingHours>(WARSAW, &at_time("2026-11-16T06:30:00Z")).unwrap()
        );
        // 15:00 UTC is 16:00 in Warsaw: closed.
        assert!(
            !testing::evaluate::<WorkingHours>(WARSAW, &at_time("2026-11-16T15:00:00Z")).unwrap()
        );
    }

    #[test]
    fn honours_summer_time() {
        // In July Warsaw is UTC+2: 06:30 UTC is 08:30 local, a Monday.
        assert!(
            testing::evaluate::<WorkingHours>(WARSAW, &at_time("2026-07-13T06:30:00Z")).unwrap()
        );
    }

    #[test]
    fn holidays_are_outside_working_hours() {
        assert!(
            !testing::evaluate::<WorkingHours>(WARSAW, &at_time("2026-11-24T10:00:00Z")).unwrap()
        );
    }

    #[test]
    fn tells_when_the_answer_changes() {
        let v = testing::verdict::<WorkingHours>(WARSAW, &at_time("2026-11-16T10:00:00Z")).unwrap();
        assert!(v.matches);
        assert_eq!(
            v.changes_at,
            Some(at("2026-11-16T15:00:00Z")),
            "closes at 16:00 Warsaw"
        );
        let v = testing::verdict::<WorkingHours>(WARSAW, &at_time("2026-11-16T16:00:00Z")).unwrap();
        // Closed after 16:00 Monday; opens Tuesday 08:00 Warsaw = 07:00 UTC.
        assert_eq!(v.changes_at, Some(at("2026-11-17T07:00:00Z")));
    }

    #[test]
    fn reads_the_inbox_and_assignee_calendars_from_the_directory() {
        let hours = r#"{"timezone": "America/New_York", "weekly": {"mon": [["09:00", "17:00"]]}}"#;
        testing::Directory::new()
            .inbox("support", "Support", Some(hours))
            .agent_with_hours("anna", "Anna", hours)
            .install();
        let mut ctx = at_time("2026-11-16T15:00:00Z"); // 10:00 in New York
        ctx.ticket.inbox = Some("support".into());
        ctx.ticket.assignee = Some("anna".into());
        assert!(testing::evaluate::<WorkingHours>(r#"{"of": "inbox"}"#, &ctx).unwrap());
        assert!(testing::evaluate::<WorkingHours>(r#"{"of": "assignee"}"#, &ctx).unwrap());
        assert!(testing::evaluate::<WorkingHours>(r#"{"of": "anna"}"#, &ctx).unwrap());
        ctx.now = at("2026-11-16T13:00:00Z"); // 08:00 in New York
        assert!(!testing::evaluate::<WorkingHours>(r#"{"of": "inbox"}"#, &ctx).unwrap());
    }

    #[test]
    fn a_missing_calendar_is_an_error_not_a_guess() {
        testing::Directory::new()
            .inbox("support", "Support", None)
            .install();
        let mut ctx = testing::context();
        ctx.ticket.inbox = Some("support".into());
        let e = testing::evaluate::<WorkingHours>(r#"{"of": "inbox"}"#, &ctx).unwrap_err();
        assert!(e.to_string().contains("no working hours"), "{e}");
        ctx.ticket.assignee = None;
        assert!(testing::evaluate::<WorkingHours>(r#"{"of": "assignee"}"#, &ctx).is_err());
    }

    #[test]
    fn rejects_bad_configs() {
        let bad_zone = r#"{"calendar": {"timezone": "Europe/Warszawa"}}"#;
        let e = testing::validate_condition::<WorkingHours>(bad_zone).unwrap_err();
        assert!(e.to_string().contains("Europe/Warszawa"), "{e}");
        assert!(testing::validate_condition::<WorkingHours>("{}").is_err());
        let bad_hours = r#"{"calendar": {"timezone": "UTC", "weekly": {"mon": [["8", "16:00"]]}}}"#;
        assert!(testing::validate_condition::<WorkingHours>(bad_hours).is_err());
        assert!(testing::validate_condition::<WorkingHours>(r#"{"of": "inbox"}"#).is_ok());
    }
}
