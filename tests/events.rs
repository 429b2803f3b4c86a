//! End-to-end tests of the event plugins: the real `cloudmarker` binary runs
//! an audit whose cloud (the `jsoncloud` fixture) emits firewall rules of
//! Azure and GCP and Azure VM records, and filestore keeps the events.

mod common;

use common::{python, Sandbox};
use serde_json::{json, Value};

/// The Azure VM record derived from two published Azure REST API examples;
/// see `tests/data/README.md`.
const DERIVED_VM: &str = include_str!("data/azure/vm_instance_view.derived.json");

const VM_ID: &str = "/subscriptions/{subscription-id}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachines/myVM";
const NSG: &str =
    "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups/testnsg";
const GCP_FIREWALLS: &str =
    "https://www.googleapis.com/compute/beta/projects/project1/global/firewalls";

/// An Azure network security rule, normalised as the azcloud plugin writes
/// it (the source prefixes `*` and `Internet` become `0.0.0.0/0`). `raw` follows `rule1` of the published NetworkSecurityGroups_Get
/// example (api-version 2024-03-01), edited per rule.
fn azure_rule(name: &str, access: &str, protocol: &str, sources: &str, ports: &[&str]) -> Value {
    let id = format!("{NSG}/securityRules/{name}");
    json!({
        "raw": {
            "name": name,
            "id": id,
            "properties": {
                "provisioningState": "Succeeded",
                "protocol": if protocol == "all" { "*" } else { "Tcp" },
                "sourcePortRange": "*",
                "destinationPortRanges": ports,
                "sourceAddressPrefix": sources,
                "destinationAddressPrefix": "*",
                "access": if access == "allow" { "Allow" } else { "Deny" },
                "priority": 130,
                "direction": "Inbound"
            }
        },
        "ext": {"cloud_type": "azure", "record_type": "security_rule", "subscription_id": "subid"},
        "com": {
            "cloud_type": "azure",
            "record_type": "firewall_rule",
            "reference": id,
            "enabled": true,
            "direction": "in",
            "access": access,
            "protocol": protocol,
            "source_addresses": [if sources == "*" || sources == "Internet" { "0.0.0.0/0" } else { sources }],
            "destination_ports": ports
        }
    })
}

/// A GCP firewall rule, normalised as the gcpcloud plugin writes it. `raw`
/// follows the published Forseti firewalls.list test data, edited per rule.
fn gcp_rule(name: &str, protocol: &str, source: &str, ports: &[&str]) -> Value {
    let link = format!("{GCP_FIREWALLS}/{name}");
    json!({
        "raw": {
            "kind": "compute#firewall",
            "name": name,
            "network": "https://www.googleapis.com/compute/beta/projects/project1/global/networks/default1",
            "priority": 1000,
            "sourceRanges": [source],
            "allowed": [{"IPProtocol": protocol, "ports": ports}],
            "direction": "INGRESS",
            "selfLink": link
        },
        "ext": {"cloud_type": "gcp", "record_type": "firewall_rule", "project_id": "project1"},
        "com": {
            "cloud_type": "gcp",
            "record_type": "firewall_rule",
            "reference": link,
            "enabled": true,
            "direction": "in",
            "access": "allow",
            "protocol": protocol,
            "source_addresses": [source],
            "destination_ports": ports
        }
    })
}

/// The derived VM record (OS disk and data disk `myDataDisk0`, both
/// unencrypted).
fn derived_vm() -> Value {
    let mut doc: Value = serde_json::from_str(DERIVED_VM).unwrap();
    doc["record"].take()
}

/// The derived VM as `myVM2`, with an encrypted OS disk, an encrypted data
/// disk `dataA` and an unencrypted data disk `dataB`.
fn partly_encrypted_vm() -> Value {
    let mut vm = derived_vm();
    let id = VM_ID.replace("myVM", "myVM2");
    vm["raw"]["id"] = json!(id);
    vm["raw"]["name"] = json!("myVM2");
    vm["com"]["reference"] = json!(id);
    vm["ext"]["os_disk_encrypted"] = json!(true);
    vm["raw"]["properties"]["instanceView"]["disks"] = json!([
        {"name": "myOsDisk", "encryptionSettings": [{"enabled": true}]},
        {"name": "dataA", "encryptionSettings": [{"enabled": true}]},
        {"name": "dataB"}
    ]);
    vm
}

