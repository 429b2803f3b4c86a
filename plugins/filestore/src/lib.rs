//! The `filestore` plugin library: see [`FileStore`].

mod filestore;
pub mod outdir;

pub use filestore::{FileStore, FileStoreParams, MARKERS_DIR};

cloudmarker_plugin_api::export_plugin!(sink: FileStore);
