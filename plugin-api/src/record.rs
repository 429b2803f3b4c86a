//! The record format, in one place: the three buckets, the `com` keys the
//! host and plugins agree on, the common models, the [`Envelope`] cloud
//! plugins build their records with, the host's audit markers, and a
//! borrowed view of the fields plugins route on.
//!
//! A record is a JSON object with `raw` (as the cloud returned it), `ext`
//! (plugin additions) and `com` (the common model). The host stamps `com`
//! ([`com::AUDIT_KEY`] ... [`com::ORIGIN_TYPE`] when a record is produced,
//! the `target_*` keys when it is delivered). Before the first record and
//! after the last, stores and alerts receive a [`Marker`].

use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// The bucket with the cloud's own data.
pub const RAW: &str = "raw";
/// The bucket with plugin-specific additions.
pub const EXT: &str = "ext";
/// The bucket with the common model.
pub const COM: &str = "com";

/// The keys of the `com` bucket.
pub mod com {
    /// What kind of record or event this is (`firewall_rule`,
    /// `vm_os_disk_encryption_event`, `begin_audit`, ...).
    pub const RECORD_TYPE: &str = "record_type";
    /// The cloud it came from (`azure`, `gcp`, `mock`).
    pub const CLOUD_TYPE: &str = "cloud_type";
    /// The resource's identifier in its cloud.
    pub const REFERENCE: &str = "reference";
    /// An event's one-line description of the problem.
    pub const DESCRIPTION: &str = "description";
    /// An event's advice on how to fix it.
    pub const RECOMMENDATION: &str = "recommendation";
    /// An event's identity, the same from run to run (see `sdk::check`).
    pub const FINDING_ID: &str = "finding_id";
    /// An event's severity: `informational`, `low`, `medium`, `high`, `critical`.
    pub const SEVERITY: &str = "severity";
    /// An event's benchmark references (e.g. `CIS AWS Foundations 3.0.0 1.5`).
    pub const COMPLIANCE: &str = "compliance";
    /// The check that raised an event (a compiled check's plugin name or a
    /// rule id), and the check a `check_summary` record counts.
    pub const CHECK: &str = "check";
    /// The audit that produced the record (stamped by the host).
    pub const AUDIT_KEY: &str = "audit_key";
    /// The run's audit version (stamped by the host).
    pub const AUDIT_VERSION: &str = "audit_version";
    /// The producing plugin's key (stamped by the host).
    pub const ORIGIN_KEY: &str = "origin_key";
    /// The producing plugin's class (stamped by the host).
    pub const ORIGIN_CLASS: &str = "origin_class";
    /// The producing worker, `<audit>_<plugin>` (stamped by the host).
    pub const ORIGIN_WORKER: &str = "origin_worker";
    /// `cloud` or `event` (stamped by the host).
    pub const ORIGIN_TYPE: &str = "origin_type";
    /// `I/N`: the shard of a sharded run that read the record or raised
    /// the event (plugin-api 0.1.2).
    pub const SHARD: &str = "shard";
    /// The receiving plugin's key (stamped on delivery).
    pub const TARGET_KEY: &str = "target_key";
    /// The receiving plugin's class (stamped on delivery).
    pub const TARGET_CLASS: &str = "target_class";
    /// The receiving worker (stamped on delivery).
    pub const TARGET_WORKER: &str = "target_worker";
    /// `store` or `alert` (stamped on delivery).
    pub const TARGET_TYPE: &str = "target_type";
    /// Every key the host stamps on delivery starts with this; a producer's
    /// own `target_*` keys are dropped.
    pub const TARGET_PREFIX: &str = "target_";
    /// In the `end_audit` marker: whether a signal cut the run short.
    pub const INTERRUPTED: &str = "interrupted";
    /// In the `end_audit` marker: the producing workers that failed.
    pub const FAILED_WORKERS: &str = "failed_workers";
    /// In an `rdbms` record (a database server of any cloud): whether the
    /// server refuses connections without TLS.
    pub const TLS_ENFORCED: &str = "tls_enforced";
}

