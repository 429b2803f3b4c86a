//! Stamping the `com` bucket of records as they pass through the host.
//!
//! A record is parsed only shallowly: its top-level buckets stay raw JSON
//! text and are copied through untouched; only the entries of `com` are
//! looked at. The stamped `com` is always written last, so the per-target
//! stamp on delivery is a splice before the closing `}}`, not a parse.

use cloudmarker_plugin_api::record::{com, COM, END_AUDIT};
use cloudmarker_plugin_api::sdk::tally::CHECK_SUMMARY;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::sync::Arc;

/// Key/value pairs the host writes into `com`, pre-serialized once.
#[derive(Debug, Clone)]
pub struct Stamp {
    keys: Vec<&'static str>,
    /// `"k1":"v1","k2":"v2"`
    fragment: String,
    /// An event stamp's `com.compliance`, by the event's `com.check`.
    compliance: Option<Arc<crate::compliance::Index>>,
}

/// What [`Stamp::apply`] notes of a record's `com` for its
/// `com.compliance`: the check, the cloud, whether it is a check summary,
/// and where the plugin's own `compliance` entry is in the kept entries.
#[derive(Debug, Default)]
struct ComFacts {
    check: Option<String>,
    cloud_type: Option<String>,
    summary: bool,
    compliance: Option<(usize, usize)>,
}

/// A JSON string value's text (none for other values).
fn json_text(value: &RawValue) -> Option<String> {
    let text = value.get();
    if !text.starts_with('"') {
        return None;
    }
    match text[1..text.len() - 1].contains('\\') {
        false => Some(text[1..text.len() - 1].to_string()),
        true => serde_json::from_str(text).ok(),
    }
}

