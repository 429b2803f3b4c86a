//! An event plugin that flags unencrypted data disks of Azure virtual
//! machines, from the `vm_instance_view` records of the `azvm` cloud plugin.

// The record reading shared with azvmosdiskencryptionevent: one source file,
// compiled into both plugins (a plugin crate cannot link another's library).
#[allow(dead_code)]
#[path = "../../azvmosdiskencryptionevent/src/azvmosdiskencryptionevent/view.rs"]
mod view;

use cloudmarker_plugin_api::sdk::{self, Batch, Event, PluginType};
use cloudmarker_plugin_api::PluginError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use view::{is_true, VmRecord, AZURE};

/// The `record_type` of the events this plugin raises.
const EVENT_TYPE: &str = "vm_data_disk_encryption_event";
/// Stands in for a name the record does not give.
const UNNAMED: &str = "(unnamed)";
/// Stands in for a VM id the record does not give.
const UNKNOWN: &str = "(unknown)";

/// Parameters of [`AzVmDataDiskEncryptionEvent`]: there are none.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AzVmDataDiskEncryptionEventParams {}

/// Raises one event for each unencrypted data disk in the instance view of
/// an Azure `vm_instance_view` record whose `ext.all_data_disks_encrypted`
/// is not `true`.
#[derive(Debug)]
pub struct AzVmDataDiskEncryptionEvent;

/// An event as this plugin writes it.
#[derive(Serialize)]
struct EventRecord<'a> {
    ext: Map<String, Value>,
    com: EventCom<'a>,
}

#[derive(Serialize)]
struct EventCom<'a> {
    cloud_type: &'static str,
    record_type: &'static str,
    reference: Option<&'a str>,
    description: String,
    recommendation: String,
}

impl PluginType for AzVmDataDiskEncryptionEvent {
    type Params = AzVmDataDiskEncryptionEventParams;
    const NAME: &'static str = "azvmdatadiskencryptionevent";
    const DESCRIPTION: &'static str = "Flags unencrypted data disks of Azure virtual machines.";

    fn new(_: AzVmDataDiskEncryptionEventParams) -> sdk::Result<Self> {
        Ok(Self)
    }
}

impl Event for AzVmDataDiskEncryptionEvent {
    fn eval(&mut self, record: &str, out: &mut Batch) -> sdk::Result<()> {
        let vm_record = VmRecord::read(record).map_err(|e| {
            PluginError::failed(format!(
                "azvmdatadiskencryptionevent: unreadable record: {e}"
            ))
        })?;
        let Some(vm_record) = vm_record else {
            return Ok(());
        };
        // Checked before `raw` is parsed: most VMs pass, and `raw` is large.
        if is_true(vm_record.ext.all_data_disks_encrypted) {
            return Ok(());
        }
        let vm = match vm_record.vm() {
            Ok(vm) => vm,
            Err(e) => {
                let reference = vm_record.reference.as_deref().unwrap_or(UNKNOWN);
                log::warn!(
                    "Skipped a malformed vm_instance_view record (reference {reference}), error: {e}."
                );
                return Ok(());
            }
        };
        let reference = vm_record.reference(&vm);
        let vm_name = reference.unwrap_or(UNKNOWN);
        // The instance view lists the OS disk among the others; only its
        // name tells them apart.
        let Some(os_disk) = vm.os_disk_name() else {
            log::warn!(
                "Skipped the data disks of Azure virtual machine {vm_name}: its record has no \
                 raw.properties.storageProfile.osDisk.name to tell the OS disk from them."
            );
            return Ok(());
        };
        let Some(disks) = vm.disks() else {
            log::debug!("Azure virtual machine {vm_name} has no instance view disks to check.");
            return Ok(());
        };
        let unencrypted = disks
            .iter()
            .filter(|disk| disk.name() != Some(os_disk) && !disk.is_encrypted());
        let mut ext = None;
        for disk in unencrypted {
            // Parsed once per record, only when it has an event to raise.
            let ext = ext.get_or_insert_with(|| {
                vm_record.event_ext(&[("record_type", Value::from(EVENT_TYPE))])
            });
            let name = disk.name().unwrap_or(UNNAMED);
            let mut event_ext = ext.clone();
            event_ext.insert(
                "disk_name".into(),
                disk.name().map_or(Value::Null, Value::from),
            );
            out.push(&EventRecord {
                ext: event_ext,
                com: EventCom {
                    cloud_type: AZURE,
                    record_type: EVENT_TYPE,
                    reference,
                    description: format!(
                        "Azure virtual machine {vm_name} has unencrypted data disk {name}"
                    ),
                    recommendation: format!(
                        "Check Azure virtual machine {vm_name} and encrypt its data disk {name}"
                    ),
                },
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
