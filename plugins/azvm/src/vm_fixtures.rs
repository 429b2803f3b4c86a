//! What the tests of the VM event plugins share: the derived
//! `vm_instance_view` record and running a plugin on it.

use cloudmarker_plugin_api::sdk::check::{self, Check};
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

/// The derived record with `ext.<key>` set to `flag` (removed when
/// `None`).
pub(crate) fn with_ext(key: &str, flag: Option<Value>) -> Value {
    let mut record = vm_record();
    let ext = record["ext"].as_object_mut().unwrap();
    match flag {
        Some(flag) => ext.insert(key.into(), flag),
        None => ext.remove(key),
    };
    record
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

/// Asserts the VM check `P` takes no params (its defaults are `{}`, any
/// key is refused) and passes the SDK's compliance check for its
/// `event_type`: an event for `misconfigured`, none for `compliant` and
/// none for the [`other_records`].
pub(crate) fn assert_vm_check<P: Check>(
    event_type: &str,
    misconfigured: &Value,
    compliant: &Value,
) {
    assert_eq!(
        serde_json::to_value(P::Params::default()).unwrap(),
        json!({})
    );
    assert!(serde_json::from_str::<P::Params>(r#"{"n": 1}"#).is_err());
    let mut plugin = P::new(Default::default()).unwrap();
    check::assert_check(
        &mut plugin,
        event_type,
        misconfigured,
        compliant,
        &other_records(),
    );
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
