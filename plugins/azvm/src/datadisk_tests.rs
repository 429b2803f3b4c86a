use super::*;
use crate::vm_fixtures::{
    assert_reference_falls_back_to_the_vm_id, assert_unreadable, assert_vm_check, eval_text,
    vm_record, with_ext, VM_ID,
};
use cloudmarker_plugin_api::sdk::testing::capture_logs;
use serde_json::{json, Value};

/// The derived record with these instance view disks.
fn with_disks(disks: Value) -> Value {
    let mut record = vm_record();
    record["raw"]["properties"]["instanceView"]["disks"] = disks;
    record
}

fn events(record: &Value) -> Vec<Value> {
    eval_text::<AzVmDataDiskEncryptionEvent>(&record.to_string())
}

/// The disk names of the events `record` raises.
fn flagged(record: &Value) -> Vec<Value> {
    events(record)
        .iter()
        .map(|e| e["ext"]["disk_name"].clone())
        .collect()
}

#[test]
fn an_unencrypted_data_disk_raises_one_event() {
    assert_eq!(
        events(&vm_record()),
        [json!({
            "ext": {
                "cloud_type": "azure",
                "record_type": "vm_data_disk_encryption_event",
                "subscription_id": "{subscription-id}",
                "power_state": "running",
                "os_disk_encrypted": false,
                "all_data_disks_encrypted": false,
                "disk_name": "myDataDisk0"
            },
            "com": {
                "cloud_type": "azure",
                "record_type": "vm_data_disk_encryption_event",
                "reference": VM_ID,
                "description": format!("Azure virtual machine {VM_ID} has unencrypted data disk myDataDisk0"),
                "recommendation": format!("Check Azure virtual machine {VM_ID} and encrypt its data disk myDataDisk0"),
                "finding_id": cloudmarker_plugin_api::sdk::check::finding_id("vm_data_disk_encryption_event", Some(VM_ID), &Default::default(), &json!({"disk_name": "myDataDisk0"}).as_object().unwrap().clone()),
                "severity": "medium",
                "check": "azvmdatadiskencryptionevent"
            }
        })]
    );
}

#[test]
fn only_a_true_flag_vouches_for_the_data_disks() {
    let with_flag = |flag: Option<Value>| with_ext("all_data_disks_encrypted", flag);
    assert!(events(&with_flag(Some(json!(true)))).is_empty());
    for flag in [
        Some(json!(false)),
        None,
        Some(json!(null)),
        Some(json!("true")),
    ] {
        assert_eq!(
            flagged(&with_flag(flag.clone())),
            ["myDataDisk0"],
            "{flag:?}"
        );
    }
}

#[test]
fn a_disk_is_encrypted_when_some_setting_is_enabled() {
    let disk = |settings: Option<Value>| {
        let mut disk = json!({"name": "d", "statuses": []});
        if let Some(settings) = settings {
            disk["encryptionSettings"] = settings;
        }
        with_disks(json!([{"name": "myOsDisk"}, disk]))
    };
    for encrypted in [
        json!([{"enabled": true}]),
        json!([{"enabled": false}, {"enabled": true, "diskEncryptionKey": {"secretUrl": "s"}}]),
    ] {
        assert!(
            flagged(&disk(Some(encrypted.clone()))).is_empty(),
            "{encrypted}"
        );
    }
    for unencrypted in [
        None,
        Some(json!(null)),
        Some(json!([])),
        Some(json!([{"enabled": false}])),
        Some(json!([{"enabled": false}, {"enabled": false}])),
        Some(json!([{}])),
        Some(json!([null])),
        Some(json!([{"enabled": null}])),
    ] {
        assert_eq!(
            flagged(&disk(unencrypted.clone())),
            ["d"],
            "{unencrypted:?}"
        );
    }
}

#[test]
fn the_os_disk_is_skipped_by_name() {
    let unencrypted_os_disk = with_disks(json!([{"name": "myOsDisk"}]));
    assert!(events(&unencrypted_os_disk).is_empty());

    let mut record = vm_record();
    record["raw"]["properties"]["storageProfile"]["osDisk"]["name"] = json!("myDataDisk0");
    assert_eq!(
        flagged(&record),
        ["myOsDisk"],
        "whichever disk the storage profile names is the OS disk"
    );
}

#[test]
fn several_data_disks_raise_one_event_each_in_order() {
    let record = with_disks(json!([
        {"name": "myOsDisk"},
        {"name": "myDataDisk0"},
        {"name": "myDataDisk1", "encryptionSettings": [{"enabled": true}]},
        {"name": "myDataDisk2", "encryptionSettings": [{"enabled": false}]},
        {"statuses": []}
    ]));
    let got = events(&record);
    assert_eq!(
        got.iter()
            .map(|e| e["ext"]["disk_name"].clone())
            .collect::<Vec<_>>(),
        [json!("myDataDisk0"), json!("myDataDisk2"), Value::Null]
    );
    assert_eq!(
        got[1]["com"]["description"],
        format!("Azure virtual machine {VM_ID} has unencrypted data disk myDataDisk2")
    );
    assert_eq!(
        got[2]["com"]["recommendation"],
        format!("Check Azure virtual machine {VM_ID} and encrypt its data disk (unnamed)")
    );
    for event in &got {
        assert_eq!(event["ext"]["record_type"], "vm_data_disk_encryption_event");
        assert_eq!(event["ext"]["subscription_id"], "{subscription-id}");
    }
}

