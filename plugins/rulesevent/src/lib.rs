//! The `rulesevent` plugin library: see [`RulesEvent`].

mod rulesevent;

pub use rulesevent::{bundled_dir, RulesEvent, RulesEventParams, BUNDLED};

cloudmarker_plugin_api::export_plugin!(event: RulesEvent);
