//! Azure Monitor, as one plugin library: the `azmonitor` cloud plugin,
//! which reads each subscription's locations, log profiles (retired, still
//! read) and diagnostic settings, upstream Cloudmarker's four log profile
//! checks, and a diagnostic settings check.

mod azmonitor;
mod checks;

pub use azmonitor::AzMonitor;
pub use checks::{
    DiagnosticSetting, LogProfile, LogProfileMissingCategory, LogProfileMissingLocation,
    LogProfileRetention,
};

cloudmarker_plugin_api::export_plugins!(
    cloud: AzMonitor,
    event: LogProfile,
    event: LogProfileMissingCategory,
    event: LogProfileMissingLocation,
    event: LogProfileRetention,
    event: DiagnosticSetting,
);
