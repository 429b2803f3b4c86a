//! The Azure VM plugin library: the `azvm` cloud plugin ([`AzVm`]) and the
//! checks that read its `vm_instance_view` records: OS disk encryption
//! ([`AzVmOsDiskEncryptionEvent`]), data disk encryption
//! ([`AzVmDataDiskEncryptionEvent`]) and extensions
//! ([`AzVmExtensionEvent`]). Each keeps the plugin name it had as a library
//! of its own, so configs name them as before.

mod azvm;
mod datadisk;
mod extension;
mod osdisk;
#[cfg(test)]
mod vm_fixtures;
mod vmrecord;

pub use azvm::{vm_ext, AzVm};
pub use datadisk::{AzVmDataDiskEncryptionEvent, AzVmDataDiskEncryptionEventParams};
pub use extension::AzVmExtensionEvent;
pub use osdisk::{AzVmOsDiskEncryptionEvent, AzVmOsDiskEncryptionEventParams};

cloudmarker_plugin_api::export_plugins!(
    cloud: AzVm,
    event: AzVmOsDiskEncryptionEvent,
    event: AzVmDataDiskEncryptionEvent,
    event: AzVmExtensionEvent,
);
