//! Stamping the `com` bucket of records as they pass through the host.
//!
//! A record is parsed only shallowly: its top-level buckets stay raw JSON
//! text and are copied through untouched; only the entries of `com` are
//! looked at. The stamped `com` is always written last, so the per-target
//! stamp on delivery is a splice before the closing `}}`, not a parse.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
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

    /// Merges this stamp into the `com` of `record` (the stamp wins) and
    /// returns the new record text. Any `target_*` fields a producer set are
    /// dropped: targets are stamped on delivery.
    pub fn apply(&self, record: &str) -> Result<String, String> {
        let buckets = parse_object(record).map_err(|e| format!("not a JSON object record: {e}"))?;
        let mut out = String::with_capacity(record.len() + self.fragment.len() + 16);
        out.push('{');
        let mut com = None;
        for (key, value) in &buckets.0 {
            if key == "com" {
                com = Some(*value);
                continue;
            }
            push_json_string(&mut out, key);
            out.push(':');
            out.push_str(value.get());
            out.push(',');
        }
        out.push_str("\"com\":{");
        if let Some(com) = com {
            let entries = parse_object(com.get())
                .map_err(|_| "its com bucket is not a JSON object".to_string())?;
            for (key, value) in &entries.0 {
                if self.keys.contains(&key.as_str()) || key.starts_with("target_") {
                    continue;
                }
                push_json_string(&mut out, key);
                out.push(':');
                out.push_str(value.get());
                out.push(',');
            }
        }
        out.push_str(&self.fragment);
        out.push_str("}}");
        Ok(out)
    }

    /// Adds this stamp to a record that [`Stamp::apply`] produced (whose
    /// `com` is last and not empty) without parsing it again.
    pub fn splice(&self, stamped: &str) -> String {
        let body = stamped.strip_suffix("}}").unwrap_or(stamped);
        let mut out = String::with_capacity(stamped.len() + self.fragment.len() + 2);
        out.push_str(body);
        out.push(',');
        out.push_str(&self.fragment);
        out.push_str("}}");
        out
    }
}

/// A `begin_audit`/`end_audit` marker record, shaped as [`Stamp::apply`] output.
pub fn marker(record_type: &str, audit_key: &str, audit_version: &str) -> String {
    Stamp::new(&[
        ("record_type", record_type),
        ("audit_key", audit_key),
        ("audit_version", audit_version),
    ])
    .apply("{}")
    .expect("an empty object is a valid record")
}

/// The top-level entries of a JSON object, values left as raw text.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

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
        while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
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
        let stamped = origin().apply(record).unwrap();
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
        let stamped = origin().apply(r#"{"raw":{}}"#).unwrap();
        assert_eq!(parse(&stamped)["com"]["origin_type"], "cloud");
    }

    #[test]
    fn target_splice_equals_a_full_merge() {
        let stamped = origin()
            .apply(r#"{"raw":{"a":"}}"},"com":{"z":1}}"#)
            .unwrap();
        let target = Stamp::target("filestore", "filestore", "mockaudit_filestore", "store");
        let spliced = target.splice(&stamped);
        let merged = target.apply(&stamped).unwrap();
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
        let target = Stamp::target("fs", "filestore", "a_fs", "alert").splice(&m);
        assert_eq!(
            parse(&target),
            json!({"com": {"record_type": "begin_audit", "audit_key": "a", "audit_version": "v",
                           "target_key": "fs", "target_class": "filestore", "target_worker": "a_fs", "target_type": "alert"}})
        );
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(origin()
            .apply("[1,2]")
            .unwrap_err()
            .contains("not a JSON object record"));
        assert!(origin().apply("{\"raw\":1} trailing").is_err());
        assert!(origin()
            .apply(r#"{"com":5}"#)
            .unwrap_err()
            .contains("com bucket"));
    }

    #[test]
    fn special_characters_are_escaped() {
        let s = Stamp::new(&[("k", "a\"b\\c\n")]);
        let v = parse(&s.apply("{}").unwrap());
        assert_eq!(v["com"]["k"], "a\"b\\c\n");
    }
}
