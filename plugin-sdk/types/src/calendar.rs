//! Working-hours calendars: `{"timezone": "Europe/Warsaw", "weekly": {"mon": [["08:00", "16:00"]]},
//! "holidays": ["2026-12-24"]}`.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Days of the week, Monday first, as in calendars and the `day-of-week` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
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

impl Weekday {
    /// All days, Monday first.
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    /// 0 for Monday … 6 for Sunday.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The weekday of a date.
    pub fn of(date: NaiveDate) -> Weekday {
        Weekday::ALL[date.weekday().num_days_from_monday() as usize]
    }
}

/// An opening interval of a day in minutes since midnight, `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// Start minute (0..1440).
    pub start: u16,
    /// End minute (1..=1440).
    pub end: u16,
}

/// A working-hours calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawCalendar", into = "RawCalendar")]
pub struct Calendar {
    /// IANA time zone name.
    pub timezone: String,
    /// Intervals per weekday, Monday first.
    pub weekly: [Vec<Interval>; 7],
    /// Days off in the calendar's zone.
    pub holidays: Vec<NaiveDate>,
}

/// Why a calendar is invalid; `path` names the offending part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarError {
    /// JSON path within the calendar (e.g. `weekly.mon[0]`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for CalendarError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for CalendarError {}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    timezone: String,
    #[serde(default)]
    weekly: BTreeMap<Weekday, Vec<(String, String)>>,
    #[serde(default)]
    holidays: Vec<String>,
}

impl TryFrom<RawCalendar> for Calendar {
    type Error = CalendarError;

    fn try_from(raw: RawCalendar) -> Result<Self, CalendarError> {
        if raw.timezone.trim().is_empty() {
            return Err(err(
                "timezone",
                "must name an IANA time zone, e.g. Europe/Warsaw",
            ));
        }
        let mut weekly: [Vec<Interval>; 7] = Default::default();
        for (day, intervals) in raw.weekly {
            let name = serde_json::to_value(day)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned));
            let name = name.unwrap_or_default();
            let mut parsed = Vec::with_capacity(intervals.len());
            for (i, (from, to)) in intervals.iter().enumerate() {
                let path = format!("weekly.{name}[{i}]");
                let start = parse_clock(from).ok_or_else(|| err(&path, &bad_clock(from)))?;
                let end = parse_clock(to).ok_or_else(|| err(&path, &bad_clock(to)))?;
                if start >= end {
                    return Err(err(&path, &format!("{from} is not before {to}")));
                }
                parsed.push(Interval { start, end });
            }
            parsed.sort_by_key(|i| i.start);
            weekly[day.index()] = parsed;
        }
        let mut holidays = Vec::with_capacity(raw.holidays.len());
        for (i, day) in raw.holidays.iter().enumerate() {
            let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
                err(
                    &format!("holidays[{i}]"),
                    &format!("`{day}` is not a date like 2026-12-24"),
                )
            })?;
            holidays.push(date);
        }
        Ok(Calendar {
            timezone: raw.timezone,
            weekly,
            holidays,
        })
    }
}

impl From<Calendar> for RawCalendar {
    fn from(c: Calendar) -> Self {
        let weekly = Weekday::ALL
            .iter()
            .filter(|d| !c.weekly[d.index()].is_empty())
            .map(|d| {
                let list = c.weekly[d.index()]
                    .iter()
                    .map(|i| (format_clock(i.start), format_clock(i.end)))
                    .collect();
                (*d, list)
            })
            .collect();
        let holidays = c
            .holidays
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect();
        RawCalendar {
            timezone: c.timezone,
            weekly,
            holidays,
        }
    }
}

impl Calendar {
    /// Whether the calendar is open at a local (calendar-zone) date and time.
    pub fn is_open_at(&self, local: NaiveDateTime) -> bool {
        if self.holidays.contains(&local.date()) {
            return false;
        }
        let minute = (local.hour() * 60 + local.minute()) as u16;
        self.weekly[Weekday::of(local.date()).index()]
            .iter()
            .any(|i| i.start <= minute && minute < i.end)
    }

