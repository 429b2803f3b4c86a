//! The `firewallruleevent` plugin library: see [`FirewallRuleEvent`].

mod firewallruleevent;

pub use firewallruleevent::{FirewallRuleEvent, FirewallRuleEventParams, PortRange};

cloudmarker_plugin_api::export_plugin!(event: FirewallRuleEvent);
