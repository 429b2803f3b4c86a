//! The `gcpcloud` plugin library: see [`GcpCloud`].

mod firewall;
mod gcpcloud;

pub use firewall::firewall_rules;
pub use gcpcloud::{GcpCloud, GcpParams};

cloudmarker_plugin_api::export_plugin!(cloud: GcpCloud);
