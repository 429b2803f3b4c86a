//! A Tokio runtime owned by a plugin, for stores whose client is async.

use std::future::Future;
use std::time::Duration;
use tokio::runtime::Runtime;

/// An async client and the private runtime it runs on. The client is
/// dropped inside the runtime (drivers spawn cleanup tasks when dropped,
/// and panic without a runtime), then the runtime gets a bounded shutdown.
pub struct PrivateRuntime<T> {
    runtime: Option<Runtime>,
    client: Option<T>,
}

impl<T> PrivateRuntime<T> {
    /// A one-worker runtime named `name`, and the client `make` builds
    /// inside it.
    pub fn start(name: &str, make: impl FnOnce() -> Result<T, String>) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(name)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        let client = {
            let _entered = runtime.enter();
            make()?
        };
        Ok(Self {
            runtime: Some(runtime),
            client: Some(client),
        })
    }

    /// Runs `f(client)` to completion on the runtime.
    pub fn block_on<'a, F, R>(&'a self, f: impl FnOnce(&'a T) -> F) -> Result<R, String>
    where
        F: Future<Output = R>,
    {
        match (&self.runtime, &self.client) {
            (Some(runtime), Some(client)) => Ok(runtime.block_on(f(client))),
            _ => Err("the client is closed".into()),
        }
    }

    /// Runs `future` on the runtime (for work that needs no client).
    pub fn run<F: Future>(&self, future: F) -> Result<F::Output, String> {
        match &self.runtime {
            Some(runtime) => Ok(runtime.block_on(future)),
            None => Err("the runtime is closed".into()),
        }
    }
}

impl<T> Drop for PrivateRuntime<T> {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            {
                let _entered = runtime.enter();
                drop(self.client.take());
            }
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}
