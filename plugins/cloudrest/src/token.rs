//! An OAuth2 access token that is fetched on first use and refreshed
//! before it expires.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long before expiry a token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

type Fetch = dyn Fn() -> Result<(String, Duration), String> + Send + Sync;

/// A cached token; `fetch` returns a new token and its lifetime.
pub struct TokenCache {
    fetch: Box<Fetch>,
    current: Mutex<Option<(String, Instant)>>,
}

impl TokenCache {
    /// A cache that calls `fetch` when it needs a token.
    pub fn new(
        fetch: impl Fn() -> Result<(String, Duration), String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            fetch: Box::new(fetch),
            current: Mutex::new(None),
        }
    }

    /// A valid token, fetching a new one when there is none or it expires
    /// within five minutes (or within a tenth of its lifetime, if shorter).
    pub fn get(&self) -> Result<String, String> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((token, refresh_at)) = current.as_ref() {
            if Instant::now() < *refresh_at {
                return Ok(token.clone());
            }
        }
        let (token, lifetime) = (self.fetch)()?;
        // A server that echoes a request must not put the token in a log.
        cloudmarker_plugin_api::sdk::secret::register(&token);
        let margin = REFRESH_MARGIN.min(lifetime / 10);
        *current = Some((
            token.clone(),
            Instant::now() + lifetime.saturating_sub(margin),
        ));
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[test]
    fn fetches_once_and_again_when_due() {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&calls);
        let long = TokenCache::new(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            Ok((format!("t{n}"), Duration::from_secs(3600)))
        });
        assert_eq!(long.get().unwrap(), "t0");
        assert_eq!(long.get().unwrap(), "t0");
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let short = TokenCache::new(|| Ok(("s".into(), Duration::ZERO)));
        short.get().unwrap();
        let counter = Arc::new(AtomicU32::new(0));
        let c = Arc::clone(&counter);
        let expiring = TokenCache::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
            Ok(("e".into(), Duration::ZERO))
        });
        expiring.get().unwrap();
        expiring.get().unwrap();
        assert_eq!(
            counter.load(Ordering::SeqCst),
            2,
            "an expired token is fetched again"
        );
    }
}
