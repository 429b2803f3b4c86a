//! Azure Key Vault, as one plugin library: the `azkv` cloud plugin, which
//! reads every vault of every subscription (management plane) with its
//! diagnostic settings, and each vault's keys and secrets (its own data
//! plane). The Key Vault checks are bundled rules (rules/azure/keyvault.yaml).

mod azkv;

pub use azkv::AzKv;

cloudmarker_plugin_api::export_plugins!(
    cloud: AzKv,
);
