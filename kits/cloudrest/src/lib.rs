//! REST plumbing shared by the cloud plugins (`azcloud`, `azvm`,
//! `gcpcloud`). This is an ordinary library, not a plugin.
//!
//! - [`Http`]: a blocking client that retries 429 and 503 (and other 5xx)
//!   answers, honouring `Retry-After` and backing off with jitter otherwise.
//! - [`Limits`] and [`Pager`]: pages per listing and bytes per answer.
//! - [`Bearer`]: access tokens from the official identity crates
//!   (`azure_identity`, `google-cloud-auth`), which cache and refresh them.
//! - [`run_bounded`]: runs tasks on at most N threads.
//! - [`azure`] and [`gcp`]: how each signs in, and its list paging.

pub mod azure;
mod bearer;
mod collected;
pub mod gcp;
mod http;
mod limits;
mod parallel;

pub use bearer::{block_on, Bearer, TokenFuture, TokenSource};
pub use cloudmarker_plugin_api::sdk::stream::{Emitter, LazyStream, RecordStream};
pub use collected::Collected;
pub use http::{describe, retry_after, Http, HttpError};
pub use limits::{
    read_limited, Limits, Pager, DEFAULT_MAX_PAGES, DEFAULT_MAX_RESPONSE_BYTES,
    MAX_ERROR_BODY_BYTES,
};
pub use parallel::{run_bounded, upstream_threads};
