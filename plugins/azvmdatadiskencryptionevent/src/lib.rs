//! The `azvmdatadiskencryptionevent` plugin library: see [`AzVmDataDiskEncryptionEvent`].

mod azvmdatadiskencryptionevent;

pub use azvmdatadiskencryptionevent::{
    AzVmDataDiskEncryptionEvent, AzVmDataDiskEncryptionEventParams,
};

cloudmarker_plugin_api::export_plugin!(event: AzVmDataDiskEncryptionEvent);