/// The keys of the `ext` bucket that every cloud plugin's records have
/// (the rest of `ext` is the plugin's own).
pub mod ext {
    /// The plugin's own type of the record (`storage_account`,
    /// `vm_instance_view`, `security_rule`, ...), which `Select::ext`
    /// routes on; events repeat their `com.record_type` here.
    pub const RECORD_TYPE: &str = "record_type";
    /// The cloud it came from (`azure`, `gcp`, `aws`, `mock`).
    pub const CLOUD_TYPE: &str = "cloud_type";
}

/// The `record_type` of the marker that opens an audit.
pub const BEGIN_AUDIT: &str = "begin_audit";
/// The `record_type` of the marker that closes an audit.
pub const END_AUDIT: &str = "end_audit";

/// The `record_type` of the common firewall model ([`FirewallRule`]).
pub const FIREWALL_RULE: &str = "firewall_rule";

/// The common model (`com`) of a `firewall_rule` record, in one place: what
/// `firewallruleevent` reads whatever the cloud. Each cloud plugin
/// normalises its own kind of rule into it (an Azure NSG rule, a GCP
/// firewall entry, a SQL server's allowed range, an AWS security group
/// permission).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirewallRule {
    /// The cloud (`azure`, `gcp`, `aws`).
    pub cloud_type: &'static str,
    /// Always [`FIREWALL_RULE`] (set by [`FirewallRule::new`]).
    pub record_type: &'static str,
    /// The rule's identifier in its cloud (`null` when the cloud gave none).
    pub reference: Option<String>,
    /// Whether the rule is in force.
    pub enabled: bool,
    /// `in` or `out` (a direction the model does not know passes through
    /// as the cloud spelt it; `null` when the cloud gave none).
    pub direction: Option<String>,
    /// `allow` or `deny`.
    pub access: Option<String>,
    /// `tcp`, `udp`, `icmp`, ... or `all` for any protocol.
    pub protocol: Option<String>,
    /// Source ranges (CIDR, single addresses, ranges or the cloud's tags);
    /// `0.0.0.0/0` (and `::/0`) means the entire Internet.
    pub source_addresses: Vec<String>,
    /// Destination ports: single ports (`"22"`) or inclusive ranges
    /// (`"0-65535"` for all).
    pub destination_ports: Vec<String>,
}

impl FirewallRule {
    /// An enabled inbound allow rule of `cloud_type` with no protocol,
    /// sources or ports yet: fill in the rest with struct update syntax.
    pub fn new(cloud_type: &'static str, reference: Option<String>) -> Self {
        Self {
            cloud_type,
            record_type: FIREWALL_RULE,
            reference,
            enabled: true,
            direction: Some("in".into()),
            access: Some("allow".into()),
            protocol: None,
            source_addresses: Vec::new(),
            destination_ports: Vec::new(),
        }
    }
}

/// A record to emit, borrowing its three buckets: serialising it writes the
/// cloud's answer as it is, without first copying it into a new JSON tree
/// (as `json!({"raw": item, ...})` would).
#[derive(Debug, Serialize)]
pub struct Record<'a, R: ?Sized, E: ?Sized, C: ?Sized> {
    /// The cloud's data.
    pub raw: &'a R,
    /// Plugin additions.
    pub ext: &'a E,
    /// The common model.
    pub com: &'a C,
}

impl<R, E, C> Record<'_, R, E, C>
where
    R: Serialize + ?Sized,
    E: Serialize + ?Sized,
    C: Serialize + ?Sized,
{
    /// The record as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("JSON values always serialise")
    }
}

/// A common model: a type whose fields are a record's whole `com` bucket
/// ([`Envelope::com_model`]). Implemented by the models this crate defines.
pub trait Model: Serialize + sealed::Sealed {}

impl Model for FirewallRule {}

mod sealed {
    /// Only this crate's models are [`super::Model`]s.
    pub trait Sealed {}
    impl Sealed for super::FirewallRule {}
}

