//! An event plugin that flags firewall rules exposing sensitive ports to the
//! entire Internet. It reads the common model (`com`) of `firewall_rule`
//! records, so it works for every cloud plugin that fills it in.

mod ports;
mod view;
mod wording;

pub use ports::PortRange;

use ports::PortSet;

use cloudmarker_plugin_api::sdk::{self, Batch, Event, PluginType};
use cloudmarker_plugin_api::PluginError;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use view::{is, LooseCom, LooseRecord, RecordView, RuleCom};

/// The `com.record_type` of the records this plugin evaluates.
const FIREWALL_RULE: &str = "firewall_rule";
/// The `record_type` of the events it raises.
const EVENT_TYPE: &str = "firewall_rule_event";
/// The source address that means "anyone on the Internet".
const ANYWHERE: &str = "0.0.0.0/0";

/// Parameters of [`FirewallRuleEvent`].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
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
/// rule open to `0.0.0.0/0` on at least one of the configured ports.
#[derive(Debug)]
pub struct FirewallRuleEvent {
    ports: PortSet,
}

/// An event as this plugin writes it.
#[derive(Serialize)]
struct EventRecord<'a> {
    ext: Map<String, Value>,
    com: EventCom<'a>,
}

#[derive(Serialize)]
struct EventCom<'a> {
    cloud_type: Option<&'a str>,
    record_type: &'static str,
    exposed_ports: Vec<u16>,
    reference: Option<&'a str>,
    description: String,
    recommendation: String,
}

impl PluginType for FirewallRuleEvent {
    type Params = FirewallRuleEventParams;
    const NAME: &'static str = "firewallruleevent";
    const DESCRIPTION: &'static str =
        "Flags firewall rules that expose sensitive ports to the entire Internet.";

    fn new(params: FirewallRuleEventParams) -> sdk::Result<Self> {
        Ok(Self {
            ports: params.ports.into_iter().collect(),
        })
    }
}

impl Event for FirewallRuleEvent {
    fn eval(&mut self, record: &str, out: &mut Batch) -> sdk::Result<()> {
        let view: RecordView<'_> = match serde_json::from_str(record) {
            Ok(view) => view,
            Err(e) => return skip_unreadable(record, &e),
        };
        let Some(com) = view.com else {
            log::debug!("Skipped a record without a com bucket.");
            return Ok(());
        };
        if !is(&com.record_type, FIREWALL_RULE) {
            return Ok(());
        }
        let exposed = self.exposed_ports(&com);
        if exposed.is_empty() {
            return Ok(());
        }
        out.push(&event(view.ext, &com, &exposed))
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
                .any(|source| source.as_str() == ANYWHERE);
        match &rule.destination_ports {
            Some(destinations) if open_to_internet => self.ports.intersection(&destinations.0),
            _ => PortSet::default(),
        }
    }
}

/// The event for `rule`, which exposes the (non-empty) `exposed` ports.
fn event<'a>(ext: Option<&RawValue>, rule: &'a RuleCom<'a>, exposed: &PortSet) -> EventRecord<'a> {
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
    EventRecord {
        ext: event_ext(ext),
        com: EventCom {
            cloud_type,
            record_type: EVENT_TYPE,
            exposed_ports: ports,
            reference,
            description,
            recommendation,
        },
    }
}

/// The rule's `ext` (which locates the rule for whoever reads the alert)
/// with this event's `record_type`.
fn event_ext(ext: Option<&RawValue>) -> Map<String, Value> {
    let mut map = match ext.map(|raw| serde_json::from_str::<Map<String, Value>>(raw.get())) {
        Some(Ok(map)) => map,
        Some(Err(_)) => {
            log::debug!("The ext bucket of a firewall rule is not an object; not copied.");
            Map::new()
        }
        None => Map::new(),
    };
    map.insert("record_type".into(), Value::from(EVENT_TYPE));
    map
}

/// Logs and skips a record whose `com` did not read as a firewall rule: a
/// warning for a malformed `firewall_rule`, a debug line for anything else
/// (other clouds' records are legal input). Only text that is not a JSON
/// record at all is an error.
fn skip_unreadable(record: &str, error: &serde_json::Error) -> sdk::Result<()> {
    let unreadable =
        || PluginError::failed(format!("firewallruleevent: unreadable record: {error}"));
    if !error.is_data() {
        return Err(unreadable());
    }
    let loose: LooseRecord<'_> = serde_json::from_str(record).map_err(|_| unreadable())?;
    let Some(com) = loose.com else {
        return Err(unreadable());
    };
    if !com.get().starts_with('{') {
        log::debug!("Skipped a record whose com bucket is not an object.");
        return Ok(());
    }
    match serde_json::from_str::<LooseCom<'_>>(com.get()) {
        Ok(LooseCom {
            record_type,
            reference,
        }) if is(&record_type, FIREWALL_RULE) => {
            let reference = reference.map_or("none", RawValue::get);
            log::warn!(
                "Skipped a malformed firewall_rule record (reference {reference}), error: {error}."
            );
        }
        _ => log::debug!("Skipped a record whose com bucket is not a firewall rule: {error}."),
    }
    Ok(())
}

#[cfg(test)]
mod tests;