impl Stamp {
    /// A stamp of string fields.
    pub fn new(fields: &[(&'static str, &str)]) -> Self {
        let mut fragment = String::new();
        for (i, (key, value)) in fields.iter().enumerate() {
            if i > 0 {
                fragment.push(',');
            }
            push_json_string(&mut fragment, key);
            fragment.push(':');
            push_json_string(&mut fragment, value);
        }
        Self {
            keys: fields.iter().map(|(k, _)| *k).collect(),
            fragment,
            compliance: None,
        }
    }

    /// The same stamp, which also sets `com.compliance` of every event
    /// that names its check (`com.check`) from the benchmark frameworks
    /// (see [`crate::compliance::Index`]), replacing what the plugin sent.
    /// Check summaries and events that name no check are left as they are.
    pub fn with_compliance(mut self, index: Arc<crate::compliance::Index>) -> Self {
        self.compliance = Some(index);
        self
    }

    /// The same stamp with one more string field.
    pub fn with(self, key: &'static str, value: &str) -> Self {
        let mut text = String::new();
        push_json_string(&mut text, value);
        self.with_json(key, &text)
    }

    /// The same stamp with one more field, `json` being its value as JSON
    /// text (a number, an object).
    pub fn with_json(mut self, key: &'static str, json: &str) -> Self {
        if !self.fragment.is_empty() {
            self.fragment.push(',');
        }
        push_json_string(&mut self.fragment, key);
        self.fragment.push(':');
        self.fragment.push_str(json);
        self.keys.push(key);
        self
    }

    /// The `com` fields a producer (cloud or event worker) stamps.
    pub fn origin(
        audit_key: &str,
        audit_version: &str,
        plugin_key: &str,
        class: &str,
        worker: &str,
        kind: &str,
    ) -> Self {
        Self::new(&[
            (com::AUDIT_KEY, audit_key),
            (com::AUDIT_VERSION, audit_version),
            (com::ORIGIN_KEY, plugin_key),
            (com::ORIGIN_CLASS, class),
            (com::ORIGIN_WORKER, worker),
            (com::ORIGIN_TYPE, kind),
        ])
    }

    /// The `com` fields a consumer (store or alert worker) stamps.
    pub fn target(plugin_key: &str, class: &str, worker: &str, kind: &str) -> Self {
        Self::new(&[
            (com::TARGET_KEY, plugin_key),
            (com::TARGET_CLASS, class),
            (com::TARGET_WORKER, worker),
            (com::TARGET_TYPE, kind),
        ])
    }

    /// About how many bytes this stamp adds to a record.
    pub fn overhead(&self) -> usize {
        self.fragment.len() + 16
    }

    /// Merges this stamp into the `com` of `record` (the stamp wins) and
    /// appends the new record text to `out`. Any `target_*` fields a producer
    /// set are dropped: targets are stamped on delivery. On error `out` may
    /// hold part of a record; [`RecordBatch::push`] discards it.
    pub fn apply(&self, record: &str, out: &mut String) -> Result<(), String> {
        // One pass over the record: other buckets are copied to `out` as
        // they come, the kept `com` entries gather in a scratch buffer that
        // is written last.
        thread_local! {
            static COM: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        COM.with(|com| {
            let mut com = com.borrow_mut();
            com.clear();
            out.reserve(record.len() + self.fragment.len() + 16);
            out.push('{');
            let mut de = serde_json::Deserializer::from_str(record);
            let mut facts = ComFacts::default();
            let visitor = Buckets {
                stamp: self,
                out: &mut *out,
                com: &mut com,
                facts: &mut facts,
            };
            de.deserialize_map(visitor)
                .and_then(|()| de.end())
                .map_err(|e| match e.to_string() {
                    m if m.contains(COM_NOT_AN_OBJECT) => COM_NOT_AN_OBJECT.to_string(),
                    m => format!("not a JSON object record: {m}"),
                })?;
            if let (Some(index), Some(check), false) =
                (&self.compliance, &facts.check, facts.summary)
            {
                if let Some((start, end)) = facts.compliance {
                    com.replace_range(start..end, "");
                }
                push_json_string(&mut com, com::COMPLIANCE);
                com.push(':');
                com.push_str(index.json(check, facts.cloud_type.as_deref()));
                com.push(',');
            }
            out.push_str("\"com\":{");
            out.push_str(&com);
            out.push_str(&self.fragment);
            out.push_str("}}");
            Ok(())
        })
    }

    /// Appends to `out` a record that [`Stamp::apply`] produced with this
    /// stamp added, without parsing it again.
    ///
    /// The rule that makes this a plain splice: `apply` writes `com` last and
    /// never empty (it holds at least the producer's stamp), and it drops
    /// every `target_*` key, so adding the target stamp before the closing
    /// `}}` gives exactly what a full merge would. Debug builds check the
    /// shape; a property test in this module compares the two on generated
    /// records.
    pub fn splice(&self, stamped: &str, out: &mut String) {
        debug_assert!(
            spliceable(stamped),
            "splice needs a record shaped by Stamp::apply: {stamped}"
        );
        let body = stamped.strip_suffix("}}").unwrap_or(stamped);
        out.reserve(stamped.len() + self.fragment.len() + 2);
        out.push_str(body);
        out.push(',');
        out.push_str(&self.fragment);
        out.push_str("}}");
    }
}

/// Whether `stamped` ends with a non-empty `com` object as its last entry,
/// holding no `target_*` key (what [`Stamp::splice`] relies on).
fn spliceable(stamped: &str) -> bool {
    let Ok(Entries(buckets)) = parse_object(stamped) else {
        return false;
    };
    let Some((Key(last), value)) = buckets.last() else {
        return false;
    };
    let com = match parse_object(value.get()) {
        Ok(Entries(entries)) => entries,
        Err(_) => return false,
    };
    last == COM
        && !com.is_empty()
        && com
            .iter()
            .all(|(Key(k), _)| !k.starts_with(com::TARGET_PREFIX))
        && stamped.ends_with("}}")
}

/// A `begin_audit`/`end_audit` marker record, shaped as [`Stamp::apply`] output.
pub fn marker(record_type: &str, audit_key: &str, audit_version: &str) -> String {
    let mut out = String::new();
    Stamp::new(&[
        (com::RECORD_TYPE, record_type),
        (com::AUDIT_KEY, audit_key),
        (com::AUDIT_VERSION, audit_version),
    ])
    .apply("{}", &mut out)
    .expect("an empty object is a valid record");
    out
}

/// The `end_audit` marker: also says whether the run was interrupted and
/// which producing workers failed, so that stores can tell a complete output
/// from a partial one.
pub fn end_marker(
    audit_key: &str,
    audit_version: &str,
    interrupted: bool,
    failed_workers: &[&str],
) -> String {
    let mut com = serde_json::Map::new();
    com.insert(com::RECORD_TYPE.into(), END_AUDIT.into());
    com.insert(com::AUDIT_KEY.into(), audit_key.into());
    com.insert(com::AUDIT_VERSION.into(), audit_version.into());
    com.insert(com::INTERRUPTED.into(), interrupted.into());
    com.insert(com::FAILED_WORKERS.into(), failed_workers.into());
    serde_json::json!({ COM: com }).to_string()
}

/// Records stored back to back in one buffer: one allocation per batch
/// instead of one per record.
#[derive(Debug, Default, Clone)]
pub struct RecordBatch {
    text: String,
    ends: Vec<usize>,
}

impl RecordBatch {
    /// An empty batch with room for `records` records of `bytes` bytes in all.
    pub fn with_capacity(records: usize, bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(records),
        }
    }

    /// Adds the record that `write` appends to the buffer; if `write` fails,
    /// whatever it appended is discarded.
    pub fn push<E>(&mut self, write: impl FnOnce(&mut String) -> Result<(), E>) -> Result<(), E> {
        let start = self.text.len();
        match write(&mut self.text) {
            Ok(()) => {
                self.ends.push(self.text.len());
                Ok(())
            }
            Err(e) => {
                self.text.truncate(start);
                Err(e)
            }
        }
    }

    /// The records in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.ends.len()).map(move |i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            &self.text[start..self.ends[i]]
        })
    }

    /// How many records there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// The error of a record whose `com` is not an object.
