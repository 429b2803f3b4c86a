use super::*;
use cloudmarker_plugin_api::sdk::testing::capture_logs;
use cloudmarker_plugin_api::sdk::{Batch, Event};
use serde_json::{json, Value};

/// A rule that raises an event: enabled, inbound, allow, TCP, from anywhere,
/// on port 22. `com` entries in `changes` replace (or, when null, remove)
/// the rule's.
fn rule(changes: Value) -> Value {
    let mut record = json!({
        "raw": {"name": "allow-ssh", "properties": {"priority": 100}},
        "ext": {"cloud_type": "azure", "record_type": "security_rule", "subscription_id": "sub-1"},
        "com": {
            "cloud_type": "azure",
            "record_type": "firewall_rule",
            "enabled": true,
            "direction": "in",
            "access": "allow",
            "protocol": "tcp",
            "source_addresses": ["0.0.0.0/0"],
            "destination_ports": ["22"],
            "reference": "rule-1"
        }
    });
    if let (Some(com), Some(changes)) = (record["com"].as_object_mut(), changes.as_object()) {
        for (key, value) in changes {
            if value.is_null() {
                com.remove(key);
            } else {
                com.insert(key.clone(), value.clone());
            }
        }
    }
    record
}

fn events_with(params: FirewallRuleEventParams, record: &str) -> Vec<Value> {
    let mut plugin = FirewallRuleEvent::new(params).unwrap();
    let mut out = Batch::with_capacity(usize::MAX);
    plugin.eval(record, &mut out).unwrap();
    out.records()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect()
}

fn events(record: &Value) -> Vec<Value> {
    events_with(FirewallRuleEventParams::default(), &record.to_string())
}

fn params(ports: Value) -> FirewallRuleEventParams {
    serde_json::from_value(json!({ "ports": ports })).unwrap()
}

/// The exposed ports of the one event `changes` raise, or `None` for no event.
fn exposed(changes: Value) -> Option<Value> {
    exposed_with(FirewallRuleEventParams::default(), changes)
}

fn exposed_with(params: FirewallRuleEventParams, changes: Value) -> Option<Value> {
    let got = events_with(params, &rule(changes).to_string());
    assert!(got.len() <= 1, "one event per rule at most: {got:?}");
    got.first().map(|e| e["com"]["exposed_ports"].clone())
}

#[test]
fn an_open_rule_raises_one_event_worded_as_the_original() {
    // The rule's identity: its event type, reference and exposed ports.
    let id = cloudmarker_plugin_api::sdk::check::finding_id(
        "firewall_rule_event",
        Some("rule-1"),
        &Default::default(),
        json!({"exposed_ports": [22]}).as_object().unwrap(),
    );
    assert_eq!(
        events(&rule(json!({}))),
        [json!({
            "ext": {"cloud_type": "azure", "record_type": "firewall_rule_event", "subscription_id": "sub-1"},
            "com": {
                "cloud_type": "azure",
                "record_type": "firewall_rule_event",
                "exposed_ports": [22],
                "reference": "rule-1",
                "description": "Azure firewall rule rule-1 exposes port 22 to the entire Internet.",
                "recommendation": "Check Azure firewall rule rule-1 and update rules to restrict access to port 22.",
                "finding_id": id,
                "severity": "high",
                "check": "firewallruleevent"
            }
        })]
    );
}

#[test]
fn only_enabled_rules_count() {
    assert_eq!(exposed(json!({"enabled": true})), Some(json!([22])));
    assert_eq!(exposed(json!({"enabled": false})), None);
    assert_eq!(exposed(json!({"enabled": null})), None, "missing");
}

#[test]
fn only_inbound_rules_count() {
    assert_eq!(exposed(json!({"direction": "in"})), Some(json!([22])));
    assert_eq!(exposed(json!({"direction": "out"})), None);
    assert_eq!(exposed(json!({"direction": null})), None);
}

#[test]
fn only_allow_rules_count() {
    assert_eq!(exposed(json!({"access": "allow"})), Some(json!([22])));
    assert_eq!(exposed(json!({"access": "deny"})), None);
    assert_eq!(exposed(json!({"access": null})), None);
}

