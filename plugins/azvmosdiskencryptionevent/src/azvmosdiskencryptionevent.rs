//! An event plugin that flags Azure virtual machines whose OS disk is not
//! encrypted, from the `vm_instance_view` records of the `azvm` cloud plugin.

// Also compiled into azvmdatadiskencryptionevent, which uses other parts.
#[allow(dead_code)]
mod view;

use cloudmarker_plugin_api::sdk::{self, Batch, Event, PluginType};
use cloudmarker_plugin_api::PluginError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use view::{is_true, VmRecord, AZURE};

/// The `record_type` of the events this plugin raises.
const EVENT_TYPE: &str = "vm_os_disk_encryption_event";
/// Stands in for a name the record does not give.
const UNNAMED: &str = "(unnamed)";
/// Stands in for a VM id the record does not give.
const UNKNOWN: &str = "(unknown)";

/// Parameters of [`AzVmOsDiskEncryptionEvent`]: there are none.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AzVmOsDiskEncryptionEventParams {}

/// Raises one event for each Azure `vm_instance_view` record whose
/// `ext.os_disk_encrypted` is not `true`.
#[derive(Debug)]
pub struct AzVmOsDiskEncryptionEvent;

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

impl PluginType for AzVmOsDiskEncryptionEvent {
    type Params = AzVmOsDiskEncryptionEventParams;
    const NAME: &'static str = "azvmosdiskencryptionevent";
    const DESCRIPTION: &'static str =
        "Flags Azure virtual machines whose OS disk is not encrypted.";

    fn new(_: AzVmOsDiskEncryptionEventParams) -> sdk::Result<Self> {
        Ok(Self)
    }
}

impl Event for AzVmOsDiskEncryptionEvent {
    fn eval(&mut self, record: &str, out: &mut Batch) -> sdk::Result<()> {
        let vm_record = VmRecord::read(record).map_err(|e| {
            PluginError::failed(format!("azvmosdiskencryptionevent: unreadable record: {e}"))
        })?;
        let Some(vm_record) = vm_record else {
            return Ok(());
        };
        // The azvm plugin has compared the OS disk with the instance view;
        // its verdict is what this check reports on.
        if is_true(vm_record.ext.os_disk_encrypted) {
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
        let disk_name = vm.os_disk_name();
        let (vm_name, disk) = (reference.unwrap_or(UNKNOWN), disk_name.unwrap_or(UNNAMED));
        out.push(&EventRecord {
            ext: vm_record.event_ext(&[
                ("record_type", Value::from(EVENT_TYPE)),
                ("disk_name", disk_name.map_or(Value::Null, Value::from)),
            ]),
            com: EventCom {
                cloud_type: AZURE,
                record_type: EVENT_TYPE,
                reference,
                description: format!(
                    "Azure virtual machine {vm_name} has unencrypted OS disk {disk}"
                ),
                recommendation: format!(
                    "Check Azure virtual machine {vm_name} and encrypt its OS disk {disk}"
                ),
            },
        })
    }
}

#[cfg(test)]
mod tests;
