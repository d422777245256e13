//! `hour` — the local time of day in the tenant's time zone (`ctx.timezone`) is in
//! `[from, to)`. Hours may be fractional (`8.5` = 08:30); `to` may be 24 (midnight at the end of
//! the day); `from > to` wraps midnight (`22 → 6` is 22:00–06:00).
//!
//! The hint is the next instant at which the answer flips: the next `from` or `to` on the local
//! clock, or a DST jump that skips over one (02:30 does not exist on a spring-forward day: the
//! answer flips at the jump) or repeats one (after a fall-back the clock passes `to` twice).
//! An unknown tenant time zone is an error, not a guess.

use chrono::{NaiveTime, Offset, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use ferrule_plugin_sdk::prelude::*;

/// `{"from": 8.5, "to": 16}` or, across midnight, `{"from": 22, "to": 6}`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Start hour, inclusive, 0 to under 24 (fractional allowed).
    pub from: f64,
    /// End hour, exclusive, 0 to 24 (fractional allowed); before `from` to wrap midnight.
    pub to: f64,
}

const HOUR_MS: f64 = 3_600_000.0;

/// Milliseconds since local midnight of `from` and `to`.
fn bounds(config: &Config) -> (i64, i64) {
    let ms = |h: f64| (h * HOUR_MS).round() as i64;
    (ms(config.from), ms(config.to))
}

fn inside(config: &Config, time_of_day: i64) -> bool {
    let (from, to) = bounds(config);
    if from < to {
        from <= time_of_day && time_of_day < to
    } else {
        time_of_day >= from || time_of_day < to
    }
}

fn time_of_day(zone: Tz, t: Timestamp) -> i64 {
    let local = t.with_timezone(&zone).time();
    i64::from(local.num_seconds_from_midnight()) * 1000 + i64::from(local.nanosecond() / 1_000_000)
}

