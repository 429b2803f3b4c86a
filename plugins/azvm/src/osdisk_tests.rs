use super::*;
use crate::vm_fixtures::{
    assert_reference_falls_back_to_the_vm_id, assert_unreadable, assert_vm_check, eval_text,
    vm_record, with_ext, VM_ID,
};
use cloudmarker_plugin_api::sdk::testing::capture_logs;
use serde_json::{json, Value};

fn events(record: &Value) -> Vec<Value> {
    eval_text::<AzVmOsDiskEncryptionEvent>(&record.to_string())
}

/// The derived record with `ext.os_disk_encrypted` set to `flag` (removed
/// when `None`).
fn with_flag(flag: Option<Value>) -> Value {
    with_ext("os_disk_encrypted", flag)
}

#[test]
fn an_unencrypted_os_disk_raises_one_event() {
    assert_eq!(
        events(&vm_record()),
        [json!({
            "ext": {
                "cloud_type": "azure",
                "record_type": "vm_os_disk_encryption_event",
                "subscription_id": "{subscription-id}",
                "power_state": "running",
                "os_disk_encrypted": false,
                "all_data_disks_encrypted": false,
                "disk_name": "myOsDisk"
            },
            "com": {
                "cloud_type": "azure",
                "record_type": "vm_os_disk_encryption_event",
                "reference": VM_ID,
                "description": format!("Azure virtual machine {VM_ID} has unencrypted OS disk myOsDisk"),
                "recommendation": format!("Check Azure virtual machine {VM_ID} and encrypt its OS disk myOsDisk"),
                "finding_id": cloudmarker_plugin_api::sdk::check::finding_id("vm_os_disk_encryption_event", Some(VM_ID), &Default::default(), &Default::default()),
                "severity": "medium",
                "check": "azvmosdiskencryptionevent"
            }
        })]
    );
}

#[test]
fn only_a_true_flag_vouches_for_the_os_disk() {
    assert!(events(&with_flag(Some(json!(true)))).is_empty());
    for flag in [
        Some(json!(false)),
        None,
        Some(json!(null)),
        Some(json!("true")),
        Some(json!(1)),
    ] {
        assert_eq!(events(&with_flag(flag.clone())).len(), 1, "{flag:?}");
    }
}

#[test]
fn the_flag_decides_not_the_instance_view() {
    // The azvm plugin computes the flag from the instance view; this plugin
    // reports its verdict rather than second-guessing it.
    let mut record = with_flag(Some(json!(true)));
    record["raw"]["properties"]["instanceView"]["disks"][0]["encryptionSettings"] =
        json!([{"enabled": false}]);
    assert!(events(&record).is_empty());
}

#[test]
fn the_os_disk_name_comes_from_the_storage_profile() {
    let mut record = vm_record();
    record["raw"]["properties"]["storageProfile"]["osDisk"]["name"] = json!("bootDisk");
    let got = events(&record);
    assert_eq!(got[0]["ext"]["disk_name"], "bootDisk");
    assert_eq!(
        got[0]["com"]["description"],
        format!("Azure virtual machine {VM_ID} has unencrypted OS disk bootDisk")
    );
}

#[test]
fn only_azure_records_count() {
    for cloud_type in [json!("gcp"), json!("Azure"), json!(null), json!(7)] {
        let mut record = vm_record();
        record["com"]["cloud_type"] = cloud_type.clone();
        assert!(events(&record).is_empty(), "{cloud_type}");
    }
    let mut record = vm_record();
    record["com"].as_object_mut().unwrap().remove("cloud_type");
    assert!(events(&record).is_empty());
}

#[test]
fn only_vm_instance_view_records_count() {
    for record_type in [json!("virtual_machine"), json!("compute"), json!(null)] {
        let mut record = vm_record();
        record["ext"]["record_type"] = record_type.clone();
        assert!(events(&record).is_empty(), "{record_type}");
    }
    let mut record = vm_record();
    record["ext"] = json!(null);
    assert!(events(&record).is_empty(), "no ext");
    record["ext"] = json!("vm_instance_view");
    assert!(events(&record).is_empty(), "ext not an object");
}

#[test]
fn other_records_are_skipped() {
    for record in [
        r#"{"raw": {}, "ext": {}, "com": {}}"#,
        r#"{"raw": {"data": 1}, "ext": {"record_type": "vm_instance_view"}}"#,
        r#"{"com": null}"#,
        r#"{"com": "azure"}"#,
        r#"{"com": {"cloud_type": "mock", "record_type": "mock"}, "ext": {"record_type": "foo"}}"#,
    ] {
        assert!(
            eval_text::<AzVmOsDiskEncryptionEvent>(record).is_empty(),
            "{record}"
        );
    }
}

#[test]
fn text_that_is_not_a_record_is_an_error() {
    assert_unreadable(
        AzVmOsDiskEncryptionEvent::new(Default::default()).unwrap(),
        "azvmosdiskencryptionevent",
        &["not json", "{\"com\": {", "7"],
    );
}

#[test]
fn the_event_keeps_ext_and_never_copies_host_stamps() {
    let mut record = vm_record();
    record["com"]["audit_key"] = json!("a");
    record["com"]["origin_worker"] = json!("a_azvm");
    let got = events(&record);
    assert_eq!(got[0]["ext"]["subscription_id"], "{subscription-id}");
    assert_eq!(got[0]["ext"]["record_type"], "vm_os_disk_encryption_event");
    let mut keys: Vec<&String> = got[0]["com"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "check",
            "cloud_type",
            "description",
            "finding_id",
            "recommendation",
            "record_type",
            "reference",
            "severity"
        ]
    );
}

#[test]
fn the_reference_falls_back_to_the_vm_id() {
    let mut record = assert_reference_falls_back_to_the_vm_id::<AzVmOsDiskEncryptionEvent>();

    record["raw"].as_object_mut().unwrap().remove("id");
    let got = events(&record);
    assert_eq!(got[0]["com"]["reference"], Value::Null);
    assert_eq!(
        got[0]["com"]["description"],
        "Azure virtual machine (unknown) has unencrypted OS disk myOsDisk"
    );
}

#[test]
fn a_vm_without_an_os_disk_name_still_raises_its_event() {
    let mut record = vm_record();
    record["raw"]["properties"]["storageProfile"]
        .as_object_mut()
        .unwrap()
        .remove("osDisk");
    let got = events(&record);
    assert_eq!(got[0]["ext"]["disk_name"], Value::Null);
    assert_eq!(
        got[0]["com"]["recommendation"],
        format!("Check Azure virtual machine {VM_ID} and encrypt its OS disk (unnamed)")
    );
}

#[test]
fn a_malformed_vm_is_skipped_with_a_warning() {
    let mut record = vm_record();
    record["raw"]["properties"]["storageProfile"] = json!("not an object");
    let (raised, logged) = capture_logs(|| events(&record));
    assert!(raised.is_empty());
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0].0, log::Level::Warn);
    assert!(
        logged[0].1.starts_with(&format!(
            "Skipped a malformed vm_instance_view record (reference {VM_ID}), error: invalid type: string"
        )),
        "{}",
        logged[0].1
    );
}

#[test]
fn takes_no_params_and_passes_the_event_compliance_check() {
    assert_vm_check::<AzVmOsDiskEncryptionEvent>(
        "vm_os_disk_encryption_event",
        &with_flag(Some(json!(false))),
        &with_flag(Some(json!(true))),
    );
}
