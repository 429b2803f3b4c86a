//! Google Cloud firewalls in the common `firewall_rule` model, as the
//! original GCPCloud normalises them: one rule per `allowed` and `denied` entry.

use cloudmarker_plugin_api::record::{FirewallRule, FIREWALL_RULE};
use cloudrest::gcp;
use serde_json::{Map, Value};

/// The `firewall_rule` records (JSON text) of one firewall; `ext` is the
/// project identity.
pub fn firewall_rules(firewall: &Value, project_ext: &Map<String, Value>) -> Vec<String> {
    // An unknown direction passes through unchanged, as upstream's does.
    let direction = match firewall.get("direction").and_then(Value::as_str) {
        Some("INGRESS") | None => "in".to_string(),
        Some("EGRESS") => "out".to_string(),
        Some(other) => other.to_string(),
    };
    let enabled = firewall.get("disabled") != Some(&Value::Bool(true));
    let sources = strings(firewall.get("sourceRanges"));
    let reference = firewall.get("selfLink").cloned().unwrap_or(Value::Null);
    let record = gcp::record(project_ext, FIREWALL_RULE)
        .ext("firewall_name", firewall.get("name").cloned())
        // Upstream's names for the firewall's id and link.
        .ext("firewall_id", firewall.get("id").cloned())
        .ext("firewall_link", reference.clone());
    [("allowed", "allow"), ("denied", "deny")]
        .into_iter()
        .flat_map(|(key, access)| {
            let entries = firewall
                .get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            entries.into_iter().map(move |entry| (access, entry))
        })
        .map(|(access, entry)| {
            let protocol = entry
                .get("IPProtocol")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase);
            let ports = match entry.get("ports") {
                None => vec!["0-65535".to_string()],
                ports => strings(ports),
            };
            let com = FirewallRule {
                enabled,
                direction: Some(direction.clone()),
                access: Some(access.into()),
                protocol,
                source_addresses: sources.clone(),
                destination_ports: ports,
                ..FirewallRule::new(gcp::CLOUD_TYPE, reference.as_str().map(String::from))
            };
            record.clone().com_model(&com).to_json(firewall)
        })
        .collect()
}

/// The strings of a JSON array (none when it is missing or not an array).
fn strings(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::record::ext;
    use serde_json::json;

    fn records(firewall: &Value) -> Vec<Value> {
        firewall_rules(firewall, &Map::new())
            .iter()
            .map(|r| serde_json::from_str(r).unwrap())
            .collect()
    }

    #[test]
    fn one_rule_per_allowed_and_denied_entry() {
        // default-allow-internal of Forseti's firewalls_list page 2, plus a denied entry.
        let firewall = json!({"name": "default-allow-internal", "direction": "INGRESS", "sourceRanges": ["10.0.0.0/8"],
            "allowed": [{"IPProtocol": "udp", "ports": ["1-65535"]}, {"IPProtocol": "tcp", "ports": ["1-65535"]}, {"IPProtocol": "icmp"}],
            "denied": [{"IPProtocol": "TCP", "ports": ["22"]}],
            "selfLink": "https://x/global/firewalls/default-allow-internal"});
        let rules = records(&firewall);
        let coms: Vec<Value> = rules.iter().map(|r| r["com"].clone()).collect();
        assert_eq!(coms.len(), 4);
        assert_eq!(coms[0]["access"], "allow");
        assert_eq!(coms[0]["protocol"], "udp");
        assert_eq!(
            coms[2]["destination_ports"],
            json!(["0-65535"]),
            "no ports means all"
        );
        assert_eq!(coms[3]["access"], "deny");
        assert_eq!(coms[3]["protocol"], "tcp");
        assert!(coms
            .iter()
            .all(|c| c["enabled"] == true && c["direction"] == "in"));
        assert_eq!(coms[0]["source_addresses"], json!(["10.0.0.0/8"]));
        assert_eq!(rules[0]["ext"][ext::RECORD_TYPE], FIREWALL_RULE);
    }

    #[test]
    fn disabled_and_egress() {
        let firewall =
            json!({"direction": "EGRESS", "disabled": true, "allowed": [{"IPProtocol": "all"}]});
        let com = &records(&firewall)[0]["com"];
        assert_eq!(com["enabled"], false);
        assert_eq!(com["direction"], "out");
        assert_eq!(com["protocol"], "all");
        assert_eq!(com["source_addresses"], json!([]));
    }
}