#[test]
fn a_vm_without_instance_view_disks_raises_nothing() {
    let mut record = vm_record();
    record["raw"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("instanceView");
    assert!(events(&record).is_empty());
    assert!(events(&with_disks(json!(null))).is_empty());
    assert!(events(&with_disks(json!([]))).is_empty());
    let mut record = vm_record();
    record.as_object_mut().unwrap().remove("raw");
    assert!(events(&record).is_empty());
}

#[test]
fn only_azure_vm_instance_view_records_count() {
    for (bucket, key, value) in [
        ("com", "cloud_type", json!("gcp")),
        ("com", "cloud_type", json!(null)),
        ("ext", "record_type", json!("virtual_machine")),
        ("ext", "record_type", json!(null)),
    ] {
        let mut record = vm_record();
        record[bucket][key] = value.clone();
        assert!(events(&record).is_empty(), "{bucket}.{key} = {value}");
    }
    for record in [
        r#"{"raw": {}, "ext": {}, "com": {}}"#,
        r#"{"raw": {"data": 1}, "ext": {"record_type": "vm_instance_view"}}"#,
        r#"{"com": "azure"}"#,
        r#"{"com": {"cloud_type": "azure", "reference": 5}, "ext": "vm_instance_view"}"#,
    ] {
        assert!(
            eval_text::<AzVmDataDiskEncryptionEvent>(record).is_empty(),
            "{record}"
        );
    }
}

#[test]
fn the_reference_falls_back_to_the_vm_id() {
    assert_reference_falls_back_to_the_vm_id::<AzVmDataDiskEncryptionEvent>();
}

#[test]
fn text_that_is_not_a_record_is_an_error() {
    assert_unreadable(
        AzVmDataDiskEncryptionEvent::new(Default::default()).unwrap(),
        "azvmdatadiskencryptionevent",
        &["{\"raw\": [", "\"text\""],
    );
}

/// The warnings evaluating `record` logs; it must raise no event.
fn warnings(record: &Value) -> Vec<String> {
    let (raised, logged) = capture_logs(|| events(record));
    assert!(raised.is_empty());
    logged
        .into_iter()
        .filter(|(level, _)| *level == log::Level::Warn)
        .map(|(_, line)| line)
        .collect()
}

#[test]
fn malformed_vms_are_skipped_with_a_warning() {
    let malformed = warnings(&with_disks(json!("not a list")));
    assert_eq!(malformed.len(), 1, "{malformed:?}");
    assert!(
        malformed[0].starts_with(&format!(
            "Skipped a malformed vm_instance_view record (reference {VM_ID}), error: invalid type: string"
        )),
        "{}",
        malformed[0]
    );
    let bad_setting = warnings(&with_disks(
        json!([{"name": "d", "encryptionSettings": [{"enabled": "yes"}]}]),
    ));
    assert_eq!(bad_setting.len(), 1, "{bad_setting:?}");

    let mut no_os_disk = vm_record();
    no_os_disk["raw"]["properties"]["storageProfile"]
        .as_object_mut()
        .unwrap()
        .remove("osDisk");
    assert_eq!(
        warnings(&no_os_disk),
        [format!(
            "Skipped the data disks of Azure virtual machine {VM_ID}: its record has no \
             raw.properties.storageProfile.osDisk.name to tell the OS disk from them."
        )]
    );
}

#[test]
fn takes_no_params_and_passes_the_event_compliance_check() {
    let mut compliant = vm_record();
    compliant["ext"]["all_data_disks_encrypted"] = json!(true);
    assert_vm_check::<AzVmDataDiskEncryptionEvent>(
        "vm_data_disk_encryption_event",
        &vm_record(),
        &compliant,
    );
}

#[test]
fn records_saved_by_the_original_are_read_too() {
    // upstream Cloudmarker's azvm saved the Python SDK's shape: snake_case,
    // flattened (no `properties`), the instance view at the top.
    let saved = json!({
        "raw": {
            "id": VM_ID,
            "name": "myVM",
            "storage_profile": {"os_disk": {"name": "myOsDisk"}, "data_disks": [{"name": "myDataDisk0"}, {"name": "myDataDisk1"}]},
            "instance_view": {"disks": [
                {"name": "myOsDisk", "encryption_settings": [{"enabled": true}]},
                {"name": "myDataDisk0", "encryption_settings": [{"enabled": true}]},
                {"name": "myDataDisk1"}
            ]}
        },
        "ext": {"cloud_type": "azure", "record_type": "vm_instance_view", "os_disk_encrypted": true, "all_data_disks_encrypted": false},
        "com": {"cloud_type": "azure", "reference": VM_ID}
    });
    assert_eq!(flagged(&saved), [json!("myDataDisk1")]);
}
