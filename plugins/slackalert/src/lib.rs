//! The `slackalert` plugin library: see [`SlackAlert`].

mod slack_api;
mod slackalert;

pub use slackalert::{SlackAlert, SlackParams};

cloudmarker_plugin_api::export_plugin!(sink: SlackAlert);