#[test]
fn only_tcp_and_all_protocol_rules_count() {
    assert_eq!(exposed(json!({"protocol": "tcp"})), Some(json!([22])));
    assert_eq!(exposed(json!({"protocol": "all"})), Some(json!([22])));
    for protocol in ["udp", "icmp", "TCP", "*"] {
        assert_eq!(exposed(json!({ "protocol": protocol })), None, "{protocol}");
    }
    assert_eq!(exposed(json!({"protocol": null})), None);
}

#[test]
fn only_rules_open_to_the_whole_internet_count() {
    let open = json!({"source_addresses": ["10.0.0.0/8", "0.0.0.0/0"]});
    assert_eq!(exposed(open), Some(json!([22])));
    for sources in [
        json!(["10.0.0.0/8"]),
        json!(["0.0.0.0/1", "Internet"]),
        json!([]),
    ] {
        assert_eq!(
            exposed(json!({ "source_addresses": sources })),
            None,
            "{sources}"
        );
    }
    assert_eq!(exposed(json!({"source_addresses": null})), None);
    let escaped = r#"{"com": {"record_type": "firewall_rule", "enabled": true, "direction": "in",
        "access": "allow", "protocol": "tcp", "source_addresses": ["0.0.0.0\/0"],
        "destination_ports": ["22"]}}"#;
    let got = events_with(FirewallRuleEventParams::default(), escaped);
    assert_eq!(got.len(), 1, "an escaped string is the same string");
}

#[test]
fn only_configured_ports_inside_the_rule_ranges_count() {
    assert_eq!(
        exposed(json!({"destination_ports": ["20-30"]})),
        Some(json!([22]))
    );
    assert_eq!(
        exposed(json!({"destination_ports": ["23-3388"]})),
        Some(json!([1433, 1521, 3306]))
    );
    assert_eq!(
        exposed(json!({"destination_ports": ["3389", "22", "22", "21-23"]})),
        Some(json!([22, 3389])),
        "sorted and unique"
    );
    assert_eq!(exposed(json!({"destination_ports": ["23-1432"]})), None);
    assert_eq!(exposed(json!({"destination_ports": ["80", "443"]})), None);
    assert_eq!(exposed(json!({"destination_ports": []})), None);
    assert_eq!(exposed(json!({"destination_ports": null})), None);
}

#[test]
fn reversed_ranges_are_empty_and_invalid_entries_are_ignored() {
    assert_eq!(exposed(json!({"destination_ports": ["3389-22"]})), None);
    assert_eq!(
        exposed(
            json!({"destination_ports": ["22a", "x-22", "21-22-23", " 22", "3389", "5432-99999"]})
        ),
        Some(json!([3389]))
    );
    assert_eq!(
        exposed(json!({"destination_ports": [22, "garbage", null, {"port": 3389}]})),
        Some(json!([22])),
        "integer entries are ports too"
    );
}

#[test]
fn all_ports_expose_every_default_port() {
    assert_eq!(
        exposed(json!({"destination_ports": ["0-65535"]})),
        Some(json!([22, 1433, 1521, 3306, 3389, 5432]))
    );
}

#[test]
fn configured_ports_may_be_strings_and_ranges() {
    let ports = params(json!(["22", "8080-8085", 3389]));
    assert_eq!(
        exposed_with(
            ports.clone(),
            json!({"destination_ports": ["8082-9000", "3389"]})
        ),
        Some(json!([3389, 8082, 8083, 8084, 8085]))
    );
    assert_eq!(
        exposed_with(ports.clone(), json!({"destination_ports": ["22"]})),
        Some(json!([22]))
    );
    assert_eq!(
        exposed_with(ports, json!({"destination_ports": ["1433"]})),
        None
    );
    assert_eq!(
        exposed_with(params(json!([])), json!({"destination_ports": ["0-65535"]})),
        None,
        "no configured ports, no events"
    );
}

#[test]
fn huge_ranges_on_both_sides_give_every_common_port() {
    let got = events_with(
        params(json!(["1-65535"])),
        &rule(json!({"destination_ports": ["0-65535"]})).to_string(),
    );
    assert_eq!(got.len(), 1);
    let ports = got[0]["com"]["exposed_ports"].as_array().unwrap();
    assert_eq!(ports.len(), 65535);
    assert_eq!(ports.first(), Some(&json!(1)));
    assert_eq!(ports.last(), Some(&json!(65535)));
    assert!(ports.windows(2).all(|w| w[0].as_u64() < w[1].as_u64()));
    let description = got[0]["com"]["description"].as_str().unwrap();
    assert!(description.starts_with("Azure firewall rule rule-1 exposes ports 1, 2, 3, "));
    assert!(description.ends_with(", 65534, and 65535 to the entire Internet."));

    assert_eq!(
        exposed_with(
            params(json!(["0-65535"])),
            json!({"destination_ports": ["443", "65535"]})
        ),
        Some(json!([443, 65535]))
    );
}