/// The records the cloud emits, and the audit that evaluates them.
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    let mut malformed = gcp_rule("bad-rule", "tcp", "0.0.0.0/0", &["22"]);
    malformed["com"]["enabled"] = json!("yes");
    let records = json!([
        azure_rule("allow-admin", "allow", "tcp", "Internet", &["22", "3389"]),
        azure_rule("deny-admin", "deny", "tcp", "*", &["22", "3389"]),
        azure_rule("rule1", "allow", "all", "*", &["80"]),
        gcp_rule("default-allow-ssh", "tcp", "0.0.0.0/0", &["22"]),
        gcp_rule("default-allow-internal", "tcp", "10.0.0.0/8", &["1-65535"]),
        gcp_rule("allow-udp", "udp", "0.0.0.0/0", &["0-65535"]),
        gcp_rule("allow-everything", "all", "0.0.0.0/0", &["0-65535"]),
        derived_vm(),
        partly_encrypted_vm(),
        {"raw": {"data": 1}, "ext": {"cloud_type": "mock", "record_type": "foo"},
         "com": {"cloud_type": "mock", "record_type": "mock"}},
        malformed,
    ]);
    let path = sb.file(
        "records.json",
        &serde_json::to_string_pretty(&records).unwrap(),
    );
    sb.file(
        "events.yaml",
        &format!(
            "plugins:
  jsoncloud:
    plugin: jsoncloud
    params:
      path: {path}
  classfw:
    plugin: cloudmarker.events.firewallruleevent.FirewallRuleEvent
    params:
      ports: [\"3389\", \"5432-5433\"]
audits:
  eventaudit:
    clouds: [jsoncloud]
    stores: [filestore]
    events: [firewallruleevent, classfw, azvmosdiskencryptionevent, azvmdatadiskencryptionevent]
    alerts: [filestore]
run: [eventaudit]
",
            path = path.display()
        ),
    );
    sb
}

/// `event` as filestore keeps it: with the host's stamps in `com`.
/// `event` as the alert received it: stamped by the host with its origin,
/// its finding's lifecycle (a first run: `new`, seen once, at `seen_at`)
/// and its target.
fn stamped(mut event: Value, key: &str, class: &str, version: &Value) -> Value {
    let seen_at = SEEN_AT.with(|s| s.borrow().clone());
    let com = event["com"].as_object_mut().unwrap();
    for (field, value) in [
        ("status", json!("new")),
        ("first_seen", seen_at.clone()),
        ("last_seen", seen_at),
        ("occurrences", json!(1)),
        ("audit_key", json!("eventaudit")),
        ("audit_version", version.clone()),
        ("origin_key", json!(key)),
        ("origin_class", json!(class)),
        ("origin_worker", json!(format!("eventaudit_{key}"))),
        ("origin_type", json!("event")),
        ("target_key", json!("filestore")),
        ("target_class", json!("FileStore")),
        ("target_worker", json!("eventaudit_filestore")),
        ("target_type", json!("alert")),
    ] {
        com.insert(field.into(), value);
    }
    event
}

thread_local! {
    /// When the test's run saw its findings (read from its output).
    static SEEN_AT: std::cell::RefCell<Value> = const { std::cell::RefCell::new(Value::Null) };
}

/// A finding's id: its type, its resource and what tells it apart from the
/// resource's other findings of that type.
fn finding_id(record_type: &str, reference: &str, distinguished_by: Value) -> String {
    cloudmarker_plugin_api::sdk::check::finding_id(
        record_type,
        Some(reference),
        &Default::default(),
        distinguished_by.as_object().unwrap(),
    )
}

/// The `com.compliance` of a firewall rule event: every requirement of the
/// frameworks of its cloud (frameworks/*.yaml) that maps firewallruleevent,
/// whatever the ports (the host stamps it by the event's check).
fn firewall_compliance(cloud_type: &str) -> Vec<&'static str> {
    if cloud_type == "azure" {
        // The port-specific requirements map the rules of
        // rules/common/firewall.yaml; firewallruleevent answers the SQL ones.
        vec!["cis_azure_1.3.0 6.3", "cis_azure_3.0.0 5.1.2"]
    } else {
        vec!["cis_gcp_1.2.0 6.5", "cis_gcp_5.0.0 6.5"]
    }
}

