use super::*;
use cloudmarker_plugin_api::record::Envelope;
use cloudmarker_plugin_api::sdk::check::finding_id;
use cloudmarker_plugin_api::ErrorKind;
use serde_json::{json, Map, Value};

/// The instance of the recorded `instances.list` answer.
fn instance() -> Value {
    let page: Value = serde_json::from_str(include_str!(
        "../../../../tests/data/gcp/instances_list.forseti.json"
    ))
    .unwrap();
    page["items"][0].clone()
}

/// A `compute` record as gcpcloud writes it.
fn compute(instance: &Value) -> String {
    let mut project = Map::new();
    project.insert("project_id".into(), "project1".into());
    project.insert("project_name".into(), "Project 1".into());
    project.insert(
        "client_email".into(),
        "reader@project1.iam.gserviceaccount.com".into(),
    );
    Envelope::with_ext(project, "gcp", "compute")
        .reference(instance.get("selfLink").cloned())
        .ext("zone", "us-central1-c")
        .to_json(instance)
}

fn eval(plugin: &mut RulesEvent, record: &str) -> Vec<Value> {
    let mut out = Batch::with_capacity(usize::MAX);
    plugin.eval(record, &mut out).unwrap();
    out.records()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect()
}

/// The bundled packs' three instance rules these tests are about.
fn bundled() -> RulesEvent {
    RulesEvent::new(RulesEventParams {
        include: vec![
            "gcp_compute_serial_port_enabled".into(),
            "gcp_compute_ip_forwarding_enabled".into(),
            "gcp_compute_shielded_vm_secure_boot_disabled".into(),
        ],
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_bundled_rules_flag_a_real_instance_like_a_compiled_check() {
    let mut plugin = bundled();
    let mut misconfigured = instance();
    misconfigured["metadata"]["items"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "serial-port-enable", "value": "true"}));
    misconfigured["canIpForward"] = json!(true);
    misconfigured["shieldedInstanceConfig"] = json!({"enableSecureBoot": true});
    let events = eval(&mut plugin, &compute(&misconfigured));
    let checks: Vec<&str> = events
        .iter()
        .map(|e| e["com"]["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks,
        [
            "gcp_compute_serial_port_enabled",
            "gcp_compute_ip_forwarding_enabled"
        ]
    );
    let serial = &events[0];
    let self_link = misconfigured["selfLink"].as_str().unwrap();
    assert_eq!(
        serial["com"]["record_type"],
        "gcp_compute_serial_port_enabled"
    );
    assert_eq!(
        serial["ext"]["record_type"],
        "gcp_compute_serial_port_enabled"
    );
    assert_eq!(serial["com"]["reference"], self_link);
    assert_eq!(serial["com"]["cloud_type"], "gcp");
    assert_eq!(serial["com"]["severity"], "medium");
    // The host stamps com.compliance from the framework files.
    assert_eq!(serial["com"].get("compliance"), None);
    assert_eq!(
        serial["com"]["finding_id"],
        finding_id(
            "gcp_compute_serial_port_enabled",
            Some(self_link),
            &Map::new(),
            &Map::new()
        )
    );
    // The record's ext locates the resource in the event.
    assert_eq!(serial["ext"]["project_id"], "project1");
    assert_eq!(serial["ext"]["zone"], "us-central1-c");
    let description = serial["com"]["description"].as_str().unwrap();
    assert!(
        description.starts_with("Compute Engine instance iap-ig-79bj (project project1) accepts"),
        "{description}"
    );
    let recommendation = serial["com"]["recommendation"].as_str().unwrap();
    assert!(
        recommendation.ends_with(
            "or gcloud compute instances add-metadata iap-ig-79bj --project project1 \
             --zone us-central1-c --metadata serial-port-enable=false"
        ),
        "{recommendation}"
    );
}

#[test]
fn a_compliant_instance_and_other_records_raise_nothing() {
    let mut plugin = bundled();
    let mut compliant = instance();
    compliant["shieldedInstanceConfig"] =
        json!({"enableSecureBoot": true, "enableVtpm": true, "enableIntegrityMonitoring": true});
    assert_eq!(eval(&mut plugin, &compute(&compliant)), Vec::<Value>::new());
    // The recorded instance has no Shielded VM config: Secure Boot is off.
    let events = eval(&mut plugin, &compute(&instance()));
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["com"]["check"],
        "gcp_compute_shielded_vm_secure_boot_disabled"
    );
    let firewall = Envelope::new("gcp", "firewall").to_json(&json!({"name": "fw"}));
    assert_eq!(eval(&mut plugin, &firewall), Vec::<Value>::new());
    let other_cloud = Envelope::new("azure", "compute").to_json(&json!({"canIpForward": true}));
    assert_eq!(eval(&mut plugin, &other_cloud), Vec::<Value>::new());
    let mut out = Batch::with_capacity(1);
    let err = plugin.eval("[]", &mut out).unwrap_err();
    assert!(
        err.message.starts_with("rulesevent: unreadable record"),
        "{err}"
    );
}

const USER_RULES: &str = r#"rules:
  - id: my_tagged_vm
    title: Tagged VM
    severity: low
    cloud_type: gcp
    record_type: compute
    params: {tag: iap-tag}
    fail: has(raw.tags) && params.tag in raw.tags.items
    description: "Instance {{ raw.name }} carries tag {{ params.tag }}."
    remediation: {text: Remove the tag.}
"#;

#[test]
fn user_rules_selection_and_params() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.yaml");
    std::fs::write(&file, USER_RULES).unwrap();
    let path = file.display().to_string();
    let mut mine = RulesEvent::new(RulesEventParams {
        paths: vec![path.clone()],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(mine.rules().len(), 1);
    let events = eval(&mut mine, &compute(&instance()));
    assert_eq!(
        events[0]["com"]["description"],
        "Instance iap-ig-79bj carries tag iap-tag."
    );
    // Overridden, the param no longer matches.
    let mut other_tag = RulesEvent::new(RulesEventParams {
        paths: vec![path.clone()],
        rule_params: serde_json::from_value(json!({"my_tagged_vm": {"tag": "web"}})).unwrap(),
        ..Default::default()
    })
    .unwrap();
    assert!(eval(&mut other_tag, &compute(&instance())).is_empty());
    // With the bundled packs, minus some.
    let both = RulesEvent::new(RulesEventParams {
        paths: vec![BUNDLED.into(), path.clone()],
        include: vec![
            "gcp_compute_se*".into(),
            "gcp_compute_shielded_vm_secure*".into(),
            "my_*".into(),
        ],
        exclude: vec!["gcp_compute_*_enabled".into()],
        ..Default::default()
    })
    .unwrap();
    let ids: Vec<&str> = both.rules().rules().iter().map(|r| r.id()).collect();
    assert_eq!(
        ids,
        [
            "gcp_compute_shielded_vm_secure_boot_disabled",
            "my_tagged_vm"
        ]
    );
    // Configuration errors.
    for (params, expected) in [
        (
            RulesEventParams {
                paths: vec![path.clone()],
                rule_params: serde_json::from_value(json!({"my_tagged_vm": {"tag": 1}})).unwrap(),
                ..Default::default()
            },
            "rule my_tagged_vm: rule_params: param `tag` must be a string",
        ),
        (
            RulesEventParams {
                include: vec!["nothing_*".into()],
                ..Default::default()
            },
            "include: `nothing_*` matches no rule",
        ),
        (
            RulesEventParams {
                paths: vec![dir.path().join("absent.yaml").display().to_string()],
                ..Default::default()
            },
            "cannot read the rule file",
        ),
    ] {
        let err = RulesEvent::new(params).unwrap_err();
        assert_eq!(err.kind, ErrorKind::CONFIG);
        assert!(err.message.contains(expected), "{err}");
    }
}

#[test]
fn params_are_documented() {
    let schema = RulesEvent::params_schema().unwrap();
    for param in ["paths", "include", "exclude", "rule_params"] {
        assert!(
            schema["properties"][param]["description"].is_string(),
            "{param}: {schema}"
        );
    }
}

#[test]
fn the_bundled_packs_are_found_from_a_build_in_the_source_tree() {
    let dir = bundled_dir().unwrap();
    assert!(dir.join("gcp/compute.yaml").is_file(), "{}", dir.display());
}

#[test]
fn each_rule_counts_what_it_evaluated_per_project() {
    use cloudmarker_plugin_api::abi_stable::std_types::{RSlice, RStr};
    use cloudmarker_plugin_api::sdk::tally::is_check_summary;
    use cloudmarker_plugin_api::sdk::EventAdapter;
    use cloudmarker_plugin_api::Plugin;
    let mut adapter = EventAdapter::new(bundled());
    let mut forwarding = instance();
    forwarding["canIpForward"] = json!(true);
    let records = [compute(&instance()), compute(&forwarding)];
    let texts: Vec<RStr<'_>> = records.iter().map(|r| RStr::from(r.as_str())).collect();
    let events = adapter.eval(RSlice::from(&texts[..])).unwrap();
    assert_eq!(events.records.len(), 3, "{:?}", events.records);
    let done = adapter.done().unwrap();
    let mut summaries: Vec<Value> = done
        .records
        .iter()
        .filter(|r| is_check_summary(r))
        .map(|r| serde_json::from_str(r).unwrap())
        .collect();
    summaries.sort_by_key(|s| s["ext"]["check"].as_str().unwrap().to_owned());
    let counts: Vec<(&str, &str, u64, u64)> = summaries
        .iter()
        .map(|s| {
            let ext = &s["ext"];
            (
                ext["check"].as_str().unwrap(),
                ext["scope"].as_str().unwrap(),
                ext["evaluated"].as_u64().unwrap(),
                ext["failed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("gcp_compute_ip_forwarding_enabled", "project1", 2, 1),
            ("gcp_compute_serial_port_enabled", "project1", 2, 0),
            (
                "gcp_compute_shielded_vm_secure_boot_disabled",
                "project1",
                2,
                2
            ),
        ]
    );
    assert_eq!(summaries[0]["ext"]["plugin"], "rulesevent");
}
