//! The `mockevent` plugin library: see [`MockEvent`].

mod mockevent;

pub use mockevent::{MockEvent, MockEventParams};

cloudmarker_plugin_api::export_plugin!(event: MockEvent);
