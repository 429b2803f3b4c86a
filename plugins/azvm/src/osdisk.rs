//! An event plugin that flags Azure virtual machines whose OS disk is not
//! encrypted, from the `vm_instance_view` records of the `azvm` cloud plugin.

use crate::vmrecord::{is_true, VmRecord, AZURE, UNKNOWN, UNNAMED, VM_INSTANCE_VIEW};
use cloudmarker_plugin_api::sdk::check::{Check, Finding, Findings, Select, Severity};
use cloudmarker_plugin_api::sdk::{self, PluginType};
use serde::{Deserialize, Serialize};

/// The `record_type` of the events this plugin raises.
const EVENT_TYPE: &str = "vm_os_disk_encryption_event";

/// Parameters of [`AzVmOsDiskEncryptionEvent`]: there are none.
#[derive(
    Debug, Clone, Default, Deserialize, Serialize, cloudmarker_plugin_api::sdk::schema::JsonSchema,
)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct AzVmOsDiskEncryptionEventParams {}

/// Raises one event for each Azure `vm_instance_view` record whose
/// `ext.os_disk_encrypted` is not `true`.
#[derive(Debug)]
pub struct AzVmOsDiskEncryptionEvent;

impl PluginType for AzVmOsDiskEncryptionEvent {
    type Params = AzVmOsDiskEncryptionEventParams;

    const NAME: &'static str = "azvmosdiskencryptionevent";
    const CLASS: Option<&'static str> = Some("AzVMOSDiskEncryptionEvent");
    const DESCRIPTION: &'static str =
        "Flags Azure virtual machines whose OS disk is not encrypted.";

    fn new(_: AzVmOsDiskEncryptionEventParams) -> sdk::Result<Self> {
        Ok(Self)
    }
}

impl Check for AzVmOsDiskEncryptionEvent {
    const SELECT: Select = Select::ext(&[VM_INSTANCE_VIEW]).in_cloud(AZURE);
    const SEVERITY: Severity = Severity::Medium;
    type Record<'a> = VmRecord<'a>;

    fn check(&mut self, vm_record: VmRecord<'_>, findings: &mut Findings) -> sdk::Result<()> {
        // The azvm plugin has compared the OS disk with the instance view;
        // its verdict is what this check reports on.
        if is_true(vm_record.ext.os_disk_encrypted) {
            return Ok(());
        }
        let Some(vm) = vm_record.vm_or_warn() else {
            return Ok(());
        };
        let reference = vm_record.reference(&vm);
        let disk_name = vm.os_disk_name();
        let (vm_name, disk) = (reference.unwrap_or(UNKNOWN), disk_name.unwrap_or(UNNAMED));
        findings.push(
            Finding::new(
                EVENT_TYPE,
                format!("Azure virtual machine {vm_name} has unencrypted OS disk {disk}"),
                format!("Check Azure virtual machine {vm_name} and encrypt its OS disk {disk}"),
            )
            .cloud_type(Some(AZURE))
            .reference(reference)
            .ext_from(Some(vm_record.ext_text))
            .ext("disk_name", disk_name),
        );
        Ok(())
    }
}

#[cfg(test)]
#[path = "osdisk_tests.rs"]
mod tests;
