//! The `filecloud` plugin library: see [`FileCloud`].

mod filecloud;

pub use filecloud::{FileCloud, FileCloudParams};

cloudmarker_plugin_api::export_plugin!(cloud: FileCloud);