fn offset(zone: Tz, t: Timestamp) -> i32 {
    zone.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

/// The first millisecond in `(lo, hi]` with `hi`'s UTC offset (`lo` and `hi` differ in offset).
fn jump(zone: Tz, lo: Timestamp, hi: Timestamp) -> Timestamp {
    let before = offset(zone, lo);
    let at = |ms: i64| Timestamp::from_timestamp_millis(ms).unwrap_or(hi);
    let (mut lo, mut hi) = (lo.timestamp_millis(), hi.timestamp_millis());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if offset(zone, at(mid)) == before {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    at(hi)
}

fn zone(ctx: &Context) -> Result<Tz, PluginError> {
    ctx.timezone.parse::<Tz>().map_err(|_| {
        PluginError::failed(format!(
            "the tenant's time zone `{}` is not an IANA time zone",
            ctx.timezone
        ))
    })
}

/// The condition.
pub struct Hour;

impl Condition for Hour {
    type Config = Config;
    const NAME: &'static str = "hour";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "The time of day in the tenant's time zone is between two hours (from inclusive, to exclusive; wraps midnight when from > to).";

    fn validate(config: &Config) -> Result<(), PluginError> {
        if !(0.0..24.0).contains(&config.from) {
            return Err(PluginError::invalid_config(
                "from",
                "must be an hour from 0 to under 24, e.g. 8.5 for 08:30",
            ));
        }
        if !(0.0..=24.0).contains(&config.to) {
            return Err(PluginError::invalid_config(
                "to",
                "must be an hour from 0 to 24, e.g. 16 or 24 for midnight",
            ));
        }
        let (from, to) = bounds(config);
        if from == to || (from == 0 && to == 24 * 3_600_000) {
            return Err(PluginError::invalid_config(
                "to",
                "`from` and `to` must differ and not span the whole day",
            ));
        }
        Ok(())
    }

    fn evaluate(config: &Config, ctx: &Context) -> Result<bool, PluginError> {
        Ok(inside(config, time_of_day(zone(ctx)?, ctx.now)))
    }

    fn changes_at(config: &Config, ctx: &Context) -> Option<Timestamp> {
        let zone = zone(ctx).ok()?;
        let now = inside(config, time_of_day(zone, ctx.now));
        let today = ctx.now.with_timezone(&zone).date_naive();
        let (from, to) = bounds(config);
        let mut candidates = Vec::new();
        // Every instant the local clock shows `from` or `to`, from yesterday to the day after
        // tomorrow (at least 48 h ahead: both bounds occur every day).
        for day in -1..=2 {
            let Some(date) = today.checked_add_signed(TimeDelta::days(day)) else {
                continue;
            };
            let midnight = date.and_time(NaiveTime::MIN);
            for bound in [from, to] {
                let Some(local) =
                    TimeDelta::try_milliseconds(bound).and_then(|b| midnight.checked_add_signed(b))
                else {
                    continue;
                };
                let local = zone.from_local_datetime(&local);
                candidates.extend(local.earliest().map(|t| t.with_timezone(&Utc)));
                candidates.extend(local.latest().map(|t| t.with_timezone(&Utc)));
            }
        }
        // DST jumps in the next three days, where the clock may skip or repeat a bound.
        let step = TimeDelta::hours(3);
        let mut lo = ctx.now;
        for _ in 0..24 {
            let Some(hi) = lo.checked_add_signed(step) else {
                break;
            };
            if offset(zone, lo) != offset(zone, hi) {
                candidates.push(jump(zone, lo, hi));
            }
            lo = hi;
        }
        candidates.retain(|t| *t > ctx.now);
        candidates.sort_unstable();
        candidates
            .into_iter()
            .find(|t| inside(config, time_of_day(zone, *t)) != now)
    }
}

export_condition!(Hour);

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_plugin_sdk::testing::at;
    use ferrule_plugin_sdk::types::Verdict;

    const OFFICE: &str = r#"{"from": 8, "to": 16}"#;
    const NIGHT: &str = r#"{"from": 22, "to": 6}"#;
    const MS: TimeDelta = TimeDelta::milliseconds(1);

    fn verdict_in(config: &str, timezone: &str, now: Timestamp) -> Verdict {
        let mut ctx = testing::context();
        ctx.event = Event::ScheduleTick;
        ctx.timezone = timezone.into();
        ctx.now = now;
        testing::verdict::<Hour>(config, &ctx).unwrap()
    }

    /// Warsaw is UTC+1 in November.
    fn verdict(config: &str, now: Timestamp) -> Verdict {
        verdict_in(config, "Europe/Warsaw", now)
    }

    fn answer(v: Verdict) -> (bool, Option<Timestamp>) {
        (v.matches, v.changes_at)
    }

    #[test]
    fn from_is_inclusive_to_is_exclusive_in_the_tenants_zone() {
        let opens = at("2026-11-16T07:00:00Z"); // 08:00 Warsaw
        let closes = at("2026-11-16T15:00:00Z"); // 16:00 Warsaw
        assert_eq!(answer(verdict(OFFICE, opens - MS)), (false, Some(opens)));
        assert_eq!(answer(verdict(OFFICE, opens)), (true, Some(closes)));
        assert_eq!(
            answer(verdict(OFFICE, at("2026-11-16T10:00:00Z"))),
            (true, Some(closes))
        );
        assert_eq!(answer(verdict(OFFICE, closes - MS)), (true, Some(closes)));
        assert_eq!(
            answer(verdict(OFFICE, closes)),
            (false, Some(at("2026-11-17T07:00:00Z")))
        );
        // 10:00 UTC is 05:00 in New York: not yet.
        let v = verdict_in(OFFICE, "America/New_York", at("2026-11-16T10:00:00Z"));
        assert_eq!(answer(v), (false, Some(at("2026-11-16T13:00:00Z"))));
    }

    #[test]
    fn fractional_hours() {
        let config = r#"{"from": 8.5, "to": 16.25}"#;
        let v = verdict(config, at("2026-11-16T07:00:00Z")); // 08:00
        assert_eq!(answer(v), (false, Some(at("2026-11-16T07:30:00Z"))));
        let v = verdict(config, at("2026-11-16T15:00:00Z")); // 16:00
        assert_eq!(answer(v), (true, Some(at("2026-11-16T15:15:00Z"))));
    }

    #[test]
    fn from_after_to_wraps_midnight() {
        let v = verdict(NIGHT, at("2026-11-16T12:00:00Z")); // 13:00
        assert_eq!(answer(v), (false, Some(at("2026-11-16T21:00:00Z"))));
        let v = verdict(NIGHT, at("2026-11-16T21:30:00Z")); // 22:30
        assert_eq!(answer(v), (true, Some(at("2026-11-17T05:00:00Z"))));
        let v = verdict(NIGHT, at("2026-11-16T23:30:00Z")); // 00:30 the next day
        assert_eq!(answer(v), (true, Some(at("2026-11-17T05:00:00Z"))));
        let v = verdict(NIGHT, at("2026-11-17T05:00:00Z")); // 06:00
        assert_eq!(answer(v), (false, Some(at("2026-11-17T21:00:00Z"))));
        // Up to midnight: 24 and 0 as `to` are the same.
        for config in [r#"{"from": 22, "to": 24}"#, r#"{"from": 22, "to": 0}"#] {
            let v = verdict(config, at("2026-11-16T21:30:00Z"));
            assert_eq!(
                answer(v),
                (true, Some(at("2026-11-16T23:00:00Z"))),
                "{config}"
            );
        }
    }

    #[test]
    fn a_bound_skipped_by_spring_forward_flips_at_the_jump() {
        // Warsaw, Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00 UTC; 02:30 never happens.
        let config = r#"{"from": 2.5, "to": 12}"#;
        let v = verdict(config, at("2026-03-29T00:30:00Z")); // 01:30 CET
        assert_eq!(answer(v), (false, Some(at("2026-03-29T01:00:00Z"))));
        let v = verdict(config, at("2026-03-29T01:00:00Z")); // 03:00 CEST
        assert_eq!(answer(v), (true, Some(at("2026-03-29T10:00:00Z"))));
        // The next day's 08:00 uses the summer offset.
        let v = verdict(OFFICE, at("2026-03-29T15:00:00Z"));
        assert_eq!(answer(v), (false, Some(at("2026-03-30T06:00:00Z"))));
    }

    #[test]
    fn a_bound_repeated_by_fall_back_flips_every_time() {
        // Warsaw, Sunday 2026-10-25: 03:00 CEST goes back to 02:00 CET at 01:00 UTC, so the
        // clock shows 02:30 twice (00:30 and 01:30 UTC).
        let config = r#"{"from": 8, "to": 2.5}"#;
        let v = verdict(config, at("2026-10-24T23:00:00Z")); // 01:00 CEST
        assert_eq!(answer(v), (true, Some(at("2026-10-25T00:30:00Z"))));
        let v = verdict(config, at("2026-10-25T00:30:00Z")); // 02:30 CEST
        assert_eq!(answer(v), (false, Some(at("2026-10-25T01:00:00Z"))));
        let v = verdict(config, at("2026-10-25T01:00:00Z")); // 02:00 CET again
        assert_eq!(answer(v), (true, Some(at("2026-10-25T01:30:00Z"))));
        let v = verdict(config, at("2026-10-25T01:30:00Z")); // 02:30 CET
        assert_eq!(answer(v), (false, Some(at("2026-10-25T07:00:00Z"))));
    }

    #[test]
    fn an_unknown_tenant_zone_is_an_error() {
        let mut ctx = testing::context();
        ctx.timezone = "Mars/Olympus".into();
        let e = testing::verdict::<Hour>(OFFICE, &ctx).unwrap_err();
        assert!(e.to_string().contains("Mars/Olympus"), "{e}");
    }

    #[test]
    fn rejects_meaningless_configs() {
        let bad = [
            (r#"{"from": 8, "to": 8}"#, "to"),
            (r#"{"from": 0, "to": 24}"#, "to"),
            (r#"{"from": -1, "to": 8}"#, "from"),
            (r#"{"from": 24, "to": 8}"#, "from"),
            (r#"{"from": 8, "to": 24.5}"#, "to"),
        ];
        for (config, at_path) in bad {
            let e = testing::validate_condition::<Hour>(config).unwrap_err();
            assert!(
                matches!(&e, PluginError::InvalidConfig { path, .. } if path == at_path),
                "{config}: {e:?}"
            );
        }
        assert!(testing::validate_condition::<Hour>(r#"{"from": "08:00", "to": 16}"#).is_err());
        assert!(testing::validate_condition::<Hour>(r#"{"from": 8}"#).is_err());
        assert!(
            testing::validate_condition::<Hour>(r#"{"from": 8, "to": 16, "tz": "UTC"}"#).is_err()
        );
        for good in [
            OFFICE,
            NIGHT,
            r#"{"from": 0, "to": 6}"#,
            r#"{"from": 22, "to": 24}"#,
        ] {
            assert!(testing::validate_condition::<Hour>(good).is_ok(), "{good}");
        }
    }
}
