//! The `azstorageaccount` cloud plugin.

use crate::account::{Account, STORAGE_ACCOUNT_PROPERTIES};
use cloudmarker_plugin_api::record::Record;
use cloudmarker_plugin_api::sdk::{self, Batch, Cloud, PluginType};
use cloudmarker_plugin_api::PluginError;
use cloudrest::azure::{self, AzureParams, Listed, ResourceType, Session};
use cloudrest::LazyStream;
use serde_json::json;
use std::sync::Arc;

/// Storage accounts, listed with all their properties.
const STORAGE_ACCOUNTS: ResourceType = ResourceType {
    record_type: STORAGE_ACCOUNT_PROPERTIES,
    path: "providers/Microsoft.Storage/storageAccounts",
    api_version: "2024-01-01",
};

/// Records in flight between the readers and the host.
const IN_FLIGHT: usize = 1024;

/// Reads every storage account of every subscription (upstream's
/// `AzStorageAccount`): one `storage_account_properties` record each, then
/// one `collection_summary` per subscription.
pub struct AzStorageAccount {
    session: Arc<Session>,
    stream: LazyStream,
}

impl PluginType for AzStorageAccount {
    type Params = AzureParams;
    const NAME: &'static str = "azstorageaccount";
    const DESCRIPTION: &'static str =
        "Reads the storage accounts of every Azure subscription with their security properties.";

    fn params_schema() -> Option<serde_json::Value> {
        Some(sdk::schema::of::<AzureParams>())
    }

    fn new(params: AzureParams) -> sdk::Result<Self> {
        let session = Session::new(params)
            .map_err(|e| PluginError::config(format!("{}: {e}", Self::NAME)))?;
        Ok(Self {
            session: Arc::new(session),
            stream: LazyStream::default(),
        })
    }

    /// Signs in and lists the subscriptions.
    fn health_check(&mut self) -> sdk::Result<String> {
        self.session
            .health()
            .map_err(|e| PluginError::unavailable(format!("{}: {e}", Self::NAME)))
    }
}

impl Cloud for AzStorageAccount {
    fn read(&mut self, out: &mut Batch) -> sdk::Result<()> {
        let session = Arc::clone(&self.session);
        self.stream
            .read(out, "azstorageaccount-reader", IN_FLIGHT, move |emit| {
                azure::collect(
                    &session,
                    Self::NAME,
                    &[STORAGE_ACCOUNTS],
                    &emit,
                    |listed, emit, _| emit.record(account_record(&listed)),
                )
            })
    }

    fn done(&mut self) -> sdk::Result<()> {
        self.stream.close();
        Ok(())
    }
}

/// The record of one listed storage account: the account as `raw`,
/// unchanged, and its security properties in `ext`.
fn account_record(listed: &Listed<'_>) -> String {
    let mut ext = listed.subscription.clone();
    ext.insert("cloud_type".into(), "azure".into());
    ext.insert("record_type".into(), STORAGE_ACCOUNT_PROPERTIES.into());
    if let Ok(serde_json::Value::Object(fields)) =
        serde_json::to_value(Account::of_listed(listed.item))
    {
        ext.extend(fields);
    }
    let com = json!({
        "cloud_type": "azure",
        "record_type": STORAGE_ACCOUNT_PROPERTIES,
        "reference": azure::item_id(listed.item),
    });
    Record {
        raw: listed.item,
        ext: &ext,
        com: &com,
    }
    .to_json()
}
