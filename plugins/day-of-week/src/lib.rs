//! `day-of-week` — today, in the tenant's time zone (`ctx.timezone`), is one of the listed days.
//!
//! The hint is the start of the next local day on which the answer differs: local midnight,
//! converted with that day's UTC offset (so a DST change in between is accounted for). Where a
//! DST jump skips midnight the day starts at the jump; where midnight happens twice, at the first.
//! When every day or no day is listed the answer never changes and there is no hint. An unknown
//! tenant time zone is an error, not a guess.

use chrono::{Datelike, LocalResult, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use ferrule_plugin_sdk::prelude::*;

/// `{"days": ["sat", "sun"]}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Days of the week that match.
    pub days: Vec<Day>,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

const DAYS: [Day; 7] = [
    Day::Mon,
    Day::Tue,
    Day::Wed,
    Day::Thu,
    Day::Fri,
    Day::Sat,
    Day::Sun,
];

fn listed(config: &Config, date: NaiveDate) -> bool {
    config
        .days
        .contains(&DAYS[date.weekday().num_days_from_monday() as usize])
}

fn zone(ctx: &Context) -> Result<Tz, PluginError> {
    ctx.timezone.parse::<Tz>().map_err(|_| {
        PluginError::failed(format!(
            "the tenant's time zone `{}` is not an IANA time zone",
            ctx.timezone
        ))
    })
}

/// The first instant of a local date.
fn start_of_day(zone: Tz, date: NaiveDate) -> Option<Timestamp> {
    let midnight = date.and_time(NaiveTime::MIN);
    match zone.from_local_datetime(&midnight) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        // Midnight skipped by a DST jump: the day starts at the first local minute that exists,
        // which is the instant of the jump.
        LocalResult::None => (1..=24 * 60).find_map(|m| {
            let local = midnight.checked_add_signed(TimeDelta::minutes(m))?;
            zone.from_local_datetime(&local)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        }),
    }
}

/// The condition.
pub struct DayOfWeek;

impl Condition for DayOfWeek {
    type Config = Config;
    const NAME: &'static str = "day-of-week";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str =
        "Today, in the tenant's time zone, is one of the listed days of the week.";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.days.is_empty() {
            return Err(PluginError::invalid_config(
                "days",
                "list at least one day (mon … sun)",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        let today = ctx.now.with_timezone(&zone(ctx)?).date_naive();
        Ok(listed(config, today))
    }

    fn changes_at(config: &Config, ctx: &Context) -> Option<Timestamp> {
        let zone = zone(ctx).ok()?;
        let today = ctx.now.with_timezone(&zone).date_naive();
        let now = listed(config, today);
        let next = (1..=7)
            .filter_map(|d| today.checked_add_signed(TimeDelta::days(d)))
            .find(|d| listed(config, *d) != now)?;
        start_of_day(zone, next)
    }
}

export_condition!(DayOfWeek);

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_plugin_sdk::testing::at;
    use ferrule_plugin_sdk::types::Verdict;

    const WEEKEND: &str = r#"{"days": ["sat", "sun"]}"#;
    const MS: TimeDelta = TimeDelta::milliseconds(1);

    fn verdict_in(config: &str, timezone: &str, now: Timestamp) -> Verdict {
        let mut ctx = testing::context();
        ctx.event = Event::ScheduleTick;
        ctx.timezone = timezone.into();
        ctx.now = now;
        testing::verdict::<DayOfWeek>(config, &ctx).unwrap()
    }

    fn verdict(config: &str, now: Timestamp) -> Verdict {
        verdict_in(config, "Europe/Warsaw", now)
    }

    #[test]
    fn uses_the_tenants_day_and_tells_when_it_flips() {
        // 2026-11-20 is a Friday; Saturday starts at 00:00 Warsaw = 23:00 UTC.
        let saturday = at("2026-11-20T23:00:00Z");
        let v = verdict(WEEKEND, at("2026-11-20T12:00:00Z"));
        assert_eq!((v.matches, v.changes_at), (false, Some(saturday)));
        let v = verdict(WEEKEND, saturday - MS);
        assert_eq!((v.matches, v.changes_at), (false, Some(saturday)));
        // Already Saturday in Warsaw, still Friday in UTC; true until Monday 00:00 Warsaw.
        let v = verdict(WEEKEND, saturday);
        assert_eq!(
            (v.matches, v.changes_at),
            (true, Some(at("2026-11-22T23:00:00Z")))
        );
        let v = verdict(WEEKEND, at("2026-11-22T22:59:59.999Z"));
        assert_eq!(
            (v.matches, v.changes_at),
            (true, Some(at("2026-11-22T23:00:00Z")))
        );
        let v = verdict(WEEKEND, at("2026-11-22T23:00:00Z"));
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-11-27T23:00:00Z")))
        );
    }