const COM_NOT_AN_OBJECT: &str = "its com bucket is not a JSON object";

/// [`Stamp::apply`]'s pass over a record's buckets.
struct Buckets<'s, 'o> {
    stamp: &'s Stamp,
    out: &'o mut String,
    com: &'o mut String,
    facts: &'o mut ComFacts,
}

impl<'de> Visitor<'de> for Buckets<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == COM {
                // A repeated com replaces the earlier one, as a parser would.
                self.com.clear();
                *self.facts = ComFacts::default();
                map.next_value_seed(ComEntries {
                    stamp: self.stamp,
                    com: &mut *self.com,
                    facts: &mut *self.facts,
                })?;
                continue;
            }
            let value: &RawValue = map.next_value()?;
            push_json_string(self.out, &key);
            self.out.push(':');
            self.out.push_str(value.get());
            self.out.push(',');
        }
        Ok(())
    }
}

/// The entries of a record's `com` that the stamp keeps, each followed by
/// a comma; the producer's `target_*` keys and the stamp's own keys go.
struct ComEntries<'s, 'o> {
    stamp: &'s Stamp,
    com: &'o mut String,
    facts: &'o mut ComFacts,
}

impl<'de> de::DeserializeSeed<'de> for ComEntries<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ComEntries<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(COM_NOT_AN_OBJECT)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let value: &RawValue = map.next_value()?;
            if self.stamp.keys.contains(&key.as_ref()) || key.starts_with(com::TARGET_PREFIX) {
                continue;
            }
            let start = self.com.len();
            push_json_string(self.com, &key);
            self.com.push(':');
            self.com.push_str(value.get());
            self.com.push(',');
            if self.stamp.compliance.is_some() {
                match key.as_ref() {
                    com::CHECK => self.facts.check = json_text(value),
                    com::CLOUD_TYPE => self.facts.cloud_type = json_text(value),
                    com::RECORD_TYPE => {
                        self.facts.summary = value
                            .get()
                            .strip_prefix('"')
                            .and_then(|v| v.strip_suffix('"'))
                            == Some(CHECK_SUMMARY)
                    }
                    com::COMPLIANCE => self.facts.compliance = Some((start, self.com.len())),
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// The top-level entries of a JSON object, values left as raw text.
struct Entries<'a>(Vec<(Key<'a>, &'a RawValue)>);

/// An object key, borrowed from the text unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

fn parse_object(text: &str) -> Result<Entries<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let entries = de.deserialize_map(EntriesVisitor)?;
    de.end()?;
    Ok(entries)
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(4));
        while let Some((key, value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
            entries.push((key, value));
        }
        Ok(Entries(entries))
    }
}

