//! The checks that moved from compiled Rust to bundled rules keep their
//! events and their findings: configs that name the old event plugins get
//! the rules, which raise events equal to those the compiled checks raised,
//! with the same finding ids, so a findings database written before the
//! move sees every finding again as open, none new and none resolved.
//!
//! `tests/data/moved_checks/` holds what the compiled checks did before
//! the move (see its README): the records, the events, the database.

mod common;

use common::Sandbox;
use serde_json::Value;
use std::collections::BTreeSet;

/// The event plugins that were compiled checks, by their old names.
const MOVED: [&str; 39] = [
    "awscloudtrailmultiregionevent",
    "awsebsvolumeencryptionevent",
    "awsiamaccesskeyrotationevent",
    "awsiampasswordpolicyevent",
    "awsiamrootaccesskeyevent",
    "awsiamrootmfaevent",
    "awsiamusermfaevent",
    "awskmskeyrotationevent",
    "awsrdsencryptionevent",
    "awsrdspublicaccessevent",
    "awss3bucketpublicevent",
    "azdiagnosticsettingevent",
    "azkvkeynoexpiryevent",
    "azkvnonrecoverableevent",
    "azkvsecretnoexpiryevent",
    "azlogprofileevent",
    "azlogprofilemissingcategoryevent",
    "azlogprofilemissinglocationevent",
    "azlogprofileretentionevent",
    "azpostgresconnectionthrottlingevent",
    "azpostgreslogcheckpointsevent",
    "azpostgreslogconnectionsevent",
    "azpostgreslogdisconnectionsevent",
    "azpostgreslogdurationevent",
    "azpostgreslogretentiondaysevent",
    "azsqldatabasetdeevent",
    "azsqlserverauditingevent",
    "azstorageaccountallowtrustedservicesevent",
    "azstorageaccountdefaultnetworkaccessevent",
    "azstorageaccountmintlsevent",
    "azstorageaccountpublicblobaccessevent",
    "azstorageaccountsecuretransferevent",
    "azwebappclientcertevent",
    "azwebappftpevent",
    "azwebapphttp20event",
    "azwebapphttpsevent",
    "azwebapptlsevent",
    "gcppublicbucketevent",
    "rdbmsenforcetlsevent",
];

fn data(name: &str) -> std::path::PathBuf {
    common::python::root()
        .join("tests/data/moved_checks")
        .join(name)
}

/// The fields of an event that the move must keep, as the golden file
/// `events.json` has them.
fn kept(plugin: &str, event: &Value) -> Value {
    let com = &event["com"];
    serde_json::json!({
        "plugin": plugin,
        "record_type": com["record_type"],
        "reference": com["reference"],
        "cloud_type": com["cloud_type"],
        "finding_id": com["finding_id"],
        "severity": com["severity"],
        "description": com["description"],
        "recommendation": com["recommendation"],
        "ext": event["ext"],
    })
}

/// `value` as JSON text with the keys of every object in order, to sort
/// events the same way whatever order their keys were written in.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let entries: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k:?}:{}", canonical(v)))
                .collect();
            format!("{{{}}}", entries.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// A sandbox with the findings database the compiled checks wrote, and a
/// config running every moved check, by its old name, over the saved
/// records.
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    let state = sb.path().join("findings.sqlite");
    std::fs::copy(data("findings.sqlite"), &state).unwrap();
    let mut config = format!(
        "plugins:\n  savedrecords:\n    plugin: filecloud\n    params: {{path: {}}}\n",
        data("records.json").display()
    );
    for name in MOVED {
        config.push_str(&format!("  {name}:\n    plugin: {name}\n"));
    }
    config.push_str(&format!(
        "audits:\n  moved:\n    clouds: [savedrecords]\n    stores: [filestore]\n    events: [{}]\n    alerts: [filestore]\nrun: [moved]\nstate: {{path: {}}}\n",
        MOVED.join(", "),
        state.display()
    ));
    sb.file("moved.yaml", &config);
    sb
}

#[test]
fn the_old_check_names_raise_the_same_events_with_the_same_finding_ids() {
    let sb = sandbox();
    sb.run_now(&["moved.yaml"]).assert_status(0);
    let mut events: Vec<Value> = MOVED
        .iter()
        .flat_map(|name| {
            common::records_at(&sb.out().join(format!("moved_{name}.json")))
                .into_iter()
                .map(move |event| kept(name, &event))
        })
        .collect();
    let golden: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(data("events.json")).unwrap()).unwrap();
    let mut golden = golden;
    for list in [&mut events, &mut golden] {
        list.sort_by_cached_key(canonical);
    }
    assert_eq!(events.len(), golden.len());
    for (now, before) in events.iter().zip(&golden) {
        assert_eq!(now, before);
    }
}

#[test]
fn a_database_written_by_the_compiled_checks_sees_its_findings_again() {
    let sb = sandbox();
    sb.run_now(&["moved.yaml"]).assert_status(0);
    let listed = sb.run(&[
        "findings",
        "-c",
        "sandbox.yaml",
        "moved.yaml",
        "--format",
        "json",
    ]);
    listed.assert_status(0);
    let findings: Value = serde_json::from_str(&listed.stdout).unwrap();
    let statuses: BTreeSet<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["status"].as_str().unwrap())
        .collect();
    // 114 findings (130 events: some resources are read twice), all
    // written as new by the compiled checks, all open after the move.
    assert_eq!(findings.as_array().unwrap().len(), 114, "{findings:#}");
    assert_eq!(statuses, BTreeSet::from(["open"]), "{findings:#}");
}

#[test]
fn an_old_check_s_bad_param_is_a_configuration_error_naming_the_rule() {
    let sb = Sandbox::new();
    sb.file(
        "tls.yaml",
        "plugins:\n  tls:\n    plugin: azstorageaccountmintlsevent\n    params: {_min_tls_version: TLS9}\naudits:\n  mockaudit:\n    events: [tls]\n",
    );
    let run = sb.run(&["validate", "-c", "sandbox.yaml", "tls.yaml"]);
    run.assert_status(2);
    run.assert_says("rule azure_storage_min_tls_version_too_low: params: _min_tls_version must be TLS1_0, TLS1_1 or TLS1_2");
    let good = sb.file(
        "tls.yaml",
        "plugins:\n  tls:\n    plugin: azstorageaccountmintlsevent\n    params: {_min_tls_version: TLS1_1}\naudits:\n  mockaudit:\n    events: [tls]\n",
    );
    assert!(good.is_file());
    sb.run(&["validate", "-c", "sandbox.yaml", "tls.yaml"])
        .assert_status(0);
}
