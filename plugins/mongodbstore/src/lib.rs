//! The `mongodbstore` plugin library: see [`MongoDbStore`].

mod insert;
mod mongodbstore;

pub use mongodbstore::{MongoDbParams, MongoDbStore};

cloudmarker_plugin_api::export_plugin!(sink: MongoDbStore);
