//! Stamping the `com` bucket of records as they pass through the host.
//!
//! A record is parsed only shallowly: its top-level buckets stay raw JSON
//! text and are copied through untouched; only the entries of `com` are
//! looked at. The stamped `com` is always written last, so the per-target
//! stamp on delivery is a splice before the closing `}}`, not a parse.

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// Key/value pairs the host writes into `com`, pre-serialized once.
#[derive(Debug, Clone)]
pub struct Stamp {
    keys: Vec<&'static str>,
    /// `"k1":"v1","k2":"v2"`
    fragment: String,
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
        }
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
            ("audit_key", audit_key),
            ("audit_version", audit_version),
            ("origin_key", plugin_key),
            ("origin_class", class),
            ("origin_worker", worker),
            ("origin_type", kind),
        ])
    }

    /// The `com` fields a consumer (store or alert worker) stamps.
    pub fn target(plugin_key: &str, class: &str, worker: &str, kind: &str) -> Self {
        Self::new(&[
            ("target_key", plugin_key),
            ("target_class", class),
            ("target_worker", worker),
            ("target_type", kind),
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
        let buckets = parse_object(record).map_err(|e| format!("not a JSON object record: {e}"))?;
        out.reserve(record.len() + self.fragment.len() + 16);
        out.push('{');
        let mut com = None;
        for (Key(key), value) in &buckets.0 {
            if key == "com" {
                com = Some(*value);
                continue;
            }
            push_json_string(out, key);
            out.push(':');
            out.push_str(value.get());
            out.push(',');
        }
        out.push_str("\"com\":{");
        if let Some(com) = com {
            let entries = parse_object(com.get())
                .map_err(|_| "its com bucket is not a JSON object".to_string())?;
            for (Key(key), value) in &entries.0 {
                if self.keys.contains(&key.as_ref()) || key.starts_with("target_") {
                    continue;
                }
                push_json_string(out, key);
                out.push(':');
                out.push_str(value.get());
                out.push(',');
            }
        }
        out.push_str(&self.fragment);
        out.push_str("}}");
        Ok(())
    }

    /// Appends to `out` a record that [`Stamp::apply`] produced (whose `com`
    /// is last and not empty) with this stamp added, without parsing it again.
    pub fn splice(&self, stamped: &str, out: &mut String) {
        let body = stamped.strip_suffix("}}").unwrap_or(stamped);
        out.reserve(stamped.len() + self.fragment.len() + 2);
        out.push_str(body);
        out.push(',');
        out.push_str(&self.fragment);
        out.push_str("}}");
    }
}

/// A `begin_audit`/`end_audit` marker record, shaped as [`Stamp::apply`] output.
pub fn marker(record_type: &str, audit_key: &str, audit_version: &str) -> String {
    let mut out = String::new();
    Stamp::new(&[
        ("record_type", record_type),
        ("audit_key", audit_key),
        ("audit_version", audit_version),
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
    serde_json::json!({"com": {
        "record_type": "end_audit",
        "audit_key": audit_key,
        "audit_version": audit_version,
        "interrupted": interrupted,
        "failed_workers": failed_workers,
    }})
    .to_string()
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
