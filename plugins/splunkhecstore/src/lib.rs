//! The `splunkhecstore` plugin library: see [`SplunkHecStore`].

mod hec;
mod splunkhecstore;

pub use splunkhecstore::{CaCert, SplunkHecParams, SplunkHecStore};

cloudmarker_plugin_api::export_plugin!(sink: SplunkHecStore);
