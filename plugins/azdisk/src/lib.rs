//! The `azdisk` cloud plugin (upstream's `AzDisk`): every managed disk of
//! every subscription, as a `disk` record saying whether it is attached and
//! how it is encrypted.

use cloudrest::azure::{self, AzurePlugin, Collected, Listed, Reader, ResourceType, Session};
use cloudrest::Emitter;
use serde::Deserialize;

/// Managed disks.
const DISKS: ResourceType = ResourceType {
    record_type: "disk",
    path: "providers/Microsoft.Compute/disks",
    api_version: "2024-03-02",
};

/// Reads every managed disk of every subscription: one `disk` record each
/// (`ext.disk_type` `attached` or `unattached`, from `managedBy`, as
/// upstream; `ext.encryption_type` and `ext.disk_state`), then one
/// `collection_summary` per subscription.
pub enum AzDiskReader {}

impl Reader for AzDiskReader {
    const NAME: &'static str = "azdisk";
    const CLASS: Option<&'static str> = Some("AzDisk");
    const DESCRIPTION: &'static str = "Reads the managed disks of every Azure subscription: attached or not, and their encryption.";

    const TYPES: &'static [ResourceType] = &[DISKS];

    fn item(_: &Session, item: &Listed<'_>, emit: &Emitter, _: &mut Collected) -> bool {
        emit.record(disk_record(item))
    }
}

/// The `azdisk` cloud plugin (upstream's class of that name).
pub type AzDisk = AzurePlugin<AzDiskReader>;

/// The parts of a listed disk the record's `ext` comes from.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Disk {
    managed_by: Option<String>,
    #[serde(default)]
    properties: Properties,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Properties {
    disk_state: Option<String>,
    encryption: Option<Encryption>,
}

#[derive(Deserialize)]
struct Encryption {
    #[serde(rename = "type")]
    kind: Option<String>,
}

fn disk_record(listed: &Listed<'_>) -> String {
    let disk: Disk = serde_json::from_str(listed.item.get()).unwrap_or_default();
    let attached = disk.managed_by.as_deref().is_some_and(|m| !m.is_empty());
    azure::record(listed.subscription, DISKS.record_type)
        .reference(azure::item_id(listed.item))
        .ext(
            "disk_type",
            if attached { "attached" } else { "unattached" },
        )
        .ext(
            "encryption_type",
            disk.properties.encryption.and_then(|e| e.kind),
        )
        .ext("disk_state", disk.properties.disk_state)
        .to_json(listed.item)
}

cloudmarker_plugin_api::export_plugin!(cloud: AzDisk);