#[test]
fn many_huge_ranges_stay_cheap() {
    // Thousands of wide overlapping ranges on both sides: set arithmetic is
    // over range ends, so this is fast even in a debug build, and the answer
    // is the exact overlap.
    let configured: Vec<String> = (0..5000).map(|i| format!("{}-65000", i * 10)).collect();
    let destinations: Vec<String> = (0..5000).map(|i| format!("64990-{}", 65535 - i)).collect();
    assert_eq!(
        exposed_with(
            params(json!(configured)),
            json!({ "destination_ports": destinations })
        ),
        Some(json!((64990..=65000).collect::<Vec<u16>>()))
    );
}

#[test]
fn descriptions_list_one_two_and_more_ports() {
    let texts = |ports: Value| {
        let got = events(&rule(json!({ "destination_ports": ports })));
        (
            got[0]["com"]["description"].as_str().unwrap().to_string(),
            got[0]["com"]["recommendation"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    assert_eq!(
        texts(json!(["3389", "22"])),
        (
            "Azure firewall rule rule-1 exposes ports 22 and 3389 to the entire Internet.".into(),
            "Check Azure firewall rule rule-1 and update rules to restrict access to ports 22 and 3389.".into()
        )
    );
    assert_eq!(
        texts(json!(["22", "3389", "5432"])),
        (
            "Azure firewall rule rule-1 exposes ports 22, 3389, and 5432 to the entire Internet.".into(),
            "Check Azure firewall rule rule-1 and update rules to restrict access to ports 22, 3389, and 5432.".into()
        )
    );
}

#[test]
fn descriptions_name_the_cloud() {
    let gcp = events(&rule(json!({
        "cloud_type": "gcp",
        "reference": "https://www.googleapis.com/compute/v1/projects/p/global/firewalls/default-allow-ssh"
    })));
    assert_eq!(gcp[0]["com"]["cloud_type"], "gcp");
    assert_eq!(
        gcp[0]["com"]["description"],
        "Google Cloud Platform (GCP) firewall rule https://www.googleapis.com/compute/v1/projects/p/global/firewalls/default-allow-ssh exposes port 22 to the entire Internet."
    );
    let mock = events(&rule(json!({"cloud_type": "mock"})));
    assert_eq!(mock[0]["com"]["cloud_type"], "mock");
    assert_eq!(
        mock[0]["com"]["recommendation"],
        "Check Mock firewall rule rule-1 and update rules to restrict access to port 22."
    );
}

#[test]
fn a_rule_without_cloud_type_or_reference_still_raises_its_event() {
    let got = events(&rule(json!({"cloud_type": null, "reference": null})));
    assert_eq!(got[0]["com"]["cloud_type"], Value::Null);
    assert_eq!(got[0]["com"]["reference"], Value::Null);
    assert_eq!(
        got[0]["com"]["description"],
        "Unknown cloud firewall rule (unknown) exposes port 22 to the entire Internet."
    );
}

#[test]
fn the_event_keeps_ext_and_never_copies_host_stamps() {
    let mut record = rule(json!({
        "audit_key": "a", "audit_version": "v", "origin_worker": "a_azcloud", "target_type": "store"
    }));
    record["ext"]["record_type"] = json!("security_rule");
    record["ext"]["nested"] = json!({"k": [1, 2]});
    let got = events(&record);
    assert_eq!(
        got[0]["ext"],
        json!({"cloud_type": "azure", "record_type": "firewall_rule_event",
               "subscription_id": "sub-1", "nested": {"k": [1, 2]}})
    );
    let keys: Vec<&String> = got[0]["com"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys.len(),
        9,
        "only the event's own com fields (and its identity, severity, check): {:?}",
        got[0]["com"]
    );

    for ext in [json!(null), json!("not an object"), json!([1])] {
        let mut record = rule(json!({}));
        record["ext"] = ext.clone();
        assert_eq!(
            events(&record)[0]["ext"],
            json!({"record_type": "firewall_rule_event"}),
            "{ext}"
        );
    }
    let mut record = rule(json!({}));
    record.as_object_mut().unwrap().remove("ext");
    assert_eq!(
        events(&record)[0]["ext"],
        json!({"record_type": "firewall_rule_event"})
    );
}

#[test]
fn other_records_are_skipped() {
    for record in [
        json!({"raw": {}, "ext": {}, "com": {"record_type": "compute", "enabled": true}}),
        json!({"raw": {}, "ext": {"record_type": "firewall_rule"}, "com": {}}),
        json!({"raw": {"data": 1}, "ext": {}}),
        json!({"com": null}),
        json!({"com": "firewall_rule"}),
        json!({"com": ["firewall_rule"]}),
        json!({"com": {"record_type": "vm", "enabled": "yes", "destination_ports": 5}}),
    ] {
        assert_eq!(events(&record), Vec::<Value>::new(), "{record}");
    }
}

#[test]
fn malformed_firewall_rules_are_skipped() {
    for changes in [
        json!({"enabled": "true"}),
        json!({"source_addresses": "0.0.0.0/0"}),
        json!({"destination_ports": "22"}),
        json!({"reference": 7}),
    ] {
        assert_eq!(
            events(&rule(changes.clone())),
            Vec::<Value>::new(),
            "{changes}"
        );
    }
}

#[test]
fn text_that_is_not_a_record_is_an_error() {
    let mut plugin = FirewallRuleEvent::new(FirewallRuleEventParams::default()).unwrap();
    let mut out = Batch::with_capacity(usize::MAX);
    for bad in ["not json", "{\"com\": {", "\"a string\"", "7"] {
        let err = plugin.eval(bad, &mut out).unwrap_err();
        assert!(
            err.message.contains("firewallruleevent: unreadable record"),
            "{bad}: {err}"
        );
    }
    assert!(out.is_empty());
}

/// The log lines `record` makes the plugin write.
fn logged(record: &str) -> Vec<(log::Level, String)> {
    let (got, logged) = capture_logs(|| events_with(FirewallRuleEventParams::default(), record));
    assert!(got.is_empty());
    logged
}

#[test]
fn malformed_firewall_rules_warn_and_other_records_are_skipped_silently() {
    let warned = logged(&rule(json!({"enabled": "yes"})).to_string());
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0].0, log::Level::Warn);
    assert!(
        warned[0]
            .1
            .starts_with("Skipped a malformed firewall_rule record (reference rule-1), error: invalid type: string \"yes\", expected a boolean"),
        "{}",
        warned[0].1
    );

    // Other clouds' records are legal input: only their head is read.
    for record in [
        r#"{"raw": {}}"#,
        r#"{"com": 5}"#,
        r#"{"com": {"record_type": "vm", "enabled": "yes"}}"#,
        r#"{"com": {"record_type": "vm"}}"#,
    ] {
        assert_eq!(logged(record), [], "{record}");
    }
}

#[test]
fn params_default_to_the_original_ports_and_refuse_mistakes() {
    assert_eq!(
        serde_json::to_value(FirewallRuleEventParams::default()).unwrap(),
        json!({"ports": [22, 3389, 1433, 1521, 3306, 5432]})
    );
    let defaults: FirewallRuleEventParams = serde_json::from_str("{}").unwrap();
    assert_eq!(defaults.ports.len(), 6);
    for bad in [
        json!({"port": [22]}),
        json!({"ports": ["ssh"]}),
        json!({"ports": [70000]}),
        json!({"ports": ["90-80"]}),
        json!({"ports": 22}),
    ] {
        assert!(
            serde_json::from_value::<FirewallRuleEventParams>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn passes_the_event_compliance_check() {
    let mut plugin = FirewallRuleEvent::new(FirewallRuleEventParams::default()).unwrap();
    let restricted = rule(json!({"source_addresses": ["10.0.0.0/8"]}));
    let others = [
        json!({"ext": {"record_type": "nsg"}, "com": {"record_type": "nsg", "cloud_type": "azure"}}),
        json!({"raw": {}, "ext": {"record_type": "firewall_rule"}, "com": {"record_type": null}}),
    ];
    cloudmarker_plugin_api::sdk::check::assert_check(
        &mut plugin,
        "firewall_rule_event",
        &rule(json!({})),
        &restricted,
        &others,
    );
}