    #[test]
    fn the_same_instant_is_another_day_elsewhere() {
        // Monday 2026-11-16 03:00 UTC is still Sunday in New York.
        let now = at("2026-11-16T03:00:00Z");
        assert!(!verdict_in(r#"{"days": ["sun"]}"#, "Europe/Warsaw", now).matches);
        let v = verdict_in(r#"{"days": ["sun"]}"#, "America/New_York", now);
        assert_eq!(
            (v.matches, v.changes_at),
            (true, Some(at("2026-11-16T05:00:00Z")))
        );
    }

    #[test]
    fn next_midnight_uses_the_offset_after_a_dst_change() {
        // Saturday 2026-03-28 (UTC+1); summer time from Sunday 02:00; Monday 00:00 is UTC+2.
        let v = verdict(r#"{"days": ["mon"]}"#, at("2026-03-28T11:00:00Z"));
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-03-29T22:00:00Z")))
        );
        // Back to UTC+1 on Sunday 2026-10-25: Monday starts at 23:00 UTC.
        let v = verdict(r#"{"days": ["mon"]}"#, at("2026-10-24T11:00:00Z"));
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-10-25T23:00:00Z")))
        );
    }

    #[test]
    fn midnight_skipped_or_repeated_by_dst() {
        // Havana springs forward at 00:00 on Sunday 2026-03-08: the day starts at 01:00 CDT.
        let midnight = NaiveDate::from_ymd_opt(2026, 3, 8)
            .unwrap()
            .and_time(NaiveTime::MIN);
        assert_eq!(
            chrono_tz::America::Havana.from_local_datetime(&midnight),
            LocalResult::None
        );
        let v = verdict_in(
            r#"{"days": ["sun"]}"#,
            "America/Havana",
            at("2026-03-07T17:00:00Z"),
        );
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-03-08T05:00:00Z")))
        );
        assert!(
            verdict_in(
                r#"{"days": ["sun"]}"#,
                "America/Havana",
                at("2026-03-08T05:00:00Z")
            )
            .matches
        );
        assert!(
            !verdict_in(
                r#"{"days": ["sun"]}"#,
                "America/Havana",
                at("2026-03-08T04:59:59.999Z")
            )
            .matches
        );
        // Havana falls back from 01:00 CDT to 00:00 CST on Sunday 2026-11-01: midnight happens
        // twice and Sunday starts at the first (00:00 CDT = 04:00 UTC).
        let v = verdict_in(
            r#"{"days": ["sun"]}"#,
            "America/Havana",
            at("2026-10-31T17:00:00Z"),
        );
        assert_eq!(
            (v.matches, v.changes_at),
            (false, Some(at("2026-11-01T04:00:00Z")))
        );
    }

    #[test]
    fn all_days_or_none_never_change() {
        let all = r#"{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}"#;
        let v = verdict(all, at("2026-11-16T10:00:00Z"));
        assert_eq!((v.matches, v.changes_at), (true, None));
    }

    #[test]
    fn an_unknown_tenant_zone_is_an_error() {
        let mut ctx = testing::context();
        ctx.timezone = "Europe/Warszawa".into();
        let e = testing::verdict::<DayOfWeek>(WEEKEND, &ctx).unwrap_err();
        assert!(e.to_string().contains("Europe/Warszawa"), "{e}");
    }

    #[test]
    fn rejects_unknown_days_and_empty_lists() {
        assert!(testing::validate_condition::<DayOfWeek>(r#"{"days": []}"#).is_err());
        let e =
            testing::validate_condition::<DayOfWeek>(r#"{"days": ["mon", "monday"]}"#).unwrap_err();
        assert!(
            matches!(&e, PluginError::InvalidConfig { path, .. } if path == "days[1]"),
            "{e:?}"
        );
        assert!(testing::validate_condition::<DayOfWeek>(r#"{"days": ["Mon"]}"#).is_err());
        assert!(testing::validate_condition::<DayOfWeek>(WEEKEND).is_ok());
    }
}
