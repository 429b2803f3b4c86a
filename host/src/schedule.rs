//! When audits run: `HH:MM` every day, or a cron expression, in local time
//! or an IANA time zone.

use chrono::{DateTime, Duration, Local, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt;
use std::str::FromStr;

/// A parsed `schedule` (with its `timezone`).
#[derive(Debug, Clone)]
pub struct Schedule {
    kind: Kind,
    zone: Zone,
    text: String,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Every day at this time (the original's form).
    Daily(NaiveTime),
    /// A cron expression, seconds first.
    Cron(Box<cron::Schedule>),
}

#[derive(Debug, Clone, Copy)]
enum Zone {
    Local,
    Named(Tz),
}

/// A `schedule` or `timezone` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    /// The config key: `schedule` or `timezone`.
    pub key: &'static str,
    /// What is wrong with its value.
    pub message: String,
}

impl std::fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for ScheduleError {}

impl Schedule {
    /// Parses `schedule` (`HH:MM`, or a cron expression with 5, 6 or 7
    /// fields: 5 fields mean minute-first with seconds 0) and `timezone`
    /// (an IANA name such as `Europe/Berlin`; None means local time).
    pub fn parse(schedule: &str, timezone: Option<&str>) -> Result<Self, ScheduleError> {
        let bad = |key, message| ScheduleError { key, message };
        let zone = match timezone {
            None => Zone::Local,
            Some(name) => Zone::Named(Tz::from_str(name.trim()).map_err(|_| {
                bad("timezone", format!("{name:?} is not an IANA time zone name such as \"UTC\" or \"Europe/Berlin\""))
            })?),
        };
        let text = schedule.trim();
        let kind = if let Ok(at) = NaiveTime::parse_from_str(text, "%H:%M") {
            Kind::Daily(at)
        } else {
            let fields = text.split_whitespace().count();
            let expression = match fields {
                5 => format!("0 {text}"),
                6 | 7 => text.to_string(),
                _ => {
                    return Err(bad("schedule", format!(
                        "{schedule:?} is neither a time of day as HH:MM (e.g. \"00:00\") nor a cron expression of 5, 6 or 7 fields (e.g. \"*/15 * * * *\")"
                    )))
                }
            };
            let cron = cron::Schedule::from_str(&expression).map_err(|e| {
                bad(
                    "schedule",
                    format!("{schedule:?} is not a valid cron expression: {e}"),
                )
            })?;
            Kind::Cron(Box::new(cron))
        };
        Ok(Self {
            kind,
            zone,
            text: text.to_string(),
        })
    }

    /// The first run time strictly after `now`, or None if there is none
    /// (a cron expression whose times are all past).
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.zone {
            Zone::Local => self.next_in(&now.with_timezone(&Local)),
            Zone::Named(tz) => self.next_in(&now.with_timezone(&tz)),
        }
    }

    /// How many run times fall in `(from, to]`: runs skipped while a run was going.
    pub fn count_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> usize {
        let mut count = 0;
        let mut t = from;
        while let Some(next) = self.next_after(t).filter(|n| *n <= to) {
            count += 1;
            t = next;
        }
        count
    }

    fn next_in<Z: TimeZone>(&self, now: &DateTime<Z>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Daily(at) => Some(next_daily(*at, now).with_timezone(&Utc)),
            Kind::Cron(cron) => cron.after(now).next().map(|t| t.with_timezone(&Utc)),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.zone {
            Zone::Local => write!(f, "{:?} (local time)", self.text),
            Zone::Named(tz) => write!(f, "{:?} ({tz})", self.text),
        }
    }
}

/// The first `at` strictly after `now`, in `now`'s time zone.
fn next_daily<Z: TimeZone>(at: NaiveTime, now: &DateTime<Z>) -> DateTime<Z> {
    let tz = now.timezone();
    let mut day = now.date_naive();
    loop {
        // A time skipped by a DST change has no local instant; try the next day.
        if let Some(t) = tz.from_local_datetime(&day.and_time(at)).earliest() {
            if t > *now {
                return t;
            }
        }
        day += Duration::days(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn daily_runs_today_or_tomorrow() {
        let s = Schedule::parse("13:30", Some("UTC")).unwrap();
        assert_eq!(
            s.next_after(utc(2026, 11, 22, 8, 0, 0)),
            Some(utc(2026, 11, 22, 13, 30, 0))
        );
        assert_eq!(
            s.next_after(utc(2026, 11, 22, 13, 30, 0)),
            Some(utc(2026, 11, 23, 13, 30, 0))
        );
    }

    #[test]
    fn daily_honours_the_time_zone() {
        let s = Schedule::parse("00:00", Some("Europe/Berlin")).unwrap();
        // Midnight in Berlin in November (CET, UTC+1) is 23:00 UTC.
        assert_eq!(
            s.next_after(utc(2026, 11, 22, 8, 0, 0)),
            Some(utc(2026, 11, 22, 23, 0, 0))
        );
    }

    #[test]
    fn five_field_cron_means_seconds_zero() {
        let s = Schedule::parse("*/15 * * * *", Some("UTC")).unwrap();
        assert_eq!(
            s.next_after(utc(2026, 11, 22, 8, 7, 30)),
            Some(utc(2026, 11, 22, 8, 15, 0))
        );
    }

    #[test]
    fn six_field_cron_has_seconds() {
        let s = Schedule::parse("*/10 * * * * *", Some("UTC")).unwrap();
        assert_eq!(
            s.next_after(utc(2026, 11, 22, 8, 0, 1)),
            Some(utc(2026, 11, 22, 8, 0, 10))
        );
        assert_eq!(
            s.count_between(utc(2026, 11, 22, 8, 0, 0), utc(2026, 11, 22, 8, 0, 35)),
            3
        );
    }

    #[test]
    fn bad_values_name_themselves() {
        for bad in ["24:00", "noon", "* * *", "61 * * * *", ""] {
            let err = Schedule::parse(bad, None).unwrap_err().to_string();
            assert!(err.starts_with(&format!("schedule: {bad:?}")), "{err}");
        }
        let err = Schedule::parse("00:00", Some("Mars/Olympus"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("timezone: \"Mars/Olympus\" is not an IANA time zone"),
            "{err}"
        );
    }
}
