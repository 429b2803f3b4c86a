//! The `filestore` plugin library: see [`FileStore`].

mod filestore;
mod formats;
pub mod outdir;

pub use filestore::{FileStore, FileStoreParams, MARKERS_DIR};
pub use formats::Format;

cloudmarker_plugin_api::export_plugin!(sink: FileStore);