fn firewall_event(cloud_type: &str, cloud: &str, reference: &str, ports: &[u16]) -> Value {
    let phrase = match ports {
        [one] => format!("port {one}"),
        [a, b] => format!("ports {a} and {b}"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(u16::to_string).collect();
            format!("ports {}, and {last}", init.join(", "))
        }
        [] => unreachable!("an event has ports"),
    };
    let ext = if cloud_type == "azure" {
        json!({"cloud_type": "azure", "record_type": "firewall_rule_event", "subscription_id": "subid"})
    } else {
        json!({"cloud_type": "gcp", "record_type": "firewall_rule_event", "project_id": "project1"})
    };
    json!({
        "ext": ext,
        "com": {
            "cloud_type": cloud_type,
            "record_type": "firewall_rule_event",
            "exposed_ports": ports,
            "reference": reference,
            "description": format!("{cloud} firewall rule {reference} exposes {phrase} to the entire Internet."),
            "recommendation": format!("Check {cloud} firewall rule {reference} and update rules to restrict access to {phrase}."),
            "finding_id": finding_id("firewall_rule_event", reference, json!({"exposed_ports": ports})),
            "severity": "high",
            "compliance": firewall_compliance(cloud_type),
            "check": "firewallruleevent"
        }
    })
}

fn disk_event(kind: &str, vm: &Value, disk: &str) -> Value {
    let reference = vm["com"]["reference"].as_str().unwrap();
    let mut ext = vm["ext"].clone();
    ext["record_type"] = json!(format!("vm_{kind}_disk_encryption_event"));
    ext["disk_name"] = json!(disk);
    let label = if kind == "os" { "OS" } else { "data" };
    json!({
        "ext": ext,
        "com": {
            "cloud_type": "azure",
            "record_type": format!("vm_{kind}_disk_encryption_event"),
            "reference": reference,
            "description": format!("Azure virtual machine {reference} has unencrypted {label} disk {disk}"),
            "recommendation": format!("Check Azure virtual machine {reference} and encrypt its {label} disk {disk}"),
            "finding_id": finding_id(
                &format!("vm_{kind}_disk_encryption_event"),
                reference,
                if kind == "os" { json!({}) } else { json!({"disk_name": disk}) }
            ),
            "severity": "medium",
            // Both disk checks answer part of the disk encryption
            // recommendations (Azure Disk Encryption only).
            "compliance": ["cis_azure_1.3.0 7.7", "cis_azure_3.0.0 8.9"],
            "check": format!("azvm{kind}diskencryptionevent")
        }
    })
}

#[test]
fn event_plugins_flag_open_rules_and_unencrypted_disks() {
    let sb = sandbox();
    let run = sb.run_now(&["events.yaml"]);
    run.assert_status(0);
    run.assert_says("Audit eventaudit finished: 11 records read, 8 events, 19 writes, 0 failures");
    run.assert_says(&format!(
        "WARN eventaudit_firewallruleevent cloudmarker_plugin_api::sdk::check - Skipped a malformed firewall_rule record (reference {GCP_FIREWALLS}/bad-rule), error: invalid type: string \"yes\", expected a boolean"
    ));

    let stored = sb.read_json("eventaudit_jsoncloud.json");
    assert_eq!(stored.as_array().unwrap().len(), 11);
    let version = stored[0]["com"]["audit_version"].clone();
    assert_eq!(version.as_str().map(str::len), Some(15), "{version}");
    let seen_at = sb.read_json("eventaudit_firewallruleevent.json")[0]["com"]["first_seen"].clone();
    assert_eq!(
        seen_at.as_str().map(str::len),
        Some(20),
        "RFC 3339 to the second: {seen_at}"
    );
    SEEN_AT.with(|s| *s.borrow_mut() = seen_at);

    let azure_admin = format!("{NSG}/securityRules/allow-admin");
    let gcp_ssh = format!("{GCP_FIREWALLS}/default-allow-ssh");
    let gcp_all = format!("{GCP_FIREWALLS}/allow-everything");
    let gcp = "Google Cloud Platform (GCP)";
    let fw = |event: Value| stamped(event, "firewallruleevent", "FirewallRuleEvent", &version);
    assert_eq!(
        sb.read_json("eventaudit_firewallruleevent.json"),
        json!([
            fw(firewall_event("azure", "Azure", &azure_admin, &[22, 3389])),
            fw(firewall_event("gcp", gcp, &gcp_ssh, &[22])),
            fw(firewall_event(
                "gcp",
                gcp,
                &gcp_all,
                &[22, 1433, 1521, 3306, 3389, 5432]
            )),
        ])
    );

    let by_class = |event: Value| stamped(event, "classfw", "FirewallRuleEvent", &version);
    assert_eq!(
        sb.read_json("eventaudit_classfw.json"),
        json!([
            by_class(firewall_event("azure", "Azure", &azure_admin, &[3389])),
            by_class(firewall_event("gcp", gcp, &gcp_all, &[3389, 5432, 5433])),
        ]),
        "the original class name loads the plugin, with string and range ports"
    );

    let (vm, vm2) = (derived_vm(), partly_encrypted_vm());
    let os = |event: Value| {
        stamped(
            event,
            "azvmosdiskencryptionevent",
            "AzVMOSDiskEncryptionEvent",
            &version,
        )
    };
    assert_eq!(
        sb.read_json("eventaudit_azvmosdiskencryptionevent.json"),
        json!([os(disk_event("os", &vm, "myOsDisk"))])
    );
    let data = |event: Value| {
        stamped(
            event,
            "azvmdatadiskencryptionevent",
            "AzVMDataDiskEncryptionEvent",
            &version,
        )
    };
    assert_eq!(
        sb.read_json("eventaudit_azvmdatadiskencryptionevent.json"),
        json!([
            data(disk_event("data", &vm, "myDataDisk0")),
            data(disk_event("data", &vm2, "dataB")),
        ])
    );
}

