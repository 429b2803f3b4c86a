//! Azure Key Vault, as one plugin library: the `azkv` cloud plugin, which
//! reads every vault of every subscription (management plane) and each
//! vault's keys and secrets (its own data plane), and upstream Cloudmarker's
//! three Key Vault checks.

mod azkv;
mod checks;

pub use azkv::AzKv;
pub use checks::{KeyNoExpiry, NonRecoverable, SecretNoExpiry};

cloudmarker_plugin_api::export_plugins!(
    cloud: AzKv,
    event: KeyNoExpiry,
    event: SecretNoExpiry,
    event: NonRecoverable,
);
