//! The parts of an Azure `vm_instance_view` record the two disk-encryption
//! plugins read (shared by azvmosdiskencryptionevent and
//! azvmdatadiskencryptionevent).
//!
//! Telling whether a record is one costs one pass over the record plus one
//! over its small `ext`; `raw`, the large VM object, stays unparsed text
//! until a record is known to raise an event.

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// The `com.cloud_type` of the records this plugin evaluates.
pub const AZURE: &str = "azure";
/// Their `ext.record_type`.
pub const VM_INSTANCE_VIEW: &str = "vm_instance_view";

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
    cloud_type: MaybeText<'a>,
    #[serde(borrow, default)]
    reference: MaybeText<'a>,
}

/// The `ext` fields of a VM record the two disk plugins read.
#[derive(Deserialize)]
pub struct VmExt<'a> {
    #[serde(borrow, default)]
    record_type: MaybeText<'a>,
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

impl<'a> VmRecord<'a> {
    /// Reads `record` if it is an Azure `vm_instance_view` record, the only
    /// kind this plugin evaluates; `None` for any other record (skipped).
    /// Only text that is not a JSON record at all is an error.
    pub fn read(record: &'a str) -> Result<Option<Self>, serde_json::Error> {
        let view: RecordView<'a> = match serde_json::from_str(record) {
            Ok(view) => view,
            // `raw` and `ext` are kept as text, so in a JSON object only a
            // `com` that is not an object fails to read.
            Err(e) if e.is_data() && record.trim_start().starts_with('{') => {
                log::debug!("Skipped a record whose com bucket is not an object: {e}.");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let Some(com) = view.com else {
            log::debug!("Skipped a record without a com bucket.");
            return Ok(None);
        };
        if com.cloud_type.as_str() != Some(AZURE) {
            return Ok(None);
        }
        let Some(ext_text) = view.ext else {
            return Ok(None);
        };
        let ext: VmExt<'a> = match serde_json::from_str(ext_text.get()) {
            Ok(ext) => ext,
            Err(e) => {
                log::debug!("Skipped an Azure record whose ext bucket is not an object: {e}.");
                return Ok(None);
            }
        };
        if ext.record_type.as_str() != Some(VM_INSTANCE_VIEW) {
            return Ok(None);
        }
        Ok(Some(Self {
            raw: view.raw,
            ext_text,
            ext,
            reference: com.reference.0,
        }))
    }

    /// Parses the VM object. A record without `raw` reads as an empty VM.
    pub fn vm(&self) -> Result<RawVm<'a>, serde_json::Error> {
        match self.raw {
            Some(raw) => serde_json::from_str(raw.get()),
            None => Ok(RawVm::default()),
        }
    }

    /// The VM's id: `com.reference`, or else `raw.id`.
    pub fn reference<'s>(&'s self, vm: &'s RawVm<'_>) -> Option<&'s str> {
        self.reference.as_deref().or(vm.id.as_str())
    }

    /// The record's `ext` with `fields` set over it: the event keeps the
    /// context (subscription, power state, ...) that locates the VM.
    pub fn event_ext(&self, fields: &[(&str, Value)]) -> Map<String, Value> {
        let mut ext =
            serde_json::from_str::<Map<String, Value>>(self.ext_text.get()).unwrap_or_default();
        for (key, value) in fields {
            ext.insert((*key).to_string(), value.clone());
        }
        ext
    }
}

/// The VM object as the Azure REST API returns it (camelCase).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawVm<'a> {
    #[serde(borrow, default)]
    id: MaybeText<'a>,
    #[serde(borrow, default)]
    properties: Option<VmProperties<'a>>,
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
    #[serde(borrow, default)]
    os_disk: Option<OsDisk<'a>>,
}

#[derive(Debug, Deserialize)]
struct OsDisk<'a> {
    #[serde(borrow, default)]
    name: MaybeText<'a>,
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
    name: MaybeText<'a>,
    #[serde(default)]
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
        let properties = self.properties.as_ref()?;
        let os_disk = properties.storage_profile.as_ref()?.os_disk.as_ref()?;
        os_disk.name.as_str()
    }

    /// `properties.instanceView.disks`, or `None` when the record has no
    /// instance view or the view no disk list.
    pub fn disks(&self) -> Option<&[DiskView<'_>]> {
        let properties = self.properties.as_ref()?;
        properties.instance_view.as_ref()?.disks.as_deref()
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

/// A JSON string, borrowed from the record unless it has escapes, or
/// nothing for any other value: these fields decide whether a record is of
/// interest, and other clouds' records may use the same names for other
/// things.
#[derive(Debug, Default)]
pub struct MaybeText<'a>(pub Option<Cow<'a, str>>);

impl MaybeText<'_> {
    /// The string, if it was one.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for MaybeText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = MaybeText<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Borrowed(v))))
            }

            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Owned(v.to_owned()))))
            }

            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }

            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }

            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }

            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }

            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeText(None))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeText(None))
            }
        }

        deserializer.deserialize_any(TextVisitor)
    }
}
