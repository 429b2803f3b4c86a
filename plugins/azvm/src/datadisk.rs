//! An event plugin that flags unencrypted data disks of Azure virtual
//! machines, from the `vm_instance_view` records of the `azvm` cloud plugin.

use crate::vmrecord::{is_true, VmRecord, AZURE, UNKNOWN, UNNAMED, VM_INSTANCE_VIEW};
use cloudmarker_plugin_api::sdk::check::{Check, Finding, Findings, Select, Severity};
use cloudmarker_plugin_api::sdk::{self, PluginType};
use serde::{Deserialize, Serialize};

/// The `record_type` of the events this plugin raises.
const EVENT_TYPE: &str = "vm_data_disk_encryption_event";

/// Parameters of [`AzVmDataDiskEncryptionEvent`]: there are none.
#[derive(
    Debug, Clone, Default, Deserialize, Serialize, cloudmarker_plugin_api::sdk::schema::JsonSchema,
)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct AzVmDataDiskEncryptionEventParams {}

/// Raises one event for each unencrypted data disk in the instance view of
/// an Azure `vm_instance_view` record whose `ext.all_data_disks_encrypted`
/// is not `true`.
#[derive(Debug)]
pub struct AzVmDataDiskEncryptionEvent;

impl PluginType for AzVmDataDiskEncryptionEvent {
    type Params = AzVmDataDiskEncryptionEventParams;

    const NAME: &'static str = "azvmdatadiskencryptionevent";
    const CLASS: Option<&'static str> = Some("AzVMDataDiskEncryptionEvent");
    const DESCRIPTION: &'static str = "Flags unencrypted data disks of Azure virtual machines.";

    fn new(_: AzVmDataDiskEncryptionEventParams) -> sdk::Result<Self> {
        Ok(Self)
    }
}

impl Check for AzVmDataDiskEncryptionEvent {
    const SELECT: Select = Select::ext(&[VM_INSTANCE_VIEW]).in_cloud(AZURE);
    const SEVERITY: Severity = Severity::Medium;
    type Record<'a> = VmRecord<'a>;

    fn check(&mut self, vm_record: VmRecord<'_>, findings: &mut Findings) -> sdk::Result<()> {
        // Checked before `raw` is parsed: most VMs pass, and `raw` is large.
        if is_true(vm_record.ext.all_data_disks_encrypted) {
            return Ok(());
        }
        let Some(vm) = vm_record.vm_or_warn() else {
            return Ok(());
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
        for disk in unencrypted {
            let name = disk.name().unwrap_or(UNNAMED);
            findings.push(
                Finding::new(
                    EVENT_TYPE,
                    format!("Azure virtual machine {vm_name} has unencrypted data disk {name}"),
                    format!(
                        "Check Azure virtual machine {vm_name} and encrypt its data disk {name}"
                    ),
                )
                .cloud_type(Some(AZURE))
                .reference(reference)
                .ext_from(Some(vm_record.ext_text))
                .ext("disk_name", disk.name())
                .distinguished_by("disk_name", disk.name()),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "datadisk_tests.rs"]
mod tests;
