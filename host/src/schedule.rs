//! The daily schedule: `HH:MM`, local time.

use chrono::{DateTime, Duration, Local, NaiveTime, TimeZone};

/// Runs every day at a local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Daily {
    at: NaiveTime,
}

impl Daily {
    /// Parses `HH:MM` (24-hour).
    pub fn parse(value: &str) -> Result<Self, String> {
        NaiveTime::parse_from_str(value.trim(), "%H:%M")
            .map(|at| Self { at })
            .map_err(|_| format!("schedule: {value:?} is not a time of day as HH:MM (24-hour), e.g. \"00:00\" or \"13:30\""))
    }

    /// The first run time strictly after `now`.
    pub fn next_after<Tz: TimeZone>(&self, now: &DateTime<Tz>) -> DateTime<Tz> {
        let tz = now.timezone();
        let mut day = now.date_naive();
        loop {
            // A time skipped by a DST change has no local instant; try the next day.
            if let Some(t) = tz.from_local_datetime(&day.and_time(self.at)).earliest() {
                if t > *now {
                    return t;
                }
            }
            day += Duration::days(1);
        }
    }

    /// Sleeps until the next run time after now, and returns it.
    pub fn wait_for_next(&self) -> DateTime<Local> {
        let next = self.next_after(&Local::now());
        loop {
            let left = next.signed_duration_since(Local::now());
            match left.to_std() {
                Ok(left) if !left.is_zero() => {
                    std::thread::sleep(left.min(std::time::Duration::from_secs(30)))
                }
                _ => return next,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn parses_hh_mm_only() {
        assert!(Daily::parse("00:00").is_ok());
        assert!(Daily::parse("23:59").is_ok());
        for bad in ["24:00", "7", "noon", "12:60", ""] {
            let err = Daily::parse(bad).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn next_run_is_today_or_tomorrow() {
        let daily = Daily::parse("13:30").unwrap();
        let morning = Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap();
        assert_eq!(
            daily.next_after(&morning),
            Utc.with_ymd_and_hms(2026, 11, 22, 13, 30, 0).unwrap()
        );
        let exactly = Utc.with_ymd_and_hms(2026, 11, 22, 13, 30, 0).unwrap();
        assert_eq!(
            daily.next_after(&exactly),
            Utc.with_ymd_and_hms(2026, 11, 23, 13, 30, 0).unwrap()
        );
    }
}
