//! Event plugins as declarative checks.
//!
//! A check says which records it reads ([`Select`]), which parts of them
//! (`Record`, borrowed from the record text), and what it finds in one
//! ([`Finding`]s). The SDK does the rest: it reads only the head of every
//! other record, skips a selected record that does not read as `Record` with
//! a warning that names it, and writes the events. Implementing [`Check`]
//! makes a type an [`Event`] plugin:
//!
//! ```
//! use cloudmarker_plugin_api::record::Text;
//! use cloudmarker_plugin_api::sdk::check::{Check, Finding, Findings, Select};
//! use cloudmarker_plugin_api::sdk::{self, PluginType};
//! use cloudmarker_plugin_api::sdk::schema::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Default, Deserialize, Serialize, JsonSchema)]
//! #[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
//! #[serde(default, deny_unknown_fields)]
//! pub struct Params {}
//!
//! pub struct PublicBucket;
//!
//! #[derive(Deserialize)]
//! pub struct Bucket<'a> {
//!     #[serde(borrow, default)]
//!     pub com: Com<'a>,
//! }
//!
//! #[derive(Default, Deserialize)]
//! pub struct Com<'a> {
//!     #[serde(borrow, default)]
//!     pub reference: Text<'a>,
//!     #[serde(default)]
//!     pub public: bool,
//! }
//!
//! impl PluginType for PublicBucket {
//!     type Params = Params;
//!     const NAME: &'static str = "publicbucketevent";
//!     const DESCRIPTION: &'static str = "Flags public buckets.";
//!     fn new(_: Params) -> sdk::Result<Self> { Ok(Self) }
//! }
//!
//! impl Check for PublicBucket {
//!     const SELECT: Select = Select::ext(&["bucket"]);
//!     type Record<'a> = Bucket<'a>;
//!
//!     fn check(&mut self, bucket: Bucket<'_>, findings: &mut Findings) -> sdk::Result<()> {
//!         if bucket.com.public {
//!             let name = bucket.com.reference.as_str().unwrap_or("(unknown)");
//!             findings.push(
//!                 Finding::new(
//!                     "public_bucket_event",
//!                     format!("Bucket {name} is public."),
//!                     format!("Make bucket {name} private."),
//!                 )
//!                 .reference(bucket.com.reference.as_str()),
//!             );
//!         }
//!         Ok(())
//!     }
//! }
//!
//! cloudmarker_plugin_api::export_plugin!(event: PublicBucket);
//! ```

use super::{Batch, Event, PluginType, Result};
use crate::record::{com, ComRef, Head};
use crate::PluginError;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Which bucket's `record_type` selects records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// `ext.record_type`: the cloud plugin's own record types.
    Ext,
    /// `com.record_type`: the common model's types (`firewall_rule`).
    Com,
}

/// The records a check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Select {
    /// Where the record type is read.
    pub bucket: Bucket,
    /// The record types read.
    pub record_types: &'static [&'static str],
    /// Only records of this `com.cloud_type`, if set.
    pub cloud_type: Option<&'static str>,
}

impl Select {
    /// Records whose `ext.record_type` is one of `record_types`.
    pub const fn ext(record_types: &'static [&'static str]) -> Self {
        Self {
            bucket: Bucket::Ext,
            record_types,
            cloud_type: None,
        }
    }

    /// Records whose `com.record_type` is one of `record_types`.
    pub const fn com(record_types: &'static [&'static str]) -> Self {
        Self {
            bucket: Bucket::Com,
            record_types,
            cloud_type: None,
        }
    }

    /// The same, only for records of `com.cloud_type` `cloud_type`.
    pub const fn in_cloud(mut self, cloud_type: &'static str) -> Self {
        self.cloud_type = Some(cloud_type);
        self
    }

    /// Whether the record with `head` is one the check reads; its record type.
    pub fn matches<'h>(&self, head: &'h Head<'_>) -> Option<&'h str> {
        let record_type = match self.bucket {
            Bucket::Ext => head.ext.record_type.as_deref(),
            Bucket::Com => head.com.record_type.as_deref(),
        }?;
        let cloud_ok = match self.cloud_type {
            None => true,
            Some(cloud) => head.com.cloud_type.as_deref() == Some(cloud),
        };
        (cloud_ok && self.record_types.contains(&record_type)).then_some(record_type)
    }
}

