//! Bearer tokens for the blocking REST code, from the official identity
//! crates (`azure_identity`, `google-cloud-auth`). The crates are async and
//! keep their own caches (and refresh a token before it expires); a
//! [`Bearer`] runs their calls on one small runtime and makes sure every
//! token it hands out is redacted from messages and logs.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};

/// A future that yields a token (or a message saying why not).
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// Where a [`Bearer`] gets its tokens: a credential of one of the crates,
/// for one scope.
pub trait TokenSource: Send + Sync {
    /// A valid token; the source caches and refreshes it.
    fn token(&self) -> TokenFuture<'_>;
}

/// An access token for one scope, ready for an `Authorization` header.
pub struct Bearer {
    source: Box<dyn TokenSource>,
    /// The token handed out last, registered as a secret once.
    last: Mutex<String>,
}

impl Bearer {
    /// Tokens from `source`.
    pub fn new(source: impl TokenSource + 'static) -> Self {
        Self {
            source: Box::new(source),
            last: Mutex::default(),
        }
    }

    /// A valid token (the source's cached one, or a new one when it expires
    /// within its refresh margin).
    pub fn get(&self) -> Result<String, String> {
        let token = block_on(self.source.token())?;
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if *last != token {
            // A server that echoes a request must not put the token in a log.
            cloudmarker_plugin_api::sdk::secret::register(&token);
            last.clone_from(&token);
        }
        Ok(token)
    }
}

/// One line for an identity crate's error: its message and its causes (a
/// retried connection error or a failed token request says why only in
/// its sources), each said once.
pub(crate) fn describe(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(error);
    while let Some(current) = next {
        let text = current.to_string().trim().replace('\n', " ");
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = current.source();
    }
    parts.join(": ")
}

/// Runs `future` to completion on the identity runtime, from a thread that
/// is not itself running async code (the listing threads are plain ones).
pub fn block_on<T>(future: impl Future<Output = T>) -> T {
    runtime().block_on(future)
}

/// Runs `build` inside the identity runtime's context, for constructors
/// that start background tasks (google-cloud-auth's token refresh).
pub(crate) fn in_runtime<T>(build: impl FnOnce() -> T) -> T {
    let _context = runtime().enter();
    build()
}

/// One runtime per plugin library for the identity crates: one worker
/// thread, which also runs google-cloud-auth's background refreshes.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        install_crypto_provider();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("cloudmarker-identity")
            .enable_all()
            .build()
            .expect("cannot start the identity runtime (out of threads?)")
    })
}

/// Makes ring the process's rustls provider (google-cloud-auth and the
/// identity HTTP client are built without one of their own). A library
/// that already installed one keeps it.
pub(crate) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    struct Counting(Arc<AtomicU32>);

    impl TokenSource for Counting {
        fn token(&self) -> TokenFuture<'_> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Ok(format!("token-number-{}", n / 2)) })
        }
    }

    #[test]
    fn every_new_token_is_redacted() {
        let calls = Arc::new(AtomicU32::new(0));
        let bearer = Bearer::new(Counting(Arc::clone(&calls)));
        for _ in 0..4 {
            bearer.get().unwrap();
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            4,
            "the source is asked each time"
        );
        let redacted =
            cloudmarker_plugin_api::sdk::secret::redact("saw token-number-0 and token-number-1");
        assert_eq!(redacted, "saw *** and ***");
    }
}
