//! An event plugin that flags firewall rules exposing sensitive ports to the
//! entire Internet. It reads the common model (`com`) of `firewall_rule`
//! records, so it works for every cloud plugin that fills it in.

mod ports;
mod view;
mod wording;

pub use ports::PortRange;

use ports::PortSet;

use cloudmarker_plugin_api::sdk::check::{Check, Finding, Findings, Select, Severity};
use cloudmarker_plugin_api::sdk::{self, PluginType};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use view::{is, RecordView, RuleCom};

/// The `com.record_type` of the records this plugin evaluates.
const FIREWALL_RULE: &str = "firewall_rule";
/// The `record_type` of the events it raises.
const EVENT_TYPE: &str = "firewall_rule_event";
/// The source addresses that mean "anyone on the Internet" (IPv4, IPv6).
const ANYWHERE: [&str; 2] = ["0.0.0.0/0", "::/0"];

/// Parameters of [`FirewallRuleEvent`].
#[derive(Debug, Clone, Deserialize, Serialize, cloudmarker_plugin_api::sdk::schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct FirewallRuleEventParams {
    /// The ports that must not be open to the Internet: integers, or strings
    /// holding a port (`"22"`) or an inclusive range (`"8080-8085"`).
    pub ports: Vec<PortRange>,
}

impl Default for FirewallRuleEventParams {
    fn default() -> Self {
        // SSH, RDP, Microsoft SQL Server, Oracle, MySQL, PostgreSQL.
        let ports = [22, 3389, 1433, 1521, 3306, 5432];
        Self {
            ports: ports.into_iter().map(PortRange::single).collect(),
        }
    }
}

/// Raises one event for each enabled inbound TCP (or any-protocol) allow
/// rule open to `0.0.0.0/0` or `::/0` on at least one of the configured ports.
#[derive(Debug)]
pub struct FirewallRuleEvent {
    ports: PortSet,
}

impl PluginType for FirewallRuleEvent {
    type Params = FirewallRuleEventParams;

    const NAME: &'static str = "firewallruleevent";
    const CLASS: Option<&'static str> = Some("FirewallRuleEvent");
    const DESCRIPTION: &'static str =
        "Flags firewall rules that expose sensitive ports to the entire Internet.";

    fn new(params: FirewallRuleEventParams) -> sdk::Result<Self> {
        Ok(Self {
            ports: params.ports.into_iter().collect(),
        })
    }
}

impl Check for FirewallRuleEvent {
    const SELECT: Select = Select::com(&[FIREWALL_RULE]);
    const SEVERITY: Severity = Severity::High;
    type Record<'a> = RecordView<'a>;

    fn check(&mut self, view: RecordView<'_>, findings: &mut Findings) -> sdk::Result<()> {
        let Some(com) = view.com else {
            return Ok(());
        };
        let exposed = self.exposed_ports(&com);
        if !exposed.is_empty() {
            findings.push(event(view.ext, &com, &exposed));
        }
        Ok(())
    }
}

impl FirewallRuleEvent {
    /// The configured ports that `rule` opens to the whole Internet.
    fn exposed_ports(&self, rule: &RuleCom<'_>) -> PortSet {
        let open_to_internet = rule.enabled == Some(true)
            && is(&rule.direction, "in")
            && is(&rule.access, "allow")
            && (is(&rule.protocol, "tcp") || is(&rule.protocol, "all"))
            && rule
                .source_addresses
                .iter()
                .flatten()
                .any(|source| ANYWHERE.contains(&source.as_str()));
        match &rule.destination_ports {
            Some(destinations) if open_to_internet => self.ports.intersection(&destinations.0),
            _ => PortSet::default(),
        }
    }
}

/// The event for `rule`, which exposes the (non-empty) `exposed` ports; it
/// keeps the rule's `ext`, which locates the rule for whoever reads the alert.
fn event(ext: Option<&RawValue>, rule: &RuleCom<'_>, exposed: &PortSet) -> Finding {
    let ports: Vec<u16> = exposed.ports().collect();
    let cloud_type = rule.cloud_type.as_ref().map(|t| t.as_str());
    let reference = rule.reference.as_ref().map(|t| t.as_str());
    let cloud = wording::cloud_name(cloud_type);
    let rule_name = reference.filter(|r| !r.is_empty()).unwrap_or("(unknown)");
    let phrase = wording::ports_phrase(&ports);
    let description =
        format!("{cloud} firewall rule {rule_name} exposes {phrase} to the entire Internet.");
    let recommendation = format!(
        "Check {cloud} firewall rule {rule_name} and update rules to restrict access to {phrase}."
    );
    log::debug!("Raising a {EVENT_TYPE}: {description}");
    Finding::new(EVENT_TYPE, description, recommendation)
        .cloud_type(cloud_type)
        .reference(reference)
        .distinguished_by("exposed_ports", ports.clone())
        .com("exposed_ports", ports)
        .ext_from(ext)
}

#[cfg(test)]
mod tests;
