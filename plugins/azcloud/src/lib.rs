//! The `azcloud` plugin library: see [`AzCloud`].

mod azcloud;
mod nsg;

pub use azcloud::AzCloud;
pub use nsg::firewall_rule;

cloudmarker_plugin_api::export_plugin!(cloud: AzCloud);