/// What a cloud plugin writes around the cloud's data: a record's `ext` and
/// `com` buckets. Build one per record, then write the record with
/// [`Envelope::to_json`], which serialises `raw` as it is, without first
/// copying it into a new JSON tree.
///
/// [`Envelope::new`] sets the keys every record has: `ext.cloud_type`,
/// `ext.record_type` (the plugin's own type), `com.cloud_type` and
/// `com.record_type` (the common type, the same unless
/// [`Envelope::com_record_type`] says otherwise). Both buckets keep their
/// keys in the order they were first set (a key set again keeps its
/// place), whatever serde_json's `preserve_order` feature; `com` always
/// starts with `cloud_type`, `record_type` and, when set, `reference`.
///
/// ```
/// use cloudmarker_plugin_api::record::{Envelope, FirewallRule};
/// use serde_json::json;
///
/// let raw = json!({"id": "/subscriptions/s1/disks/d1", "sku": "Premium_LRS"});
/// let text = Envelope::new("azure", "disk")
///     .reference("/subscriptions/s1/disks/d1")
///     .ext("disk_type", "unattached")
///     .to_json(&raw);
/// assert_eq!(
///     text,
///     concat!(
///         r#"{"raw":{"id":"/subscriptions/s1/disks/d1","sku":"Premium_LRS"},"#,
///         r#""ext":{"cloud_type":"azure","record_type":"disk","disk_type":"unattached"},"#,
///         r#""com":{"cloud_type":"azure","record_type":"disk","reference":"/subscriptions/s1/disks/d1"}}"#,
///     )
/// );
///
/// // A plugin's type whose common type is another one (or none) ...
/// let vm = Envelope::new("azure", "virtual_machine").com_record_type(Some("compute"));
/// assert_eq!(vm.to_value(&raw)["com"]["record_type"], "compute");
///
/// // ... or a common model, which is all of `com`.
/// let rule = FirewallRule {
///     protocol: Some("tcp".into()),
///     ..FirewallRule::new("azure", Some("/subscriptions/s1/nsg/n1/securityRules/r1".into()))
/// };
/// let record = Envelope::new("azure", "security_rule").com_model(&rule).to_value(&raw);
/// assert_eq!(record["ext"]["record_type"], "security_rule");
/// assert_eq!(record["com"]["record_type"], "firewall_rule");
/// assert_eq!(record["com"]["protocol"], "tcp");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    ext: Fields,
    com: Fields,
}

impl Envelope {
    /// The envelope of a `record_type` record of `cloud_type`, in both
    /// buckets.
    pub fn new(cloud_type: &str, record_type: &str) -> Self {
        Self::with_ext(Map::new(), cloud_type, record_type)
    }

    /// The same, with `ext` starting with `scope` (the fields that locate
    /// the resource: subscription, project, account and region), then
    /// `ext.cloud_type` and `ext.record_type`; a key `scope` already has
    /// keeps its place.
    pub fn with_ext(scope: Map<String, Value>, cloud_type: &str, record_type: &str) -> Self {
        let mut ext = Fields(scope.into_iter().collect());
        ext.set(ext::CLOUD_TYPE, cloud_type.into());
        ext.set(ext::RECORD_TYPE, record_type.into());
        let mut com = Fields(Vec::with_capacity(3));
        com.set(com::CLOUD_TYPE, cloud_type.into());
        com.set(com::RECORD_TYPE, record_type.into());
        Self { ext, com }
    }

    /// Sets `com.record_type` when the common type is not the plugin's own
    /// (`compute` for a `virtual_machine`), or `null` (`None`) when the
    /// record has no common type.
    pub fn com_record_type(mut self, record_type: Option<&str>) -> Self {
        self.com.set(
            com::RECORD_TYPE,
            record_type.map_or(Value::Null, Value::from),
        );
        self
    }

    /// Sets `com.reference`, the resource's identifier in its cloud
    /// (`null` for `None`), right after `com.record_type`.
    pub fn reference(mut self, reference: impl Into<Value>) -> Self {
        let reference = reference.into();
        match self.com.position(com::REFERENCE) {
            Some(at) => self.com.0[at].1 = reference,
            None => {
                let at = self.com.position(com::RECORD_TYPE).map_or(0, |at| at + 1);
                self.com.0.insert(at, (com::REFERENCE.into(), reference));
            }
        }
        self
    }

    /// Sets `com.<key>`, a field of the common model beyond the ones every
    /// record has (e.g. [`com::TLS_ENFORCED`]).
    pub fn com(mut self, key: &str, value: impl Into<Value>) -> Self {
        if key == com::REFERENCE {
            return self.reference(value);
        }
        self.com.set(key, value.into());
        self
    }

