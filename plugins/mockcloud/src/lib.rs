//! The `mockcloud` plugin library: see [`MockCloud`].

mod mockcloud;

pub use mockcloud::{MockCloud, MockCloudParams};

cloudmarker_plugin_api::export_plugin!(cloud: MockCloud);