/// A plugin that evaluates records one at a time and raises events; see
/// the module documentation.
pub trait Check: PluginType {
    /// The records it reads; all others are skipped after reading their head.
    const SELECT: Select;

    /// How bad its events are (`com.severity`), unless an event says
    /// otherwise ([`Finding::severity`]) or the config overrides it.
    const SEVERITY: Severity = Severity::Medium;

    /// The parts of a selected record it reads.
    type Record<'a>: Deserialize<'a>;

    /// Adds the events `record` raises to `findings`. An `Err` is reported
    /// for this record; the plugin goes on with the next.
    fn check(&mut self, record: Self::Record<'_>, findings: &mut Findings) -> Result<()>;
}

/// The events a check raises for one record.
pub type Findings = Vec<Finding>;

/// How bad a finding is (`com.severity`), on OCSF's scale.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing to fix.
    Informational,
    /// A weakness with little exposure.
    Low,
    /// A weakness to fix in the normal course of work.
    Medium,
    /// An exposure to fix soon.
    High,
    /// An exposure to fix now.
    Critical,
}

impl Severity {
    /// Its name in records and configs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Informational => "informational",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// The severity named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Informational,
            Self::Low,
            Self::Medium,
            Self::High,
            Self::Critical,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// One event: `com.record_type`, `description`, `recommendation`, the
/// resource's `reference` and `cloud_type`, and whatever else the check
/// adds to `ext` and `com`. `ext.record_type` is the event's type too.
///
/// Every event gets `com.finding_id`, the same from run to run for the same
/// problem: a hash of the event's `record_type`, its `reference` (or, when
/// it has none, its `ext`) and the values a check names with
/// [`Finding::distinguished_by`] (the exposed ports of a firewall rule, the
/// disk of a VM) when one resource can have several findings of a type.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    ext: Map<String, Value>,
    com: Map<String, Value>,
    distinguished_by: Map<String, Value>,
    severity: Option<Severity>,
}

impl Finding {
    /// An event of type `record_type` with what is wrong and how to fix it.
    pub fn new(record_type: &str, description: String, recommendation: String) -> Self {
        let mut com = Map::new();
        com.insert(com::RECORD_TYPE.into(), record_type.into());
        com.insert(com::DESCRIPTION.into(), description.into());
        com.insert(com::RECOMMENDATION.into(), recommendation.into());
        com.insert(com::REFERENCE.into(), Value::Null);
        com.insert(com::CLOUD_TYPE.into(), Value::Null);
        let mut ext = Map::new();
        ext.insert(com::RECORD_TYPE.into(), record_type.into());
        Self {
            ext,
            com,
            distinguished_by: Map::new(),
            severity: None,
        }
    }

    /// Makes `value` part of the finding's identity: one resource has
    /// several findings of this type, told apart by `key`.
    pub fn distinguished_by(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.distinguished_by.insert(key.into(), value.into());
        self
    }

    /// This event's severity, instead of its check's.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    /// Sets `com.finding_id` and `com.severity` (the event's own, else its
    /// check's `severity`). Which benchmark requirements an event answers
    /// (`com.compliance`) is not the plugin's to say: the host stamps it
    /// from the framework files, by the event's check.
    pub fn identify(&mut self, severity: Severity) {
        let id = finding_id(
            self.com
                .get(com::RECORD_TYPE)
                .and_then(Value::as_str)
                .unwrap_or_default(),
            self.com.get(com::REFERENCE).and_then(Value::as_str),
            &self.ext,
            &self.distinguished_by,
        );
        self.com.insert(com::FINDING_ID.into(), id.into());
        let severity = self.severity.unwrap_or(severity);
        self.com
            .insert(com::SEVERITY.into(), severity.name().into());
    }