    /// The first local minute after `local` at which `is_open_at` gives another answer, looking
    /// at most two weeks ahead (None when it never changes in that window).
    pub fn next_change_after(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        let open = self.is_open_at(local);
        let start = local.date().and_hms_opt(local.hour(), local.minute(), 0)?;
        // Candidates are interval bounds and midnights; check them in order.
        for day in 0..15 {
            let date = local.date() + chrono::Days::new(day);
            let mut bounds: Vec<u16> = vec![0];
            for i in &self.weekly[Weekday::of(date).index()] {
                bounds.push(i.start);
                bounds.push(i.end);
            }
            bounds.sort_unstable();
            bounds.dedup();
            for minute in bounds {
                let t = if minute >= 1440 {
                    (date + chrono::Days::new(1)).and_hms_opt(0, 0, 0)?
                } else {
                    date.and_hms_opt(u32::from(minute) / 60, u32::from(minute) % 60, 0)?
                };
                if t > start && self.is_open_at(t) != open {
                    return Some(t);
                }
            }
        }
        None
    }
}

fn parse_clock(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

fn format_clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn bad_clock(text: &str) -> String {
    format!("`{text}` is not a time like 08:00 (00:00 to 24:00)")
}

fn err(path: &str, message: &str) -> CalendarError {
    CalendarError {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar(json: &str) -> Result<Calendar, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    const OFFICE: &str = r#"{"timezone": "Europe/Warsaw",
        "weekly": {"mon": [["08:00", "16:00"]], "fri": [["08:00", "12:00"], ["13:00", "24:00"]]},
        "holidays": ["2026-11-23"]}"#;

    #[test]
    fn open_inside_an_interval_and_closed_at_its_end() {
        let c = calendar(OFFICE).unwrap();
        assert!(c.is_open_at(at("2026-11-16 08:00")));
        assert!(c.is_open_at(at("2026-11-16 15:59")));
        assert!(!c.is_open_at(at("2026-11-16 16:00")));
        assert!(!c.is_open_at(at("2026-11-16 07:59")));
        assert!(
            !c.is_open_at(at("2026-11-17 10:00")),
            "tuesday has no hours"
        );
        assert!(
            c.is_open_at(at("2026-11-20 23:59")),
            "24:00 closes at midnight"
        );
        assert!(!c.is_open_at(at("2026-11-20 12:30")), "lunch break");
    }

    #[test]
    fn holidays_are_closed_all_day() {
        let c = calendar(OFFICE).unwrap();
        assert!(!c.is_open_at(at("2026-11-23 10:00")));
    }

    #[test]
    fn next_change_finds_the_next_opening_and_closing() {
        let c = calendar(OFFICE).unwrap();
        assert_eq!(
            c.next_change_after(at("2026-11-16 09:00")),
            Some(at("2026-11-16 16:00"))
        );
        assert_eq!(
            c.next_change_after(at("2026-11-16 17:00")),
            Some(at("2026-11-20 08:00"))
        );
        assert_eq!(
            c.next_change_after(at("2026-11-20 12:10")),
            Some(at("2026-11-20 13:00"))
        );
    }

    #[test]
    fn bad_calendars_name_the_wrong_part() {
        let cases = [
            (
                r#"{"timezone": "UTC", "weekly": {"mon": [["8:00", "16:00"]]}}"#,
                "weekly.mon[0]",
            ),
            (
                r#"{"timezone": "UTC", "weekly": {"tue": [["16:00", "08:00"]]}}"#,
                "weekly.tue[0]",
            ),
            (
                r#"{"timezone": "UTC", "weekly": {"wed": [["08:00", "24:01"]]}}"#,
                "weekly.wed[0]",
            ),
            (
                r#"{"timezone": "UTC", "holidays": ["24.12.2026"]}"#,
                "holidays[0]",
            ),
            (r#"{"timezone": " "}"#, "timezone"),
        ];
        for (json, path) in cases {
            let e = calendar(json).unwrap_err();
            assert!(e.contains(path), "{json}: {e}");
        }
        assert!(calendar(r#"{"timezone": "UTC", "weekly": {"monday": []}}"#).is_err());
    }

    #[test]
    fn round_trips_through_json() {
        let c = calendar(OFFICE).unwrap();
        let again: Calendar = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(c, again);
    }
}
