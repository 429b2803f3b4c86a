//! `cloudmarker rules list|test` on the bundled packs and on the user's
//! rule files, bad rules as configuration errors, and a user's rule run by
//! rulesevent in an audit: its events carry `com.check`, `com.finding_id`,
//! `com.severity` and the `com.compliance` of the frameworks that map it.

mod common;

use common::Sandbox;
use serde_json::{json, Value};

/// A user rule with a case of each kind; `extra_fail` adds a `fail` case
/// (a record the rule must raise a finding for).
fn rule_file(extra_fail: &str) -> String {
    format!(
        r#"rules:
  - id: acme_storage_http
    title: Storage account accepts plain HTTP
    severity: high
    cloud_type: azure
    record_type: storage_account_properties
    fail: "ext.?secure_transfer_required.orValue(true) == false"
    description: "Storage account {{{{ raw.name }}}} accepts plain HTTP."
    remediation:
      text: Require secure transfer on {{{{ raw.name }}}}
    tests:
      fail:
        - {{raw: {{name: a}}, ext: {{record_type: storage_account_properties, secure_transfer_required: false}}, com: {{cloud_type: azure}}}}
{extra_fail}      pass:
        - {{raw: {{name: b}}, ext: {{record_type: storage_account_properties, secure_transfer_required: true}}, com: {{cloud_type: azure}}}}
"#
    )
}

/// A fail case the rule passes.
const DISAGREEING: &str = "        - {raw: {name: c}, ext: {record_type: storage_account_properties, secure_transfer_required: true}, com: {cloud_type: azure}}\n";

/// A rule whose `fail` (line 5) is not CEL.
const SYNTAX_ERROR: &str = r#"rules:
  - id: acme_broken
    title: Broken
    severity: low
    fail: "ext.secure_transfer_required =="
    record_type: storage_account_properties
    description: broken
    remediation: {text: fix it}
"#;

#[test]
fn the_bundled_packs_list_and_pass_their_tests() {
    let sb = Sandbox::new();
    let test = sb.run(&["rules", "test"]);
    assert_eq!(test.status, Some(0), "{}", test.output());
    assert!(
        test.stdout.contains(" 0 disagreed.") && !test.stdout.contains("FAILED"),
        "{}",
        test.stdout
    );
    let list = sb.run(&["rules", "list"]);
    assert_eq!(list.status, Some(0), "{}", list.output());
    let header = list.stdout.lines().next().unwrap();
    for column in "id|severity|cloud|record types|title|frameworks".split('|') {
        assert!(header.contains(column), "{header}");
    }
    list.assert_says("gcp_compute_serial_port_enabled");
    let json = sb.run(&["rules", "list", "--format", "json"]);
    let rules: Value = serde_json::from_str(&json.stdout).unwrap();
    let serial = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "gcp_compute_serial_port_enabled")
        .unwrap();
    assert_eq!(serial["severity"], "medium");
    assert_eq!(serial["cloud_type"], "gcp");
    assert_eq!(serial["record_types"], json!(["compute"]));
    assert_eq!(serial["origin"], "bundled");
    assert!(serial["frameworks"].is_array());
}

#[test]
fn a_test_case_that_disagrees_exits_1_naming_it() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path().join("mine")).unwrap();
    let file = sb.file("mine/storage.yaml", &rule_file(DISAGREEING));
    let run = sb.run(&["rules", "test", "mine"]);
    run.assert_status(1);
    // The file and line of the rule's `tests:`, the rule, the case and what
    // it expected and got.
    run.assert_says(&format!(
        "FAILED {}:11: rule acme_storage_http: tests.fail[1]: expected a finding, got none",
        std::path::Path::new("mine/storage.yaml").display()
    ));
    run.assert_says("1 rule(s), 3 test case(s): 2 agreed, 1 disagreed.");
    assert!(!run.output().contains("tests.fail[0]"), "{}", run.output());
    // Fixed, it passes.
    std::fs::write(&file, rule_file("")).unwrap();
    let run = sb.run(&["rules", "test", "mine/storage.yaml"]);
    run.assert_status(0);
    run.assert_says("1 rule(s), 2 test case(s): 2 agreed, 0 disagreed.");
}

#[test]
fn a_cel_syntax_error_exits_2_with_the_file_line_and_rule() {
    let sb = Sandbox::new();
    sb.file("broken.yaml", SYNTAX_ERROR);
    for command in ["test", "list"] {
        let run = sb.run(&["rules", command, "broken.yaml"]);
        assert_eq!(run.status, Some(2), "{command}: {}", run.output());
        run.assert_says("broken.yaml:5: rule acme_broken: fail: ");
    }
}

#[test]
fn a_user_rule_without_tests_is_a_warning_and_the_bundled_packs_can_come_along() {
    let sb = Sandbox::new();
    let text = rule_file("");
    let untested = &text[..text.find("    tests:").unwrap()];
    sb.file("untested.yaml", untested);
    let run = sb.run(&["rules", "test", "untested.yaml", "@bundled"]);
    run.assert_status(0);
    run.assert_says(
        "warning: untested.yaml:2: rule acme_storage_http: no test records it must fail or pass",
    );
    let list = sb.run(&["rules", "list", "untested.yaml", "@bundled"]);
    list.assert_says("acme_storage_http");
    list.assert_says("gcp_compute_serial_port_enabled");
}