    /// Makes `model`'s fields the whole `com` bucket (a [`FirewallRule`]
    /// has its own `cloud_type`, `record_type` and `reference`).
    pub fn com_model(mut self, model: &impl Model) -> Self {
        self.com = match serde_json::to_value(model) {
            Ok(Value::Object(fields)) => Fields(fields.into_iter().collect()),
            _ => unreachable!("a model serialises as an object"),
        };
        self
    }

    /// Sets `ext.<key>`, a field of the plugin's own.
    pub fn ext(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.ext.set(key, value.into());
        self
    }

    /// Sets each of `fields` in `ext`, in their order.
    pub fn ext_extend(mut self, fields: impl IntoIterator<Item = (String, Value)>) -> Self {
        for (key, value) in fields {
            self.ext.set(&key, value);
        }
        self
    }

    /// The record with `raw` as JSON text.
    pub fn to_json<R: Serialize + ?Sized>(&self, raw: &R) -> String {
        Record {
            raw,
            ext: &self.ext,
            com: &self.com,
        }
        .to_json()
    }

    /// The record with `raw` as a JSON tree (for tests, and fixtures of
    /// event plugins' tests).
    pub fn to_value<R: Serialize + ?Sized>(&self, raw: &R) -> Value {
        serde_json::from_str(&self.to_json(raw)).expect("a record is JSON")
    }

    /// This envelope serialised once, for a producer whose records differ
    /// only in `raw` (a generator).
    pub fn frame(&self) -> Frame {
        let text = |bucket: &Fields| {
            serde_json::value::to_raw_value(bucket).expect("JSON values always serialise")
        };
        Frame {
            ext: text(&self.ext),
            com: text(&self.com),
        }
    }
}

/// An [`Envelope`] already serialised: [`Frame::to_json`] writes only `raw`.
#[derive(Debug, Clone)]
pub struct Frame {
    ext: Box<RawValue>,
    com: Box<RawValue>,
}

impl Frame {
    /// The record with `raw` as JSON text.
    pub fn to_json<R: Serialize + ?Sized>(&self, raw: &R) -> String {
        Record {
            raw,
            ext: &*self.ext,
            com: &*self.com,
        }
        .to_json()
    }
}

/// A bucket's fields in the order they were first set.
#[derive(Debug, Clone, PartialEq)]
struct Fields(Vec<(String, Value)>);

impl Fields {
    fn position(&self, key: &str) -> Option<usize> {
        self.0.iter().position(|(k, _)| k == key)
    }

    /// Replaces `key`'s value in its place, or adds it at the end.
    fn set(&mut self, key: &str, value: Value) {
        match self.position(key) {
            Some(at) => self.0[at].1 = value,
            None => self.0.push((key.into(), value)),
        }
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// A host marker, as stores and alerts receive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marker {
    /// The audit begins.
    Begin,
    /// The audit's producers are done.
    End {
        /// Whether a signal cut the run short (outputs are incomplete).
        interrupted: bool,
        /// The producing workers that failed (their outputs are incomplete).
        failed_workers: Vec<String>,
    },
}

/// The fields of a record that plugins route on, borrowed from its text
/// where possible. Fields that are missing, `null` or not strings are
/// `None`: a view never fails on a record whose other parts it ignores.
#[derive(Debug, Default, Deserialize)]
pub struct Head<'a> {
    /// The `com` fields (empty when `com` is not an object).
    #[serde(borrow, default, deserialize_with = "object_or_default")]
    pub com: ComHead<'a>,
    /// The `ext` fields (empty when `ext` is not an object).
    #[serde(borrow, default, deserialize_with = "object_or_default")]
    pub ext: ExtHead<'a>,
}

