//! Network security group rules in the common `firewall_rule` model, as the
//! original AzCloud normalises them.

use cloudmarker_plugin_api::record::FirewallRule;
use serde_json::{json, Map, Value};

/// The `firewall_rule` record of one NSG security rule (or default rule).
/// `ext` is the subscription identity of the NSG's record.
pub fn firewall_rule(rule: &Value, nsg_id: &str, subscription_ext: &Map<String, Value>) -> Value {
    let props = rule.get("properties").unwrap_or(&Value::Null);
    let text = |key: &str| props.get(key).and_then(Value::as_str);
    let lower = |key: &str| text(key).map(str::to_ascii_lowercase);
    let rule_id = rule.get("id").and_then(Value::as_str).unwrap_or_default();

    let direction = text("direction").map(|d| match d {
        "Inbound" => "in".to_string(),
        "Outbound" => "out".to_string(),
        other => other.to_ascii_lowercase(),
    });
    let protocol = lower("protocol").map(|p| if p == "*" { "all".into() } else { p });
    let sources = one_and_many(props, "sourceAddressPrefix", "sourceAddressPrefixes")
        .map(|s| match s {
            "*" | "Internet" | "0.0.0.0/0" => "0.0.0.0/0".into(),
            other => other.into(),
        })
        .collect();
    let ports = one_and_many(props, "destinationPortRange", "destinationPortRanges")
        .map(|p| if p == "*" { "0-65535".into() } else { p.into() })
        .collect();
    let com = FirewallRule {
        enabled: text("provisioningState") == Some("Succeeded"),
        direction,
        access: lower("access"),
        protocol,
        source_addresses: sources,
        destination_ports: ports,
        ..FirewallRule::new("azure", Some(rule_id.into()))
    };

    let mut ext = subscription_ext.clone();
    ext.insert("cloud_type".into(), "azure".into());
    ext.insert("record_type".into(), "security_rule".into());
    ext.insert("nsg_id".into(), nsg_id.into());
    ext.insert("security_rule_id".into(), rule_id.into());
    json!({"raw": rule, "ext": ext, "com": com})
}

/// The single-valued property followed by the list-valued one.
fn one_and_many<'a>(props: &'a Value, one: &str, many: &str) -> impl Iterator<Item = &'a str> {
    let single = props
        .get(one)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let list = props
        .get(many)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    single.into_iter().chain(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(props: Value) -> Value {
        json!({"id": "/subscriptions/s/nsg/n/securityRules/r", "name": "r", "properties": props})
    }

    fn com(props: Value) -> Value {
        let mut ext = Map::new();
        ext.insert("subscription_id".into(), "s".into());
        firewall_rule(&rule(props), "/nsg/n", &ext)["com"].clone()
    }

    #[test]
    fn a_published_rule_open_to_any_source() {
        // rule1 of NetworkSecurityGroups_Get (Microsoft's published example).
        let c = com(
            json!({"provisioningState": "Succeeded", "protocol": "*", "sourcePortRange": "*",
            "destinationPortRange": "80", "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
            "access": "Allow", "priority": 130, "direction": "Inbound"}),
        );
        assert_eq!(
            c,
            json!({"cloud_type": "azure", "record_type": "firewall_rule", "reference": "/subscriptions/s/nsg/n/securityRules/r",
                   "enabled": true, "direction": "in", "access": "allow", "protocol": "all",
                   "source_addresses": ["0.0.0.0/0"], "destination_ports": ["80"]})
        );
    }

    #[test]
    fn every_normalisation_row() {
        let c = com(
            json!({"provisioningState": "Updating", "protocol": "Tcp", "direction": "Outbound", "access": "Deny",
            "sourceAddressPrefix": "Internet", "sourceAddressPrefixes": ["10.0.0.0/8", "0.0.0.0/0", "*"],
            "destinationPortRange": "*", "destinationPortRanges": ["22", "8000-8080"]}),
        );
        assert_eq!(c["enabled"], false);
        assert_eq!(c["direction"], "out");
        assert_eq!(c["access"], "deny");
        assert_eq!(c["protocol"], "tcp");
        assert_eq!(
            c["source_addresses"],
            json!(["0.0.0.0/0", "10.0.0.0/8", "0.0.0.0/0", "0.0.0.0/0"])
        );
        assert_eq!(
            c["destination_ports"],
            json!(["0-65535", "22", "8000-8080"])
        );
        let c = com(
            json!({"protocol": "Udp", "sourceAddressPrefix": "VirtualNetwork", "destinationPortRange": "3389"}),
        );
        assert_eq!(c["protocol"], "udp");
        assert_eq!(c["source_addresses"], json!(["VirtualNetwork"]));
        assert_eq!(
            c["enabled"], false,
            "no provisioning state is not Succeeded"
        );
    }

    #[test]
    fn ext_names_the_nsg_and_the_rule() {
        let mut sub = Map::new();
        sub.insert("subscription_id".into(), "s".into());
        let record = firewall_rule(&rule(json!({})), "/nsg/n", &sub);
        assert_eq!(
            record["ext"],
            json!({"subscription_id": "s", "cloud_type": "azure", "record_type": "security_rule",
                   "nsg_id": "/nsg/n", "security_rule_id": "/subscriptions/s/nsg/n/securityRules/r"})
        );
        assert_eq!(record["raw"]["name"], "r");
    }
}
