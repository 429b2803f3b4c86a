//! The `azvmosdiskencryptionevent` plugin library: see [`AzVmOsDiskEncryptionEvent`].

mod azvmosdiskencryptionevent;

pub use azvmosdiskencryptionevent::{AzVmOsDiskEncryptionEvent, AzVmOsDiskEncryptionEventParams};

cloudmarker_plugin_api::export_plugin!(event: AzVmOsDiskEncryptionEvent);
