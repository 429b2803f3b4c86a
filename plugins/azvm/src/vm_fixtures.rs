//! What the tests of the VM event plugins share: the derived
//! `vm_instance_view` record and running a plugin on it.

use cloudmarker_plugin_api::sdk::{Batch, Event};
use serde_json::{json, Value};

/// A `vm_instance_view` record derived from two published Azure REST API
/// examples (VirtualMachine_Get and VirtualMachine_Get_InstanceView,
/// api-version 2024-07-01); see `tests/data/README.md`. OS disk `myOsDisk`,
/// instance view disks `myOsDisk` and `myDataDisk0` without encryption
/// settings, both encryption flags `false`.
const DERIVED: &str = include_str!("../../../tests/data/azure/vm_instance_view.derived.json");

pub(crate) const VM_ID: &str = "/subscriptions/{subscription-id}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachines/myVM";

pub(crate) fn vm_record() -> Value {
    let mut doc: Value = serde_json::from_str(DERIVED).unwrap();
    doc["record"].take()
}

/// The events a fresh plugin `P` (default params) raises for the record
/// text `record`.
pub(crate) fn eval_text<P: Event>(record: &str) -> Vec<Value> {
    let mut plugin = P::new(Default::default()).unwrap();
    let mut out = Batch::with_capacity(usize::MAX);
    plugin.eval(record, &mut out).unwrap();
    out.records()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect()
}

/// Asserts `plugin` rejects each of `bad` as an unreadable record, naming
/// itself (`name`).
pub(crate) fn assert_unreadable(mut plugin: impl Event, name: &str, bad: &[&str]) {
    let mut out = Batch::with_capacity(usize::MAX);
    for bad in bad {
        let err = plugin.eval(bad, &mut out).unwrap_err();
        assert!(
            err.message.contains(&format!("{name}: unreadable record")),
            "{bad}: {err}"
        );
    }
}

/// The derived record as a GCP record and as a disk record: records the
/// VM events pass over.
pub(crate) fn other_records() -> [Value; 2] {
    let mut gcp = vm_record();
    gcp["com"]["cloud_type"] = json!("gcp");
    let mut disk = vm_record();
    disk["ext"]["record_type"] = json!("disk");
    [gcp, disk]
}

/// Asserts the plugin takes no params: its defaults are `{}` and any key
/// is refused.
pub(crate) fn assert_no_params<P: Default + serde::Serialize + serde::de::DeserializeOwned>() {
    assert_eq!(serde_json::to_value(P::default()).unwrap(), json!({}));
    assert!(serde_json::from_str::<P>(r#"{"n": 1}"#).is_err());
}

/// Asserts that the events of plugin `P` name the VM by `raw.id` when the
/// record has no `com.reference`, and returns the record (without the
/// reference) for more checks.
pub(crate) fn assert_reference_falls_back_to_the_vm_id<P: Event>() -> Value {
    let mut record = vm_record();
    record["com"].as_object_mut().unwrap().remove("reference");
    record["raw"]["id"] = json!("vm-7");
    let got = eval_text::<P>(&record.to_string());
    assert_eq!(got[0]["com"]["reference"], "vm-7");
    record
}
