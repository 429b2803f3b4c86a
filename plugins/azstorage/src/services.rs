//! The `azstorageservices` cloud plugin: the blob and file service settings
//! of every storage account (soft delete, versioning, SMB versions and
//! channel encryption), which the account itself does not carry.

use cloudmarker_plugin_api::PluginError;
use cloudrest::azure::{self, AzurePlugin, Collected, Listed, Reader, ResourceType, Session};
use cloudrest::Emitter;
use serde::Deserialize;

/// `record_type` of a storage account's blob service
/// (`blobServices/default`).
pub const STORAGE_BLOB_SERVICE: &str = "storage_blob_service";
/// `record_type` of a storage account's file service
/// (`fileServices/default`).
pub const STORAGE_FILE_SERVICE: &str = "storage_file_service";

/// The api-version of the Microsoft.Storage reads.
const STORAGE_API: &str = "2024-01-01";

/// Storage accounts, listed to find their services (the accounts' own
/// records are azstorageaccount's).
const STORAGE_ACCOUNTS: ResourceType = ResourceType {
    record_type: "storage_account",
    path: "providers/Microsoft.Storage/storageAccounts",
    api_version: STORAGE_API,
};

/// Reads, for every storage account of every subscription, its blob
/// service (`Microsoft.Storage/storageAccounts/blobServices/read`) and its
/// file service (`.../fileServices/read`): one `storage_blob_service` and
/// one `storage_file_service` record each, for the kinds of account that
/// have that service; then one `collection_summary` per subscription, which
/// counts the services read and names those that could not be.
pub enum AzStorageServicesReader {}

impl Reader for AzStorageServicesReader {
    const NAME: &'static str = "azstorageservices";
    const DESCRIPTION: &'static str =
        "Reads the blob and file service settings of every storage account of every Azure subscription.";

    const TYPES: &'static [ResourceType] = &[STORAGE_ACCOUNTS];

    fn item(session: &Session, item: &Listed<'_>, emit: &Emitter, done: &mut Collected) -> bool {
        services(session, item, emit, done)
    }
}

/// The `azstorageservices` cloud plugin.
pub type AzStorageServices = AzurePlugin<AzStorageServicesReader>;

/// The parts of a listed account the plugin reads.
#[derive(Default, Deserialize)]
struct Account {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
}

/// Whether an account of `kind` has the service `service` (`blobServices`,
/// `fileServices`): FileStorage accounts have no blob service, BlobStorage
/// and BlockBlobStorage accounts no file service. An unknown kind is asked
/// for both.
fn has_service(kind: &str, service: &str) -> bool {
    match service {
        "blobServices" => kind != "FileStorage",
        _ => !matches!(kind, "BlobStorage" | "BlockBlobStorage"),
    }
}

/// Reads and emits the services of one listed account; false once the
/// host stops reading. A service that cannot be read (403, ...) gives no
/// record and is counted as failed, so its checks are not evaluated.
fn services(
    session: &Session,
    listed: &Listed<'_>,
    emit: &Emitter,
    collected: &mut Collected,
) -> bool {
    let account: Account = serde_json::from_str(listed.item.get()).unwrap_or_default();
    for (service, record_type) in [
        ("blobServices", STORAGE_BLOB_SERVICE),
        ("fileServices", STORAGE_FILE_SERVICE),
    ] {
        if !has_service(&account.kind, service) {
            continue;
        }
        if account.id.is_empty() {
            collected.fail(record_type, "a listed storage account has no id".into());
            continue;
        }
        let url = format!(
            "{}{}/{service}/default?api-version={STORAGE_API}",
            session.resource_manager, account.id
        );
        let what = format!(
            "storage account {}: reading {service}/default",
            account.name
        );
        let read = session.token.get().and_then(|token| {
            session
                .http
                .get_json(&what, &url, &token)
                .map_err(|e| e.to_string())
        });
        match read {
            Ok(found) => {
                collected.count(record_type, 1);
                let reference = found
                    .get("id")
                    .and_then(|id| id.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{}/{service}/default", account.id));
                let record = azure::record(listed.subscription, record_type)
                    .reference(reference)
                    .ext("storage_account", account.name.as_str())
                    .ext("storage_account_id", account.id.as_str())
                    .ext("storage_account_kind", account.kind.as_str())
                    .to_json(&found);
                if !emit.record(record) {
                    return false;
                }
            }
            Err(e) => {
                log::warn!(
                    "Cannot read the {service} of storage account {}: {e}",
                    account.name
                );
                emit.problem(PluginError::partial(
                    0,
                    format!("azstorageservices: storage account {}: {e}", account.name),
                ));
                collected.fail(
                    record_type,
                    format!("storage account {}: {e}", account.name),
                );
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_account_is_asked_for_the_services_it_has() {
        assert!(has_service("StorageV2", "blobServices"));
        assert!(has_service("StorageV2", "fileServices"));
        assert!(has_service("Storage", "fileServices"));
        assert!(!has_service("FileStorage", "blobServices"));
        assert!(has_service("FileStorage", "fileServices"));
        assert!(!has_service("BlockBlobStorage", "fileServices"));
        assert!(!has_service("BlobStorage", "fileServices"));
        assert!(has_service("", "fileServices"));
    }
}