    /// Names the check that raised the event (`com.check`), unless the
    /// event names one already: compiled checks are named after their
    /// plugin by the SDK, rules after their id.
    pub fn set_check(&mut self, check: &str) {
        if !self.com.contains_key(com::CHECK) {
            self.com.insert(com::CHECK.into(), check.into());
        }
    }

    /// The resource the event is about (`com.reference`).
    pub fn reference(mut self, reference: Option<&str>) -> Self {
        self.com.insert(
            com::REFERENCE.into(),
            reference.map_or(Value::Null, Value::from),
        );
        self
    }

    /// The resource's cloud (`com.cloud_type`).
    pub fn cloud_type(mut self, cloud_type: Option<&str>) -> Self {
        self.com.insert(
            com::CLOUD_TYPE.into(),
            cloud_type.map_or(Value::Null, Value::from),
        );
        self
    }

    /// Starts `ext` from the resource record's `ext` (which locates the
    /// resource: subscription, project, ...); the event's `record_type` stays.
    /// An `ext` that is not an object is not copied.
    pub fn ext_from(mut self, ext: Option<&RawValue>) -> Self {
        if let Some(Ok(mut copied)) =
            ext.map(|raw| serde_json::from_str::<Map<String, Value>>(raw.get()))
        {
            let record_type = self.ext.remove(com::RECORD_TYPE);
            copied.extend(std::mem::take(&mut self.ext));
            if let Some(record_type) = record_type {
                copied.insert(com::RECORD_TYPE.into(), record_type);
            }
            self.ext = copied;
        }
        self
    }

    /// Sets `ext.<key>`.
    pub fn ext(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.ext.insert(key.into(), value.into());
        self
    }

    /// Sets `com.<key>` (e.g. `exposed_ports`).
    pub fn com(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.com.insert(key.into(), value.into());
        self
    }
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Event<'a> {
            ext: &'a Map<String, Value>,
            com: &'a Map<String, Value>,
        }
        Event {
            ext: &self.ext,
            com: &self.com,
        }
        .serialize(serializer)
    }
}

impl<T: Check> Event for T {
    fn eval(&mut self, record: &str, out: &mut Batch) -> Result<()> {
        let head = Head::parse(record)
            .map_err(|e| PluginError::failed(format!("{}: unreadable record: {e}", T::NAME)))?;
        let Some(record_type) = T::SELECT.matches(&head) else {
            return Ok(());
        };
        let selected = match serde_json::from_str::<T::Record<'_>>(record) {
            Ok(selected) => selected,
            Err(e) => {
                let reference = head.com.reference.as_deref().unwrap_or("none");
                log::warn!(
                    "Skipped a malformed {record_type} record (reference {reference}), error: {e}."
                );
                return Ok(());
            }
        };
        let mut findings = Findings::new();
        self.check(selected, &mut findings)?;
        let scope = head.ext.scope().unwrap_or(super::tally::NO_SCOPE);
        out.evaluated(T::NAME, scope, !findings.is_empty());
        for finding in &mut findings {
            finding.identify(T::SEVERITY);
            finding.set_check(T::NAME);
            out.push(&*finding)?;
        }
        Ok(())
    }
}

/// The identity of a finding (`com.finding_id`): 32 hex digits of the
/// 128-bit FNV-1a hash of its `record_type`, its `reference` (else its
/// `ext`) and its distinguishing values, each written as compact JSON with
/// sorted keys ([`canonical_json`]). Stable across runs, versions and
/// machines, and whatever order the keys came in.
pub fn finding_id(
    record_type: &str,
    reference: Option<&str>,
    ext: &Map<String, Value>,
    distinguished_by: &Map<String, Value>,
) -> String {
    let mut identity = Vec::with_capacity(160);
    identity.push(b'[');
    write_json_string(record_type, &mut identity);
    identity.push(b',');
    match reference {
        Some(reference) => write_json_string(reference, &mut identity),
        None => write_canonical_map(ext, &mut identity),
    }
    identity.push(b',');
    write_canonical_map(distinguished_by, &mut identity);
    identity.push(b']');
    format!("{:032x}", fnv1a_128(&identity))
}

