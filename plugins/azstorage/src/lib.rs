//! Azure storage accounts, as one plugin library: the `azstorageaccount`
//! cloud plugin, which reads every storage account of every subscription as
//! a `storage_account_properties` record, and the `azstorageservices` cloud
//! plugin, which reads each account's blob and file services. Their checks
//! are bundled rules (rules/azure/storage.yaml).

mod account;
mod azstorageaccount;
mod services;

pub use account::{Account, STORAGE_ACCOUNT_PROPERTIES};
pub use azstorageaccount::AzStorageAccount;
pub use services::{AzStorageServices, STORAGE_BLOB_SERVICE, STORAGE_FILE_SERVICE};

cloudmarker_plugin_api::export_plugins!(
    cloud: AzStorageAccount,
    cloud: AzStorageServices,
);
