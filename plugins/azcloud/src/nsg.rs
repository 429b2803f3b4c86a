//! Network security group rules in the common `firewall_rule` model, as the
//! original AzCloud normalises them.

use cloudmarker_plugin_api::record::FirewallRule;
use cloudrest::azure;
use serde_json::{Map, Value};

/// The `firewall_rule` record (JSON text) of one NSG security rule (or
/// default rule). `ext` is the subscription identity of the NSG's record.
pub fn firewall_rule(rule: &Value, nsg_id: &str, subscription_ext: &Map<String, Value>) -> String {
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
        ..FirewallRule::new(azure::CLOUD_TYPE, Some(rule_id.into()))
    };
    azure::record(subscription_ext, "security_rule")
        .ext("nsg_id", nsg_id)
        .ext("security_rule_id", rule_id)
        .com_model(&com)
        .to_json(rule)
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
    use cloudmarker_plugin_api::record::ext;
    use serde_json::json;

    fn rule(props: Value) -> Value {
        json!({"id": "/subscriptions/s/nsg/n/securityRules/r", "name": "r", "properties": props})
    }

    fn record(props: Value) -> Value {
        let mut ext = Map::new();
        ext.insert("subscription_id".into(), "s".into());
        serde_json::from_str(&firewall_rule(&rule(props), "/nsg/n", &ext)).unwrap()
    }

    fn com(props: Value) -> Value {
        record(props)["com"].clone()
    }

    #[test]
    fn a_published_rule_open_to_any_source() {
        // rule1 of NetworkSecurityGroups_Get (Microsoft's published example).
        let c = com(
            json!({"provisioningState": "Succeeded", "protocol": "*", "sourcePortRange": "*",
            "destinationPortRange": "80", "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
            "access": "Allow", "priority": 130, "direction": "Inbound"}),
        );
        let expected = FirewallRule {
            protocol: Some("all".into()),
            source_addresses: vec!["0.0.0.0/0".into()],
            destination_ports: vec!["80".into()],
            ..FirewallRule::new(
                "azure",
                Some("/subscriptions/s/nsg/n/securityRules/r".into()),
            )
        };
        assert_eq!(c, serde_json::to_value(expected).unwrap());
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
        let record = record(json!({}));
        assert_eq!(
            record["ext"],
            json!({"subscription_id": "s", ext::CLOUD_TYPE: "azure", ext::RECORD_TYPE: "security_rule",
                   "nsg_id": "/nsg/n", "security_rule_id": "/subscriptions/s/nsg/n/securityRules/r"})
        );
        assert_eq!(record["raw"]["name"], "r");
    }
}