fn push_json_string(out: &mut String, s: &str) {
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f)
    {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        let _ = write!(out, "{}", serde_json::Value::from(s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    fn apply(stamp: &Stamp, record: &str) -> Result<String, String> {
        let mut out = String::new();
        stamp.apply(record, &mut out).map(|()| out)
    }

    fn splice(stamp: &Stamp, record: &str) -> String {
        let mut out = String::new();
        stamp.splice(record, &mut out);
        out
    }

    fn origin() -> Stamp {
        Stamp::origin(
            "mockaudit",
            "20260101_000000",
            "mockcloud",
            "mockcloud",
            "mockaudit_mockcloud",
            "cloud",
        )
    }

    #[test]
    fn origin_stamp_merges_over_the_plugins_com() {
        let record = r#"{"raw":{"data":1,"nested":{"k":[1,2]}},"ext":{"x":"y"},"com":{"cloud_type":"mock","audit_key":"forged","target_key":"forged"}}"#;
        let stamped = apply(&origin(), record).unwrap();
        assert_eq!(
            parse(&stamped),
            json!({
                "raw": {"data": 1, "nested": {"k": [1, 2]}},
                "ext": {"x": "y"},
                "com": {"cloud_type": "mock", "audit_key": "mockaudit", "audit_version": "20260101_000000",
                        "origin_key": "mockcloud", "origin_class": "mockcloud",
                        "origin_worker": "mockaudit_mockcloud", "origin_type": "cloud"}
            })
        );
        assert!(
            stamped.starts_with(r#"{"raw":{"data":1,"nested":{"k":[1,2]}},"ext":{"x":"y"},"#),
            "buckets are copied verbatim: {stamped}"
        );
    }

    #[test]
    fn an_event_s_compliance_comes_from_the_frameworks_that_map_its_check() {
        let text = "framework: {id: az_1, name: T, version: \"1\", provider: azure}\nrequirements:\n  - {id: \"7.1\", section: \"7 N\", title: T, level: 1, automated: true, checks: [fw]}\n";
        let mut frameworks = rules::framework::Frameworks::new();
        frameworks
            .insert(rules::framework::parse(std::path::Path::new("az_1.yaml"), text).unwrap());
        let text = text
            .replace("az_1", "gc_1")
            .replace("azure", "gcp")
            .replace("[fw]", "[other]");
        frameworks
            .insert(rules::framework::parse(std::path::Path::new("gc_1.yaml"), &text).unwrap());
        let index = Arc::new(crate::compliance::Index::new(&frameworks));
        let stamp = Stamp::new(&[(com::ORIGIN_TYPE, "event")]).with_compliance(index);
        let com_of = |record: &str| parse(&apply(&stamp, record).unwrap())["com"].clone();
        // The plugin's own list is replaced, wherever it is in com.
        let event = r#"{"ext":{},"com":{"compliance":["CIS 1.3.0 6.2"],"cloud_type":"azure","check":"fw"}}"#;
        assert_eq!(
            com_of(event),
            json!({"cloud_type": "azure", "check": "fw", "compliance": ["az_1 7.1"], "origin_type": "event"})
        );
        let event = r#"{"com":{"check":"fw","cloud_type":"gcp","compliance":["x"]}}"#;
        assert_eq!(
            com_of(event)["compliance"],
            json!([]),
            "no GCP framework maps it"
        );
        let event = r#"{"com":{"check":"other","compliance":["x"]}}"#;
        assert_eq!(com_of(event)["compliance"], json!(["gc_1 7.1"]));
        let event = r#"{"com":{"check":"unmapped","cloud_type":"azure","compliance":["x"]}}"#;
        assert_eq!(com_of(event)["compliance"], json!([]));
        // No check named, or a check summary: left as they are.
        let event = r#"{"com":{"compliance":["x"]}}"#;
        assert_eq!(com_of(event)["compliance"], json!(["x"]));
        let summary = r#"{"ext":{"record_type":"check_summary"},"com":{"record_type":"check_summary","check":"fw"}}"#;
        assert!(com_of(summary).get("compliance").is_none());
        // A stamp without the index leaves compliance alone.
        let event = r#"{"com":{"check":"fw","compliance":["x"]}}"#;
        assert_eq!(
            parse(&apply(&origin(), event).unwrap())["com"]["compliance"],
            json!(["x"])
        );
    }

    #[test]
    fn records_without_com_get_one() {
        let stamped = apply(&origin(), r#"{"raw":{}}"#).unwrap();
        assert_eq!(parse(&stamped)["com"]["origin_type"], "cloud");
    }

    #[test]
    fn target_splice_equals_a_full_merge() {
        let stamped = apply(&origin(), r#"{"raw":{"a":"}}"},"com":{"z":1}}"#).unwrap();
        let target = Stamp::target("filestore", "filestore", "mockaudit_filestore", "store");
        let spliced = splice(&target, &stamped);
        let merged = apply(&target, &stamped).unwrap();
        assert_eq!(parse(&spliced), parse(&merged));
        assert_eq!(parse(&spliced)["com"]["target_type"], "store");
        assert_eq!(
            parse(&spliced)["com"]["origin_worker"],
            "mockaudit_mockcloud"
        );
    }

    /// A small deterministic generator (xorshift) for the property test.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }

        fn text(&mut self) -> String {
            const PIECES: [&str; 10] = [
                "a",
                "}}",
                "\"",
                "\\",
                "com",
                "target_key",
                "é",
                "\n",
                "{",
                "]",
            ];
            (0..self.next(4))
                .map(|_| PIECES[self.next(PIECES.len() as u64) as usize])
                .collect()
        }

        fn value(&mut self, depth: u32) -> Value {
            match (self.next(if depth > 2 { 4 } else { 6 }), depth) {
                (0, _) => Value::Null,
                (1, _) => json!(self.next(1000)),
                (2, _) => json!(self.text()),
                (3, _) => json!(self.next(2) == 1),
                (4, _) => Value::Array((0..self.next(3)).map(|_| self.value(depth + 1)).collect()),
                _ => {
                    let mut map = serde_json::Map::new();
                    for _ in 0..self.next(4) {
                        let key = self.text();
                        map.insert(key, self.value(depth + 1));
                    }
                    Value::Object(map)
                }
            }
        }

        /// A `com` with some of the keys the host stamps, some `target_*`
        /// keys a producer may forge, and others.
        fn com(&mut self) -> Value {
            const KEYS: [&str; 8] = [
                "audit_key",
                "origin_worker",
                "target_key",
                "target_other",
                "cloud_type",
                "record_type",
                "reference",
                "x",
            ];
            let mut map = serde_json::Map::new();
            for _ in 0..self.next(5) {
                let key = KEYS[self.next(KEYS.len() as u64) as usize];
                map.insert(key.to_string(), self.value(1));
            }
            Value::Object(map)
        }
    }

    /// What the two stamps must give: `com` merged key by key, the host's
    /// stamps winning, a producer's `target_*` keys dropped.
    fn full_merge(record: &Value, stamps: &[&[(&str, &str)]]) -> Value {
        let mut merged = record.clone();
        let object = merged.as_object_mut().unwrap();
        let mut com = object
            .remove("com")
            .and_then(|c| c.as_object().cloned())
            .unwrap_or_default();
        com.retain(|k, _| !k.starts_with("target_"));
        for stamp in stamps {
            for (k, v) in *stamp {
                com.insert(k.to_string(), json!(v));
            }
        }
        object.insert("com".into(), Value::Object(com));
        merged
    }

    #[test]
    fn splice_equals_a_full_merge_on_generated_records() {
        let origin_fields = [
            ("audit_key", "a\"udit"),
            ("audit_version", "v"),
            ("origin_key", "k"),
            ("origin_class", "C"),
            ("origin_worker", "a_k"),
            ("origin_type", "cloud"),
        ];
        let target_fields = [
            ("target_key", "fs"),
            ("target_class", "filestore"),
            ("target_worker", "a_fs"),
            ("target_type", "store"),
        ];
        let origin = Stamp::new(&origin_fields);
        let target = Stamp::new(&target_fields);
        let mut gen = Gen(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2000 {
            let mut record = serde_json::Map::new();
            for bucket in ["raw", "ext", "com", "extra"] {
                if gen.next(4) > 0 {
                    let value = if bucket == "com" {
                        gen.com()
                    } else {
                        gen.value(0)
                    };
                    record.insert(bucket.into(), value);
                }
            }
            if record.get("com").is_some_and(|c| !c.is_object()) {
                record.remove("com");
            }
            let record = Value::Object(record);
            let stamped = apply(&origin, &record.to_string()).unwrap();
            assert!(spliceable(&stamped), "{stamped}");
            let spliced = splice(&target, &stamped);
            assert_eq!(
                parse(&spliced),
                full_merge(&record, &[&origin_fields, &target_fields]),
                "record {record}"
            );
        }
    }

    #[test]
    fn markers_take_target_stamps() {
        let m = marker("begin_audit", "a", "v");
        let target = splice(&Stamp::target("fs", "filestore", "a_fs", "alert"), &m);
        assert_eq!(
            parse(&target),
            json!({"com": {"record_type": "begin_audit", "audit_key": "a", "audit_version": "v",
                           "target_key": "fs", "target_class": "filestore", "target_worker": "a_fs", "target_type": "alert"}})
        );
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(apply(&origin(), "[1,2]")
            .unwrap_err()
            .contains("not a JSON object record"));
        assert!(apply(&origin(), "{\"raw\":1} trailing").is_err());
        assert!(apply(&origin(), r#"{"com":5}"#)
            .unwrap_err()
            .contains("com bucket"));
    }

    #[test]
    fn special_characters_are_escaped() {
        let s = Stamp::new(&[("k", "a\"b\\c\n")]);
        let v = parse(&apply(&s, "{}").unwrap());
        assert_eq!(v["com"]["k"], "a\"b\\c\n");
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    #[test]
    fn batch_keeps_records_apart_and_drops_failed_ones() {
        let mut batch = RecordBatch::default();
        batch
            .push(|s| {
                s.push_str("{\"a\":1}");
                Ok::<_, ()>(())
            })
            .unwrap();
        assert!(batch
            .push(|s| {
                s.push_str("{\"half");
                Err(())
            })
            .is_err());
        batch
            .push(|s| {
                s.push_str("{}");
                Ok::<_, ()>(())
            })
            .unwrap();
        assert_eq!(batch.iter().collect::<Vec<_>>(), ["{\"a\":1}", "{}"]);
        assert_eq!(batch.len(), 2);
    }

    #[test]
    fn escaped_keys_are_read() {
        let stamp = Stamp::new(&[("k", "v")]);
        let mut out = String::new();
        stamp
            .apply(r#"{"r\u0061w":1,"com":{"c\u006f":2}}"#, &mut out)
            .unwrap();
        assert_eq!(out, r#"{"raw":1,"com":{"co":2,"k":"v"}}"#);
    }
}
