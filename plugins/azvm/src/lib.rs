//! The `azvm` plugin library: see [`AzVm`].

mod azvm;

pub use azvm::{vm_ext, AzVm};

cloudmarker_plugin_api::export_plugin!(cloud: AzVm);
