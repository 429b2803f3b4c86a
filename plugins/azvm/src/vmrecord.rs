//! The parts of an Azure `vm_instance_view` record (from the `azvm` cloud
//! plugin) that the VM checks of this library read.
//!
//! [`VmRecord`] is the `Record` of their checks: it reads `com` and the
//! small `ext`; `raw`, the large VM object, stays unparsed text until a
//! record is known to raise an event ([`VmRecord::vm`]).

use cloudmarker_plugin_api::record::Text;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The `com.cloud_type` of the records this plugin evaluates.
pub const AZURE: &str = "azure";
/// Their `ext.record_type`.
pub const VM_INSTANCE_VIEW: &str = "vm_instance_view";
/// Stands in for a disk name the record does not give.
pub const UNNAMED: &str = "(unnamed)";
/// Stands in for a VM id the record does not give.
pub const UNKNOWN: &str = "(unknown)";

/// A record, with `raw` and `ext` kept as text.
#[derive(Deserialize)]
struct RecordView<'a> {
    #[serde(borrow, default)]
    raw: Option<&'a RawValue>,
    #[serde(borrow, default)]
    ext: Option<&'a RawValue>,
    #[serde(borrow, default)]
    com: Option<VmCom<'a>>,
}

#[derive(Deserialize)]
struct VmCom<'a> {
    #[serde(borrow, default)]
    reference: Text<'a>,
}

/// The `ext` fields of a VM record the VM event plugins read.
#[derive(Deserialize)]
pub struct VmExt<'a> {
    /// The azvm plugin's verdict on the OS disk; see [`is_true`].
    #[serde(borrow, default)]
    pub os_disk_encrypted: Option<&'a RawValue>,
    /// The azvm plugin's verdict on the data disks; see [`is_true`].
    #[serde(borrow, default)]
    pub all_data_disks_encrypted: Option<&'a RawValue>,
}

/// An Azure `vm_instance_view` record.
pub struct VmRecord<'a> {
    /// The VM object, not parsed yet: see [`VmRecord::vm`].
    raw: Option<&'a RawValue>,
    /// The record's `ext`, as text, for the event to copy.
    pub ext_text: &'a RawValue,
    /// The `ext` fields this plugin reads.
    pub ext: VmExt<'a>,
    /// `com.reference`, the VM's id.
    pub reference: Option<Cow<'a, str>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for VmRecord<'a> {
    /// Reads a record the check selected (an Azure `vm_instance_view`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let view = RecordView::deserialize(deserializer)?;
        let ext_text = view
            .ext
            .ok_or_else(|| serde::de::Error::custom("the record has no ext bucket"))?;
        let ext: VmExt<'a> =
            serde_json::from_str(ext_text.get()).map_err(serde::de::Error::custom)?;
        Ok(Self {
            raw: view.raw,
            ext_text,
            ext,
            reference: view.com.and_then(|com| com.reference.0),
        })
    }
}

impl<'a> VmRecord<'a> {
    /// Parses the VM object. A record without `raw` reads as an empty VM.
    pub fn vm(&self) -> Result<RawVm<'a>, serde_json::Error> {
        match self.raw {
            Some(raw) => serde_json::from_str(raw.get()),
            None => Ok(RawVm::default()),
        }
    }

    /// Parses the VM object, or logs a warning naming the record and gives
    /// `None` when it is malformed: one bad record never stops a check.
    pub fn vm_or_warn(&self) -> Option<RawVm<'a>> {
        match self.vm() {
            Ok(vm) => Some(vm),
            Err(e) => {
                let reference = self.reference.as_deref().unwrap_or(UNKNOWN);
                log::warn!(
                    "Skipped a malformed vm_instance_view record (reference {reference}), error: {e}."
                );
                None
            }
        }
    }

    /// The VM's id: `com.reference`, or else `raw.id`.
    pub fn reference<'s>(&'s self, vm: &'s RawVm<'_>) -> Option<&'s str> {
        self.reference.as_deref().or(vm.id.as_str())
    }
}

/// The VM object as the Azure REST API returns it (camelCase, under
/// `properties`), or as upstream Cloudmarker saved it from the Python SDK
/// (snake_case, flattened: `storage_profile` and `instance_view` at the
/// top), so that records saved by the original are checked too.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawVm<'a> {
    #[serde(borrow, default)]
    id: Text<'a>,
    #[serde(borrow, default)]
    properties: Option<VmProperties<'a>>,
    #[serde(borrow, default, rename = "storage_profile")]
    sdk_storage_profile: Option<StorageProfile<'a>>,
    #[serde(borrow, default, rename = "instance_view")]
    sdk_instance_view: Option<InstanceView<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VmProperties<'a> {
    #[serde(borrow, default)]
    storage_profile: Option<StorageProfile<'a>>,
    #[serde(borrow, default)]
    instance_view: Option<InstanceView<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StorageProfile<'a> {
    #[serde(borrow, default, alias = "os_disk")]
    os_disk: Option<OsDisk<'a>>,
}

#[derive(Debug, Deserialize)]
struct OsDisk<'a> {
    #[serde(borrow, default)]
    name: Text<'a>,
}

#[derive(Debug, Deserialize)]
struct InstanceView<'a> {
    #[serde(borrow, default)]
    disks: Option<Vec<DiskView<'a>>>,
}

/// A disk of the instance view.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskView<'a> {
    #[serde(borrow, default)]
    name: Text<'a>,
    #[serde(default, alias = "encryption_settings")]
    encryption_settings: Option<Vec<Option<EncryptionSetting>>>,
}

#[derive(Debug, Deserialize)]
struct EncryptionSetting {
    #[serde(default)]
    enabled: Option<bool>,
}

impl RawVm<'_> {
    /// `properties.storageProfile.osDisk.name`.
    pub fn os_disk_name(&self) -> Option<&str> {
        let profile = self
            .properties
            .as_ref()
            .and_then(|p| p.storage_profile.as_ref())
            .or(self.sdk_storage_profile.as_ref())?;
        profile.os_disk.as_ref()?.name.as_str()
    }

    /// `properties.instanceView.disks`, or `None` when the record has no
    /// instance view or the view no disk list.
    pub fn disks(&self) -> Option<&[DiskView<'_>]> {
        let view = self
            .properties
            .as_ref()
            .and_then(|p| p.instance_view.as_ref())
            .or(self.sdk_instance_view.as_ref())?;
        view.disks.as_deref()
    }
}

impl DiskView<'_> {
    /// The disk's name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_str()
    }

    /// Whether some entry of the disk's `encryptionSettings` is enabled. No
    /// settings, `null` settings or only disabled ones mean unencrypted.
    pub fn is_encrypted(&self) -> bool {
        self.encryption_settings
            .iter()
            .flatten()
            .flatten()
            .any(|setting| setting.enabled == Some(true))
    }
}

/// Whether a flag is the JSON literal `true`: a missing, `null`, `false` or
/// otherwise odd flag does not vouch for encryption.
pub fn is_true(flag: Option<&RawValue>) -> bool {
    flag.is_some_and(|v| v.get() == "true")
}