/// `value` as compact JSON with every object's keys sorted: the same text
/// whether or not serde_json keeps insertion order (its `preserve_order`
/// feature, which another crate of a build may turn on).
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    String::from_utf8(out).expect("JSON text is UTF-8")
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => write_canonical_map(map, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("a JSON scalar serialises"),
    }
}

fn write_canonical_map(map: &Map<String, Value>, out: &mut Vec<u8>) {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_string(key, out);
        out.push(b':');
        write_canonical(value, out);
    }
    out.push(b'}');
}

fn write_json_string(text: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, text).expect("a string serialises");
}

/// FNV-1a, 128 bits: a fixed, documented hash (std's `DefaultHasher` may
/// change between Rust releases).
pub(crate) fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u128::from(*byte)).wrapping_mul(PRIME)
    })
}

/// The compliance test every check should pass (call it from the plugin's
/// unit tests): it raises events of `event_type` for `misconfigured`, none
/// for its `compliant` twin, and none for each of `others` (records of other
/// types or clouds). Panics with what went wrong; returns the events raised
/// for `misconfigured`, for further assertions.
pub fn assert_check<T: Check>(
    plugin: &mut T,
    event_type: &str,
    misconfigured: &serde_json::Value,
    compliant: &serde_json::Value,
    others: &[serde_json::Value],
) -> Vec<serde_json::Value> {
    let mut eval = |record: &serde_json::Value| -> Vec<serde_json::Value> {
        let mut out = Batch::with_capacity(usize::MAX);
        if let Err(e) = plugin.eval(&record.to_string(), &mut out) {
            panic!("{} failed on {record}: {e}", T::NAME);
        }
        out.records()
            .map(|r| serde_json::from_str(r).expect("events are JSON"))
            .collect()
    };
    let events = eval(misconfigured);
    assert!(
        !events.is_empty(),
        "{} raised nothing for the misconfigured {misconfigured}",
        T::NAME
    );
    for event in &events {
        for key in [com::RECORD_TYPE, com::DESCRIPTION, com::RECOMMENDATION] {
            let value = event[crate::record::COM][key].as_str().unwrap_or_default();
            assert!(
                !value.is_empty(),
                "{}: event without com.{key}: {event}",
                T::NAME
            );
        }
        assert_eq!(
            event[crate::record::COM][com::RECORD_TYPE],
            event_type,
            "{}: event type",
            T::NAME
        );
        assert_eq!(
            event[crate::record::EXT][com::RECORD_TYPE],
            event_type,
            "{}: ext.record_type is the event's type",
            T::NAME
        );
    }
    let twin = eval(compliant);
    assert!(
        twin.is_empty(),
        "{} raised {twin:?} for the compliant {compliant}",
        T::NAME
    );
    for other in others {
        let raised = eval(other);
        assert!(
            raised.is_empty(),
            "{} raised {raised:?} for {other}",
            T::NAME
        );
    }
    events
}

/// What a check says about one resource: `Some((description,
/// recommendation))` when something is wrong with it: what, and how to fix
/// it (a console path, a CLI command).
pub type Verdict = Option<(String, String)>;

/// A selected record as a check that keeps the record's `ext` in its events
/// reads it (upstream Cloudmarker's events do): its `ext`, kept whole, and
/// its `com` head.
#[derive(Deserialize)]
pub struct ExtRecord<'a> {
    #[serde(borrow)]
    ext: &'a RawValue,
    #[serde(borrow, default)]
    com: ComRef<'a>,
}

