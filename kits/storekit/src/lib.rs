//! The store kit: what every batching store plugin (`esstore`,
//! `mongodbstore`, `splunkhecstore`) shares, so that a store is only its
//! client, its encoder and the classification of its server's answers.
//!
//! - [`Batcher`]: buffers encoded records up to [`BufferLimits`], flushes
//!   when full and in `done`, retries what may pass with the SDK's one
//!   backoff (and the server's `Retry-After`), keeps a failed batch for one
//!   more flush, counts records refused one by one and records lost when it
//!   gives up, and words every message the same way for every store.
//! - [`StoreClient`]: what a store provides: send a batch, say what the
//!   server did with it ([`Sent`]).
//! - [`PrivateRuntime`] (feature `runtime`): a Tokio runtime owned by the
//!   plugin, which drops the async client inside itself.
//! - [`network::describe`]: a connection failure as a sentence, which says
//!   when a timeout over TLS is likely a server that does not speak TLS.

mod batcher;
mod limits;
pub mod network;
mod refusals;
#[cfg(feature = "runtime")]
mod runtime;

pub use batcher::{Batcher, RetryPolicy, Sent, StoreClient, Wording, MAX_BACKOFF};
pub use limits::{BufferLimits, BufferSizeMeans};
pub use refusals::Refusals;
#[cfg(feature = "runtime")]
pub use runtime::PrivateRuntime;