#[test]
fn findings_are_written_as_ocsf_detection_findings_and_csv() {
    let sb = sandbox();
    let text = std::fs::read_to_string(sb.path().join("events.yaml")).unwrap();
    let (ocsf, csv) = (sb.path().join("ocsf"), sb.path().join("csv"));
    let text = text
        .replace(
            "audits:",
            &format!(
                "  ocsf:\n    plugin: filestore\n    params: {{path: {}, format: ocsf}}\n  csv:\n    plugin: filestore\n    params: {{path: {}, format: csv}}\naudits:",
                ocsf.display(),
                csv.display()
            ),
        )
        .replace("    stores: [filestore]\n", "    stores: [filestore, ocsf]\n")
        .replace("    alerts: [filestore]", "    alerts: [filestore, ocsf, csv]");
    sb.file("events.yaml", &text);
    let run = sb.run_now(&["events.yaml"]);
    run.assert_status(0);

    let findings = ocsf.join("eventaudit_firewallruleevent.ocsf.jsonl");
    let lines: Vec<Value> = std::fs::read_to_string(&findings)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["class_uid"], 2004);
    assert_eq!(lines[0]["severity_id"], 4, "high");
    assert_eq!(lines[0]["status_id"], 1, "new");
    assert_eq!(lines[0]["cloud"]["provider"], "Azure");
    assert_eq!(lines[0]["cloud"]["account"]["uid"], "subid");
    assert_eq!(
        lines[0]["resources"][0]["uid"],
        format!("{NSG}/securityRules/allow-admin")
    );
    assert_eq!(
        lines[0]["finding_info"]["uid"],
        sb.read_json("eventaudit_firewallruleevent.json")[0]["com"]["finding_id"]
    );
    assert_eq!(lines[0]["unmapped"]["compliance"][0], "cis_azure_1.3.0 6.3");
    // Against the published schema's models.
    for file in [
        "eventaudit_firewallruleevent",
        "eventaudit_azvmdatadiskencryptionevent",
    ] {
        let checked = std::process::Command::new(python::python())
            .arg(python::root().join("tests/support/validate_ocsf.py"))
            .arg(ocsf.join(format!("{file}.ocsf.jsonl")))
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&checked.stdout);
        assert!(checked.status.success(), "{file}: {said}");
    }
    // As a store, it leaves the cloud's records (not findings) out, and says so.
    assert!(
        !ocsf.join("eventaudit_jsoncloud.ocsf.jsonl").exists()
            || std::fs::read_to_string(ocsf.join("eventaudit_jsoncloud.ocsf.jsonl"))
                .unwrap()
                .is_empty()
    );
    run.assert_says("record(s) that are not findings out of");

    let table =
        std::fs::read_to_string(csv.join("eventaudit_azvmdatadiskencryptionevent.csv")).unwrap();
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows[0], "record_type,cloud_type,reference,finding_id,status,severity,description,recommendation,first_seen,last_seen,occurrences,resolved_at,audit_key,audit_version,origin_worker,compliance");
    assert_eq!(rows.len(), 3, "{table}");
    assert!(
        rows[1].starts_with("vm_data_disk_encryption_event,azure,"),
        "{}",
        rows[1]
    );
    assert!(rows[1].contains(",new,medium,"), "{}", rows[1]);
}

#[test]
fn jsoncloud_names_a_file_it_cannot_read() {
    let sb = Sandbox::new();
    sb.file(
        "missing.yaml",
        "plugins:\n  jsoncloud:\n    plugin: jsoncloud\n    params: {path: nosuch.json}\n\
         audits:\n  a:\n    clouds: [jsoncloud]\n    events: [firewallruleevent]\nrun: [a]\n",
    );
    let run = sb.run_now(&["missing.yaml"]);
    run.assert_status(1);
    run.assert_says("jsoncloud: cannot read records from \"nosuch.json\": ");
}
