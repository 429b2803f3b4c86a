//! The record format, in one place: the three buckets, the `com` keys the
//! host and plugins agree on, the host's audit markers, and a borrowed view
//! of the fields plugins route on.
//!
//! A record is a JSON object with `raw` (as the cloud returned it), `ext`
//! (plugin additions) and `com` (the common model). The host stamps `com`
//! ([`com::AUDIT_KEY`] ... [`com::ORIGIN_TYPE`] when a record is produced,
//! the `target_*` keys when it is delivered). Before the first record and
//! after the last, stores and alerts receive a [`Marker`].

use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
#[derive(Debug, serde::Serialize)]
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
    R: serde::Serialize + ?Sized,
    E: serde::Serialize + ?Sized,
    C: serde::Serialize + ?Sized,
{
    /// The record as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("JSON values always serialise")
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
}

impl ExtHead<'_> {
    /// The scope the record belongs to (an Azure subscription, a Google
    /// Cloud project or an AWS account), as the check summaries count it.
    pub fn scope(&self) -> Option<&str> {
        self.subscription_id
            .as_deref()
            .or(self.project_id.as_deref())
            .or(self.account_id.as_deref())
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
