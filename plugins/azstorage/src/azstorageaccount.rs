//! The `azstorageaccount` cloud plugin.

use crate::account::{Account, STORAGE_ACCOUNT_PROPERTIES};
use cloudrest::azure::{self, AzurePlugin, Collected, Listed, Reader, ResourceType, Session};
use cloudrest::Emitter;

/// Storage accounts, listed with all their properties.
const STORAGE_ACCOUNTS: ResourceType = ResourceType {
    record_type: STORAGE_ACCOUNT_PROPERTIES,
    path: "providers/Microsoft.Storage/storageAccounts",
    api_version: "2024-01-01",
};

/// Reads every storage account of every subscription (upstream's
/// `AzStorageAccount`): one `storage_account_properties` record each, then
/// one `collection_summary` per subscription.
pub enum AzStorageAccountReader {}

impl Reader for AzStorageAccountReader {
    const NAME: &'static str = "azstorageaccount";
    const CLASS: Option<&'static str> = Some("AzStorageAccount");
    const DESCRIPTION: &'static str =
        "Reads the storage accounts of every Azure subscription with their security properties.";

    const TYPES: &'static [ResourceType] = &[STORAGE_ACCOUNTS];

    fn item(_: &Session, item: &Listed<'_>, emit: &Emitter, _: &mut Collected) -> bool {
        emit.record(account_record(item))
    }
}

/// The `azstorageaccount` cloud plugin (upstream's class of that name).
pub type AzStorageAccount = AzurePlugin<AzStorageAccountReader>;

/// The record of one listed storage account: the account as `raw`,
/// unchanged, and its security properties in `ext`.
fn account_record(listed: &Listed<'_>) -> String {
    let fields = match serde_json::to_value(Account::of_listed(listed.item)) {
        Ok(serde_json::Value::Object(fields)) => fields,
        _ => serde_json::Map::new(),
    };
    azure::record(listed.subscription, STORAGE_ACCOUNT_PROPERTIES)
        .reference(azure::item_id(listed.item))
        .ext_extend(fields)
        .to_json(listed.item)
}
