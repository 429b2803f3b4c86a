//! REST plumbing shared by the cloud plugins (`azcloud`, `azvm`,
//! `gcpcloud`). This is an ordinary library, not a plugin.
//!
//! - [`Http`]: a blocking client that retries 429 and 503 (and other 5xx)
//!   answers, honouring `Retry-After` and backing off with jitter otherwise.
//! - [`Limits`] and [`Pager`]: pages per listing and bytes per answer.
//! - [`TokenCache`]: an OAuth2 access token, fetched on first use and again
//!   before it expires.
//! - [`run_bounded`]: runs tasks on at most N threads.
//! - [`azure`] and [`gcp`]: their token endpoints and list paging.

pub mod azure;
mod collected;
pub mod gcp;
mod http;
mod limits;
mod parallel;
mod stream;
mod token;

pub use collected::Collected;
pub use http::{describe, retry_after, Http, HttpError};
pub use limits::{
    read_limited, Limits, Pager, DEFAULT_MAX_PAGES, DEFAULT_MAX_RESPONSE_BYTES,
    MAX_ERROR_BODY_BYTES,
};
pub use parallel::{run_bounded, upstream_threads};
pub use stream::{Emitter, LazyStream, RecordStream};
pub use token::TokenCache;