/// A framework of the user's that maps the rule `acme_storage_http`.
const ACME: &str = r#"framework:
  id: acme_azure_1.0
  name: Acme Azure Baseline
  version: "1.0"
  provider: azure
requirements:
  - id: "1.1"
    section: "1 Storage"
    title: Storage accounts refuse plain HTTP
    level: 1
    automated: true
    checks: [acme_storage_http]
"#;

/// The sandbox of an audit whose rulesevent runs the rules of `rules/`
/// on a storage account that accepts plain HTTP.
fn audit_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path().join("rules")).unwrap();
    sb.file("rules/storage.yaml", &rule_file(""));
    sb.file("acme_azure_1.0.yaml", ACME);
    let id =
        "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/plain";
    let records = json!([{
        "raw": {"id": id, "name": "plain"},
        "ext": {"cloud_type": "azure", "record_type": "storage_account_properties",
                "subscription_id": "subid", "secure_transfer_required": false},
        "com": {"cloud_type": "azure", "record_type": "storage_account_properties", "reference": id}
    }]);
    let path = sb.file("records.json", &records.to_string());
    sb.file(
        "ra.yaml",
        &format!(
            "frameworks: [acme_azure_1.0.yaml]
plugins:
  jsoncloud:
    plugin: jsoncloud
    params: {{path: {path}}}
  rulesevent:
    plugin: rulesevent
    params: {{paths: [rules]}}
audits:
  ra:
    clouds: [jsoncloud]
    events: [rulesevent]
    alerts: [filestore]
run: [ra]
",
            path = path.display()
        ),
    );
    sb
}

#[test]
fn a_user_rule_raises_events_with_its_check_finding_severity_and_frameworks() {
    let sb = audit_sandbox();
    let run = sb.run_now(&["ra.yaml"]);
    run.assert_status(0);
    let events = sb.read_json("ra_rulesevent.json");
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let com = &events[0]["com"];
    let id =
        "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/plain";
    assert_eq!(com["check"], "acme_storage_http");
    assert_eq!(com["record_type"], "acme_storage_http");
    assert_eq!(com["severity"], "high");
    assert_eq!(com["reference"], id);
    assert_eq!(
        com["finding_id"],
        cloudmarker_plugin_api::sdk::check::finding_id(
            "acme_storage_http",
            Some(id),
            &Default::default(),
            &Default::default()
        )
    );
    // From the frameworks that map the rule: the config's own (no bundled
    // one maps it).
    assert_eq!(com["compliance"], json!(["acme_azure_1.0 1.1"]));
    assert_eq!(
        com["description"],
        "Storage account plain accepts plain HTTP."
    );
    // And the framework lists it.
    let list = sb.run(&[
        "rules",
        "list",
        "--framework",
        "acme_azure_1.0",
        "rules",
        "-c",
        "sandbox.yaml",
        "ra.yaml",
    ]);
    assert_eq!(list.status, Some(0), "{}", list.output());
    let line = list
        .stdout
        .lines()
        .find(|l| l.starts_with("acme_storage_http"))
        .unwrap();
    assert!(
        line.contains("high") && line.ends_with("acme_azure_1.0 1.1"),
        "{line}"
    );
    let none = sb.run(&["rules", "list", "--framework", "cis_gcp_5.0.0", "rules"]);
    assert_eq!(none.stdout, "No rules.\n", "{}", none.output());
    // The user's framework's report: the rule evaluated the account and
    // its finding is open.
    let report = sb.compliance_json("acme_azure_1.0", &["sandbox.yaml", "ra.yaml"]);
    let requirement = &report["requirements"][0];
    assert_eq!(requirement["status"], "fail", "{requirement}");
    assert_eq!(requirement["open_findings"], 1);
    assert_eq!(requirement["evaluated"], 1);
}

#[test]
fn a_bad_rule_in_a_config_is_a_configuration_error_naming_file_line_and_rule() {
    let sb = audit_sandbox();
    sb.file("rules/broken.yaml", SYNTAX_ERROR);
    let validate = sb.run(&["validate", "-c", "sandbox.yaml", "ra.yaml"]);
    assert_eq!(validate.status, Some(2), "{}", validate.output());
    validate.assert_says("plugins.rulesevent.params: rulesevent: 1 problem with the rules:");
    validate.assert_says("rules/broken.yaml:5: rule acme_broken: fail: ");
    let run = sb.run_now(&["ra.yaml"]);
    run.assert_status(2);
    run.assert_says("rules/broken.yaml:5: rule acme_broken: fail: ");
    // A test case the rule disagrees with is as bad.
    std::fs::remove_file(sb.path().join("rules/broken.yaml")).unwrap();
    sb.file("rules/storage.yaml", &rule_file(DISAGREEING));
    let validate = sb.run(&["validate", "-c", "sandbox.yaml", "ra.yaml"]);
    assert_eq!(validate.status, Some(2), "{}", validate.output());
    validate.assert_says(
        "rules/storage.yaml:11: rule acme_storage_http: tests.fail[1]: raised no finding",
    );
}
