//! Azure Key Vault, as one plugin library: the `azkv` cloud plugin, which
//! reads every vault of every subscription (management plane) and each
//! vault's keys and secrets (its own data plane), and upstream Cloudmarker's
//! three Key Vault checks.

mod azkv;

pub use azkv::AzKv;

cloudmarker_plugin_api::export_plugins!(
    cloud: AzKv,
);
