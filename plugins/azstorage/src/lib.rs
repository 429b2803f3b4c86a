//! Azure storage accounts, as one plugin library: the `azstorageaccount`
//! cloud plugin, which reads every storage account of every subscription as
//! a `storage_account_properties` record, and the checks of those records
//! (upstream Cloudmarker's three, and two more).

mod account;
mod azstorageaccount;

pub use account::{Account, STORAGE_ACCOUNT_PROPERTIES};
pub use azstorageaccount::AzStorageAccount;

cloudmarker_plugin_api::export_plugins!(
    cloud: AzStorageAccount,
);
