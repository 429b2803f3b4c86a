//! Azure Monitor, as one plugin library: the `azmonitor` cloud plugin,
//! which reads each subscription's locations, log profiles (retired, still
//! read) and diagnostic settings, upstream Cloudmarker's four log profile
//! checks, and a diagnostic settings check.

mod azmonitor;

pub use azmonitor::AzMonitor;

cloudmarker_plugin_api::export_plugins!(
    cloud: AzMonitor,
);
