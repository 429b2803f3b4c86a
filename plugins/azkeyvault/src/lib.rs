//! Azure Key Vault, as one plugin library: the `azkv` cloud plugin, which
//! reads every vault of every subscription (management plane) with its
//! diagnostic settings, and each vault's own data plane (keys, secrets, key
//! rotation policies, certificates and their policies). The Key Vault
//! checks are bundled rules (rules/azure/keyvault.yaml).

mod azkv;
mod dataplane;

pub use azkv::AzKv;
pub use dataplane::{KEY_VAULT_CERTIFICATE, KEY_VAULT_KEY_ROTATION_POLICY};

cloudmarker_plugin_api::export_plugins!(
    cloud: AzKv,
);