impl ExtRecord<'_> {
    /// Judges this record with `judge` over its `ext` read as `E` (and the
    /// record's `com.reference`, `(unknown)` when it has none), and adds
    /// the event of type `event` it raises, with the record's `ext`.
    pub fn raise<E: DeserializeOwned>(
        &self,
        event: &str,
        findings: &mut Findings,
        judge: impl FnOnce(&E, &str) -> Verdict,
    ) -> Result<()> {
        let ext: E = serde_json::from_str(self.ext.get())
            .map_err(|e| PluginError::failed(format!("unreadable ext: {e}")))?;
        let reference = self.com.reference.as_str().unwrap_or("(unknown)");
        if let Some((description, recommendation)) = judge(&ext, reference) {
            findings.push(
                Finding::new(event, description, recommendation)
                    .cloud_type(self.com.cloud_type.as_str())
                    .reference(self.com.reference.as_str())
                    .ext_from(Some(self.ext)),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Text;
    use serde_json::json;

    #[test]
    fn fnv1a_128_matches_the_published_test_vectors() {
        assert_eq!(fnv1a_128(b""), 0x6c62272e07bb014262b821756295c58d);
        assert_eq!(fnv1a_128(b"a"), 0xd228cb696f1a8caf78912b704e4a8964);
    }

    #[test]
    fn a_finding_id_depends_on_what_the_finding_is_about_only() {
        let identify = |f: Finding| {
            let mut f = f;
            f.identify(Severity::High);
            serde_json::to_value(&f).unwrap()["com"].clone()
        };
        let base = || Finding::new("e", "d".into(), "r".into()).reference(Some("/res/1"));
        let first = identify(base().ext("seen_at", 1));
        assert_eq!(first["finding_id"].as_str().unwrap().len(), 32);
        assert_eq!(first["severity"], "high");
        // The description and ext of a referenced resource may change.
        let reworded = identify(
            Finding::new("e", "other words".into(), "r".into())
                .reference(Some("/res/1"))
                .ext("seen_at", 2),
        );
        assert_eq!(first["finding_id"], reworded["finding_id"]);
        for different in [
            identify(Finding::new("f", "d".into(), "r".into()).reference(Some("/res/1"))),
            identify(base().reference(Some("/res/2"))),
            identify(base().distinguished_by("ports", json!([22]))),
        ] {
            assert_ne!(first["finding_id"], different["finding_id"]);
        }
        let ports = |p: Value| identify(base().distinguished_by("ports", p))["finding_id"].clone();
        assert_eq!(ports(json!([22])), ports(json!([22])));
        assert_ne!(ports(json!([22])), ports(json!([3389])));
        // Without a reference, the ext says what it is about.
        let unreferenced = |sub: &str| {
            identify(Finding::new("e", "d".into(), "r".into()).ext("subscription_id", sub))
                ["finding_id"]
                .clone()
        };
        assert_eq!(unreferenced("s1"), unreferenced("s1"));
        // Whatever order the keys came in.
        let ordered = |pairs: &[(&str, Value)]| {
            let ext: Map<String, Value> = pairs
                .iter()
                .cloned()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            finding_id("e", None, &ext, &Map::new())
        };
        assert_eq!(
            ordered(&[
                ("a", json!({"y": 1, "x": [2, {"q": 1, "p": 0}]})),
                ("b", json!("s"))
            ]),
            ordered(&[
                ("b", json!("s")),
                ("a", json!({"x": [2, {"p": 0, "q": 1}], "y": 1}))
            ])
        );
        assert_eq!(
            canonical_json(&json!({"b": [1, {"d": null, "c": "\u{e9}"}], "a": true})),
            "{\"a\":true,\"b\":[1,{\"c\":\"\u{e9}\",\"d\":null}]}"
        );
        assert_ne!(unreferenced("s1"), unreferenced("s2"));
        // An event's own severity wins over its check's.
        let own = identify(base().severity(Severity::Low));
        assert_eq!(own["severity"], "low");
    }

    struct Open;

    #[derive(Deserialize)]
    struct Rule<'a> {
        #[serde(borrow, default)]
        ext: Option<&'a RawValue>,
        com: RuleCom<'a>,
    }

    #[derive(Deserialize)]
    struct RuleCom<'a> {
        #[serde(borrow, default)]
        reference: Text<'a>,
        open: bool,
    }

    impl PluginType for Open {
        type Params = ();
        const NAME: &'static str = "openevent";
        const DESCRIPTION: &'static str = "test";
        fn new(_: ()) -> Result<Self> {
            Ok(Self)
        }
    }

    impl Check for Open {
        const SELECT: Select = Select::com(&["rule"]).in_cloud("azure");
        type Record<'a> = Rule<'a>;

        fn check(&mut self, rule: Rule<'_>, findings: &mut Findings) -> Result<()> {
            if rule.com.open {
                findings.push(
                    Finding::new("open_event", "open".into(), "close it".into())
                        .reference(rule.com.reference.as_str())
                        .cloud_type(Some("azure"))
                        .ext_from(rule.ext)
                        .com("ports", json!([22])),
                );
            }
            Ok(())
        }
    }

    fn eval(record: Value) -> Result<Vec<Value>> {
        let mut out = Batch::with_capacity(10);
        Open.eval(&record.to_string(), &mut out)?;
        Ok(out
            .records()
            .map(|r| serde_json::from_str(r).unwrap())
            .collect())
    }

    #[test]
    fn a_selected_record_raises_its_finding() {
        let events = eval(json!({"raw": {}, "ext": {"sub": "s1", "record_type": "rule"},
            "com": {"record_type": "rule", "cloud_type": "azure", "reference": "r1", "open": true}}))
        .unwrap();
        let id = finding_id("open_event", Some("r1"), &Map::new(), &Map::new());
        assert_eq!(
            events,
            [json!({
                "ext": {"sub": "s1", "record_type": "open_event"},
                "com": {"record_type": "open_event", "cloud_type": "azure", "reference": "r1",
                        "description": "open", "recommendation": "close it", "ports": [22],
                        "finding_id": id, "severity": "medium",
                        "check": "openevent"}
            })]
        );
    }

    #[test]
    fn the_compliance_check_passes_and_catches_a_silent_check() {
        let open = json!({"com": {"record_type": "rule", "cloud_type": "azure", "open": true}});
        let closed = json!({"com": {"record_type": "rule", "cloud_type": "azure", "open": false}});
        let gcp = json!({"com": {"record_type": "rule", "cloud_type": "gcp", "open": true}});
        let events = assert_check(&mut Open, "open_event", &open, &closed, &[gcp]);
        assert_eq!(events.len(), 1);
        let silent = std::panic::catch_unwind(|| {
            assert_check(&mut Open, "open_event", &closed, &closed, &[])
        });
        assert!(
            silent.is_err(),
            "a check that raises nothing fails the suite"
        );
    }

    #[test]
    fn other_records_and_malformed_ones_are_skipped() {
        let closed = json!({"com": {"record_type": "rule", "cloud_type": "azure", "open": false}});
        let other_cloud =
            json!({"com": {"record_type": "rule", "cloud_type": "gcp", "open": true}});
        let other_type =
            json!({"com": {"record_type": "nsg", "cloud_type": "azure", "open": "??"}});
        let malformed =
            json!({"com": {"record_type": "rule", "cloud_type": "azure", "open": "yes"}});
        for record in [closed, other_cloud, other_type, malformed] {
            assert_eq!(eval(record).unwrap(), Vec::<Value>::new());
        }
        let err = eval(json!([1])).unwrap_err();
        assert!(
            err.message.starts_with("openevent: unreadable record"),
            "{err}"
        );
    }
}
