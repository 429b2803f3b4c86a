//! Waiting before a retry: one capped, jittered exponential backoff for every
//! plugin, and the server's `Retry-After` (seconds or an HTTP date) when it
//! sends one.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

/// The longest `Retry-After` a plugin waits for; a server that asks for
/// more is treated as unavailable.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// Exponential backoff: `base`, doubled for each attempt, at most `max`,
/// each wait stretched by a random 0-50% so that parallel clients do not
/// retry in lockstep (and still at most `max`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The wait before the first retry.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Backoff {
    /// A backoff from `base` up to `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self { base, max }
    }

    /// The wait before retry `attempt` (0 for the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let doubled = self.base.saturating_mul(1 << attempt.min(20));
        doubled.mul_f64(1.0 + random_fraction() / 2.0).min(self.max)
    }

    /// The wait before retry `attempt`: the server's `retry_after` when it
    /// sent one, else [`Backoff::delay`]. A server that asks for more than
    /// [`MAX_RETRY_AFTER`] is an error that says how long it asked for.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Result<Duration, String> {
        match retry_after {
            Some(wait) if wait > MAX_RETRY_AFTER => Err(format!(
                "the server asks to wait {} s before trying again, more than the {} s cloudmarker waits",
                wait.as_secs(),
                MAX_RETRY_AFTER.as_secs()
            )),
            Some(wait) => Ok(wait),
            None => Ok(self.delay(attempt)),
        }
    }
}

/// A `Retry-After` header value: delay seconds (`120`, also fractional) or
/// an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`), as a wait from `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A random number in [0, 1).
fn random_fraction() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_and_stop_at_the_cap() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for _ in 0..50 {
            let first = backoff.delay(0);
            assert!(
                first >= Duration::from_millis(100) && first <= Duration::from_millis(150),
                "{first:?}"
            );
            let third = backoff.delay(2);
            assert!(
                third >= Duration::from_millis(400) && third <= Duration::from_millis(600),
                "{third:?}"
            );
            assert!(backoff.delay(10) <= Duration::from_secs(1));
            assert!(
                backoff.delay(u32::MAX) <= Duration::from_secs(1),
                "no overflow"
            );
        }
        let spread: std::collections::HashSet<_> = (0..20).map(|_| backoff.delay(0)).collect();
        assert!(spread.len() > 1, "jittered");
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 0.5 ", now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn a_server_that_asks_for_too_long_is_refused() {
        let backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(10));
        assert_eq!(
            backoff.wait(0, Some(Duration::from_secs(2))),
            Ok(Duration::from_secs(2))
        );
        let err = backoff.wait(0, Some(Duration::from_secs(600))).unwrap_err();
        assert!(err.contains("asks to wait 600 s"), "{err}");
    }
}
