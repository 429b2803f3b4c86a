//! The `esstore` plugin library: see [`EsStore`].

mod bulk;
mod esstore;

pub use esstore::{EsParams, EsStore};

cloudmarker_plugin_api::export_plugin!(sink: EsStore);