/// A bucket read as `T` when it is an object, `T::default()` otherwise.
fn object_or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    struct Bucket<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for Bucket<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map))
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(T::default())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<T, E> {
            Ok(T::default())
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<T, E> {
            Ok(T::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<T, E> {
            Ok(T::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<T, E> {
            Ok(T::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<T, E> {
            Ok(T::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<T, E> {
            Ok(T::default())
        }
    }
    d.deserialize_any(Bucket(std::marker::PhantomData))
}

/// See [`Head`].
#[derive(Debug, Default, Deserialize)]
pub struct ComHead<'a> {
    /// [`com::RECORD_TYPE`].
    #[serde(borrow, default, deserialize_with = "text")]
    pub record_type: Option<Cow<'a, str>>,
    /// [`com::CLOUD_TYPE`].
    #[serde(borrow, default, deserialize_with = "text")]
    pub cloud_type: Option<Cow<'a, str>>,
    /// [`com::REFERENCE`].
    #[serde(borrow, default, deserialize_with = "text")]
    pub reference: Option<Cow<'a, str>>,
    /// [`com::AUDIT_KEY`].
    #[serde(borrow, default, deserialize_with = "text")]
    pub audit_key: Option<Cow<'a, str>>,
    /// [`com::AUDIT_VERSION`].
    #[serde(borrow, default, deserialize_with = "text")]
    pub audit_version: Option<Cow<'a, str>>,
    /// [`com::ORIGIN_WORKER`].
    #[serde(borrow, default, deserialize_with = "text")]
    pub origin_worker: Option<Cow<'a, str>>,
    /// [`com::ORIGIN_TYPE`] (`cloud` or `event`).
    #[serde(borrow, default, deserialize_with = "text")]
    pub origin_type: Option<Cow<'a, str>>,
    /// [`com::TARGET_WORKER`].
    #[serde(borrow, default, deserialize_with = "text")]
    pub target_worker: Option<Cow<'a, str>>,
    /// [`com::TARGET_TYPE`].
    #[serde(borrow, default, deserialize_with = "text")]
    pub target_type: Option<Cow<'a, str>>,
    /// [`com::INTERRUPTED`] (markers only).
    #[serde(default)]
    pub interrupted: Option<bool>,
    /// [`com::FAILED_WORKERS`] (markers only).
    #[serde(borrow, default)]
    pub failed_workers: Option<Vec<Cow<'a, str>>>,
}

/// See [`Head`].
#[derive(Debug, Default, Deserialize)]
pub struct ExtHead<'a> {
    /// The plugin's own record type (`ext.record_type`).
    #[serde(borrow, default, deserialize_with = "text")]
    pub record_type: Option<Cow<'a, str>>,
    /// `ext.cloud_type`.
    #[serde(borrow, default, deserialize_with = "text")]
    pub cloud_type: Option<Cow<'a, str>>,
    /// `ext.subscription_id`: the Azure subscription the record belongs to.
    #[serde(borrow, default, deserialize_with = "text")]
    pub subscription_id: Option<Cow<'a, str>>,
    /// `ext.project_id`: the Google Cloud project.
    #[serde(borrow, default, deserialize_with = "text")]
    pub project_id: Option<Cow<'a, str>>,
    /// `ext.account_id`: the AWS account.
    #[serde(borrow, default, deserialize_with = "text")]
    pub account_id: Option<Cow<'a, str>>,
    /// `ext.tenant_id`: the Microsoft Entra tenant, for the records of a
    /// tenant rather than of one subscription.
    #[serde(borrow, default, deserialize_with = "text")]
    pub tenant_id: Option<Cow<'a, str>>,
}

/// The `ext` keys that name a record's scope, first found first: an Azure
/// subscription, a Google Cloud project, an AWS account, an Entra tenant.
pub const SCOPE_KEYS: [&str; 4] = ["subscription_id", "project_id", "account_id", "tenant_id"];

impl ExtHead<'_> {
    /// The scope the record belongs to (an Azure subscription, a Google
    /// Cloud project, an AWS account or an Entra tenant: [`SCOPE_KEYS`]),
    /// as the check summaries count it.
    pub fn scope(&self) -> Option<&str> {
        self.subscription_id
            .as_deref()
            .or(self.project_id.as_deref())
            .or(self.account_id.as_deref())
            .or(self.tenant_id.as_deref())
    }
}

impl<'a> Head<'a> {
    /// The view of `record` (JSON text); an error when it is not a JSON
    /// object.
    pub fn parse(record: &'a str) -> Result<Self, serde_json::Error> {
        if !record.trim_start().starts_with('{') {
            return Err(de::Error::custom("a record must be a JSON object"));
        }
        serde_json::from_str(record)
    }

    /// The view of a record the host has stamped, reading only its `com`
    /// bucket, which the host always writes last: a store that routes on
    /// `com` skips the rest of the record instead of scanning it. Falls back
    /// to [`Head::parse`] for any other shape. `ext` is empty in the view
    /// this returns for a stamped record.
    pub fn parse_stamped(record: &'a str) -> Result<Self, serde_json::Error> {
        match stamped_com(record) {
            Some(com) => Ok(Self {
                com,
                ext: ExtHead::default(),
            }),
            None => Self::parse(record),
        }
    }

    /// The host marker this record is, if it is one (markers have no
    /// origin worker).
    pub fn marker(&self) -> Option<Marker> {
        if self.com.origin_worker.is_some() {
            return None;
        }
        match self.com.record_type.as_deref()? {
            BEGIN_AUDIT => Some(Marker::Begin),
            END_AUDIT => Some(Marker::End {
                interrupted: self.com.interrupted.unwrap_or(false),
                failed_workers: self
                    .com
                    .failed_workers
                    .iter()
                    .flatten()
                    .map(|w| w.to_string())
                    .collect(),
            }),
            _ => None,
        }
    }
}

/// A JSON string, borrowed from the record text unless it has escapes, or
/// nothing for any other value (null, a number, an object): fields that
/// decide whether a record is of interest must not fail on other clouds'
/// records that use the same names for other things.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl Text<'_> {
    /// The string, if it was one.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// Whether it is the string `expected`.
    pub fn is(&self, expected: &str) -> bool {
        self.as_str() == Some(expected)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        text(d).map(Text)
    }
}

/// The `com` fields a check names a record by, borrowed from its text:
/// the resource and its cloud (each empty when missing or not a string).
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
pub struct ComRef<'a> {
    /// `com.reference`.
    #[serde(borrow, default)]
    pub reference: Text<'a>,
    /// `com.cloud_type`.
    #[serde(borrow, default)]
    pub cloud_type: Text<'a>,
}

/// The `com` of a record whose last top-level entry is `"com":{...}`, read
/// without reading what comes before it. Candidates are tried from the end:
/// only the real bucket is an object that ends right before the record's
/// closing brace and follows a `,` or the record's opening `{`.
fn stamped_com(record: &str) -> Option<ComHead<'_>> {
    const KEY: &str = "\"com\":";
    let body = record.trim_end().strip_suffix('}')?;
    let mut search = body.len();
    while let Some(at) = body[..search].rfind(KEY) {
        search = at;
        let before = body[..at].trim_end();
        if !(before.ends_with(',') || before == "{") {
            continue;
        }
        let value = body[at + KEY.len()..].trim_start();
        if !value.starts_with('{') {
            continue;
        }
        let mut de = serde_json::Deserializer::from_str(value);
        if let Ok(com) = ComHead::deserialize(&mut de) {
            if de.end().is_ok() {
                return Some(com);
            }
        }
    }
    None
}

/// A string field, or `None` for anything else (null, numbers, objects).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct TextVisitor;
    impl<'de> Visitor<'de> for TextVisitor {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_string())))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(TextVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_firewall_rule_is_the_common_model_firewallruleevent_reads() {
        let rule = FirewallRule {
            protocol: Some("tcp".into()),
            source_addresses: vec!["0.0.0.0/0".into(), "::/0".into()],
            destination_ports: vec!["22".into(), "8000-8080".into()],
            ..FirewallRule::new("aws", Some("arn:aws:ec2:r:1:security-group/sg-1".into()))
        };
        assert_eq!(
            serde_json::to_value(&rule).unwrap(),
            json!({"cloud_type": "aws", "record_type": "firewall_rule",
                   "reference": "arn:aws:ec2:r:1:security-group/sg-1", "enabled": true,
                   "direction": "in", "access": "allow", "protocol": "tcp",
                   "source_addresses": ["0.0.0.0/0", "::/0"],
                   "destination_ports": ["22", "8000-8080"]})
        );
    }

    #[test]
    fn the_view_borrows_strings_and_tolerates_other_types() {
        let text =
            json!({"raw": {"big": [1, 2, 3]}, "ext": {"record_type": "nsg", "cloud_type": 7},
            "com": {"record_type": null, "reference": {"id": 1}, "origin_worker": "a_b",
                    "audit_version": "v1", "cloud_type": "azure"}})
            .to_string();
        let head = Head::parse(&text).unwrap();
        assert_eq!(head.ext.record_type.as_deref(), Some("nsg"));
        assert_eq!(head.ext.cloud_type, None);
        assert_eq!(head.com.record_type, None);
        assert_eq!(head.com.reference, None);
        assert!(matches!(head.com.origin_worker, Some(Cow::Borrowed("a_b"))));
        assert_eq!(head.marker(), None);
        assert!(Head::parse("[1]").is_err());
        let odd = Head::parse(r#"{"com": 5, "ext": [1]}"#).unwrap();
        assert_eq!((odd.com.record_type, odd.ext.record_type), (None, None));
        let text: Vec<Text<'_>> =
            serde_json::from_str(r#"["a", 1, null, {"b": 2}, "c\/d"]"#).unwrap();
        let strings: Vec<Option<&str>> = text.iter().map(Text::as_str).collect();
        assert_eq!(strings, [Some("a"), None, None, None, Some("c/d")]);
        assert!(text[0].is("a"));
        assert_eq!(Head::parse("{}").unwrap().com.audit_version, None);
    }

    #[test]
    fn the_stamped_view_reads_only_the_last_com() {
        let stamped = r#"{"raw":{"com":{"origin_worker":"fake"},"s":"\"com\":{"},"ext":{"x":1},"com":{"a":{"com":{"origin_worker":"nested"}},"origin_worker":"real","audit_version":"v"}}"#;
        let head = Head::parse_stamped(stamped).unwrap();
        assert_eq!(head.com.origin_worker.as_deref(), Some("real"));
        assert_eq!(head.com.audit_version.as_deref(), Some("v"));
        let nested_last =
            r#"{"raw":{},"com":{"origin_worker":"real","x":{"com":{"origin_worker":"nested"}}}}"#;
        assert_eq!(
            Head::parse_stamped(nested_last)
                .unwrap()
                .com
                .origin_worker
                .as_deref(),
            Some("real")
        );
        // Not shaped by the host: the whole record is read.
        let com_first = r#"{"com":{"origin_worker":"w"},"raw":{"com":{"origin_worker":"no"}}}"#;
        assert_eq!(
            Head::parse_stamped(com_first)
                .unwrap()
                .com
                .origin_worker
                .as_deref(),
            Some("w")
        );
        assert!(Head::parse_stamped("[1]").is_err());
        assert!(Head::parse_stamped(r#"{"com":{"a":1}"#).is_err());
    }

    #[test]
    fn a_borrowed_record_serialises_its_buckets() {
        let raw = json!({"id": "/a", "big": [1, 2, 3]});
        let text = Record {
            raw: &raw,
            ext: &json!({"record_type": "x"}),
            com: &json!({"reference": "/a"}),
        }
        .to_json();
        assert!(text.starts_with(r#"{"raw":{"#), "{text}");
        assert!(
            text.ends_with(r#","com":{"reference":"/a"}}"#),
            "com last: {text}"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            json!({"raw": raw, "ext": {"record_type": "x"}, "com": {"reference": "/a"}})
        );
    }

    /// A subscription's identity, its keys in alphabetical order so that
    /// the expected texts hold with and without serde_json's
    /// `preserve_order`.
    fn scope() -> Map<String, Value> {
        let mut scope = Map::new();
        scope.insert("subscription_id".into(), "s1".into());
        scope.insert("tenant_id".into(), Value::Null);
        scope
    }

    #[test]
    fn an_envelope_writes_its_keys_in_the_order_they_were_set() {
        let raw = RawValue::from_string(r#"{"id": "/d1",  "big": [1, 2]}"#.into()).unwrap();
        let text = Envelope::with_ext(scope(), "azure", "mysql_server")
            .com_record_type(Some("rdbms"))
            .com(com::TLS_ENFORCED, true)
            .reference("/d1")
            .ext("z_first", 1)
            .ext_extend([("a_second".to_string(), json!([2]))])
            .ext("z_first", "again")
            .to_json(&*raw);
        assert_eq!(
            text,
            concat!(
                r#"{"raw":{"id": "/d1",  "big": [1, 2]},"#,
                r#""ext":{"subscription_id":"s1","tenant_id":null,"cloud_type":"azure","record_type":"mysql_server","z_first":"again","a_second":[2]},"#,
                r#""com":{"cloud_type":"azure","record_type":"rdbms","reference":"/d1","tls_enforced":true}}"#
            ),
            "raw is written as it is; a key set again keeps its place; reference follows record_type"
        );
        let head = Head::parse(&text).unwrap();
        assert_eq!(head.ext.record_type.as_deref(), Some("mysql_server"));
        assert_eq!(head.com.record_type.as_deref(), Some("rdbms"));
        assert_eq!(head.com.cloud_type.as_deref(), Some("azure"));
        assert_eq!(head.com.reference.as_deref(), Some("/d1"));
    }

    #[test]
    fn an_envelope_without_a_common_type_or_reference() {
        let untyped = Envelope::new("gcp", "firewall")
            .com_record_type(None)
            .reference(None::<String>);
        assert_eq!(
            untyped.to_json(&json!({})),
            r#"{"raw":{},"ext":{"cloud_type":"gcp","record_type":"firewall"},"com":{"cloud_type":"gcp","record_type":null,"reference":null}}"#
        );
        assert_eq!(
            Envelope::new("mock", "foo")
                .com_record_type(Some("mock"))
                .to_json(&json!({"data": 1})),
            r#"{"raw":{"data":1},"ext":{"cloud_type":"mock","record_type":"foo"},"com":{"cloud_type":"mock","record_type":"mock"}}"#,
            "no reference unless one is set"
        );
        // The scope may place the envelope's keys (AWS: cloud_type first).
        let mut aws = Map::new();
        aws.insert(ext::CLOUD_TYPE.into(), "aws".into());
        aws.insert("region".into(), "eu-west-1".into());
        assert_eq!(
            Envelope::with_ext(aws, "aws", "kms_key").to_value(&())["ext"],
            json!({"cloud_type": "aws", "region": "eu-west-1", "record_type": "kms_key"})
        );
        assert_eq!(
            serde_json::to_string(&Envelope::with_ext(scope(), "aws", "kms_key").ext).unwrap(),
            r#"{"subscription_id":"s1","tenant_id":null,"cloud_type":"aws","record_type":"kms_key"}"#
        );
    }

    #[test]
    fn a_model_is_the_whole_common_bucket() {
        let rule = FirewallRule {
            protocol: Some("tcp".into()),
            destination_ports: vec!["22".into()],
            ..FirewallRule::new("azure", Some("/r1".into()))
        };
        let text = Envelope::with_ext(scope(), "azure", "security_rule")
            .ext("nsg_id", "/n1")
            .com_model(&rule)
            .to_json(&json!({"id": "/r1"}));
        assert_eq!(
            text,
            concat!(
                r#"{"raw":{"id":"/r1"},"#,
                r#""ext":{"subscription_id":"s1","tenant_id":null,"cloud_type":"azure","record_type":"security_rule","nsg_id":"/n1"},"#,
                r#""com":{"cloud_type":"azure","record_type":"firewall_rule","reference":"/r1","enabled":true,"direction":"in","access":"allow","protocol":"tcp","source_addresses":[],"destination_ports":["22"]}}"#
            )
        );
    }

    #[test]
    fn a_frame_writes_the_same_records() {
        let envelope = Envelope::new("mock", "ball").com_record_type(Some("mock"));
        let frame = envelope.frame();
        for raw in [json!({"data": 4}), json!(null), json!("a \"b\"")] {
            assert_eq!(frame.to_json(&raw), envelope.to_json(&raw));
        }
        assert_eq!(
            envelope.to_value(&json!({"data": 4})),
            json!({"raw": {"data": 4}, "ext": {"cloud_type": "mock", "record_type": "ball"},
                   "com": {"cloud_type": "mock", "record_type": "mock"}})
        );
    }

    #[test]
    fn markers_are_recognised() {
        let begin = json!({"com": {"record_type": BEGIN_AUDIT, "audit_key": "a"}}).to_string();
        assert_eq!(Head::parse(&begin).unwrap().marker(), Some(Marker::Begin));
        let end = json!({"com": {"record_type": END_AUDIT, "interrupted": true,
            "failed_workers": ["a_bad"]}})
        .to_string();
        assert_eq!(
            Head::parse(&end).unwrap().marker(),
            Some(Marker::End {
                interrupted: true,
                failed_workers: vec!["a_bad".into()]
            })
        );
        let produced =
            json!({"com": {"record_type": END_AUDIT, "origin_worker": "a_c"}}).to_string();
        assert_eq!(
            Head::parse(&produced).unwrap().marker(),
            None,
            "a plugin's record"
        );
    }
}
