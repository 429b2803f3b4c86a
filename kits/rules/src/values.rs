//! JSON to CEL values: a record's buckets are read from their JSON text
//! straight into CEL values that borrow the text's strings (no
//! `serde_json::Value` in between, no copies of strings without escapes),
//! keeping only the top-level keys the rules read ([`Need`]).

use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt,
};
use cel::common::value::Val;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// A CEL value that may borrow the record text for `'a`.
pub(crate) type Cel<'a> = Box<dyn Val + 'a>;

/// Which top-level keys of a bucket the rules read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Need {
    /// These (`raw.name`, `has(raw.x)`, `raw["y"]`); none at all when empty.
    Keys(BTreeSet<String>),
    /// The whole bucket (used as a value: `size(raw)`, `raw[k]`).
    All,
}

impl Default for Need {
    fn default() -> Self {
        Self::Keys(BTreeSet::new())
    }
}

impl Need {
    pub fn add(&mut self, key: &str) {
        if let Self::Keys(keys) = self {
            keys.insert(key.to_owned());
        }
    }

    pub fn merge(&mut self, other: &Need) {
        match other {
            Need::All => *self = Need::All,
            Need::Keys(keys) => {
                for key in keys {
                    self.add(key);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Keys(keys) if keys.is_empty())
    }
}

/// What the rules read of each bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    pub raw: Need,
    pub ext: Need,
    pub com: Need,
}

impl Needs {
    pub fn merge(&mut self, other: &Needs) {
        self.raw.merge(&other.raw);
        self.ext.merge(&other.ext);
        self.com.merge(&other.com);
    }

    pub fn bucket(&mut self, name: &str) -> Option<&mut Need> {
        match name {
            "raw" => Some(&mut self.raw),
            "ext" => Some(&mut self.ext),
            "com" => Some(&mut self.com),
            _ => None,
        }
    }
}

/// An empty map, for a bucket the rules do not read or the record lacks.
pub(crate) fn empty<'a>() -> Cel<'a> {
    Box::new(CelMap::from(HashMap::new()))
}

/// The bucket `text` (JSON) as a CEL value, with only the top-level keys
/// `need` names when it is an object.
pub(crate) fn bucket<'a>(text: &'a str, need: &Need) -> Result<Cel<'a>, serde_json::Error> {
    if need.is_empty() {
        return Ok(empty());
    }
    let keys = match need {
        Need::All => None,
        Need::Keys(keys) => Some(keys),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Seed { keys }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

struct Seed<'k> {
    keys: Option<&'k BTreeSet<String>>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Cel<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Cel<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Box::new(CelBool::from(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Box::new(CelInt::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(match i64::try_from(v) {
            Ok(v) => Box::new(CelInt::from(v)),
            Err(_) => Box::new(CelUInt::from(v)),
        })
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Box::new(CelDouble::from(v)))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Box::new(CelString::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Box::new(CelString::from(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Box::new(CelString::from(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Box::new(CelNull))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Box::new(CelNull))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Seed { keys: None })? {
            items.push(item);
        }
        Ok(Box::new(CelList::from(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries: HashMap<CelMapKey<'de>, Cel<'de>> = HashMap::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if self.keys.is_some_and(|keys| !keys.contains(key.as_ref())) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = map.next_value_seed(Seed { keys: None })?;
            entries.insert(CelMapKey::String(CelString::from(key)), value);
        }
        Ok(Box::new(CelMap::from(entries)))
    }
}

/// A map key, borrowed from the text unless it has escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// An owned JSON value as a CEL value (params).
pub(crate) fn owned(value: &Value) -> Cel<'static> {
    match value {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Box::new(CelInt::from(i)),
            (None, Some(u), _) => Box::new(CelUInt::from(u)),
            (_, _, f) => Box::new(CelDouble::from(f.unwrap_or(f64::NAN))),
        },
        Value::String(s) => Box::new(CelString::from(s.clone())),
        Value::Array(items) => Box::new(CelList::from(
            items.iter().map(owned).collect::<Vec<Cel<'static>>>(),
        )),
        Value::Object(map) => Box::new(CelMap::from(
            map.iter()
                .map(|(k, v)| (CelMapKey::String(CelString::from(k.clone())), owned(v)))
                .collect::<HashMap<_, _>>(),
        )),
    }
}

/// A CEL result as JSON (a finding's distinguishing values); `null` for
/// what JSON cannot hold.
pub(crate) fn to_json(value: &cel::Value) -> Value {
    value.json().unwrap_or(Value::Null)
}

/// A CEL result as template text: strings as they are, numbers and
/// booleans as written, `null` as `(unknown)`, lists and maps as JSON.
pub(crate) fn to_text(value: &cel::Value, out: &mut String) {
    use std::fmt::Write;
    match value {
        cel::Value::String(s) => out.push_str(s),
        cel::Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        cel::Value::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        cel::Value::Float(f) => {
            let _ = write!(out, "{f}");
        }
        cel::Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        cel::Value::Null => out.push_str(crate::template::UNKNOWN),
        other => match other.json() {
            Ok(json) => {
                let _ = write!(out, "{json}");
            }
            Err(_) => {
                let _ = write!(out, "{other:?}");
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cel::{Context, Env};
    use std::sync::Arc;

    fn eval(text: &str, need: &Need, expr: &str) -> cel::ResolveResult {
        let env = Arc::new(Env::stdlib());
        let program = env.compile(expr).unwrap();
        let raw = bucket(text, need).unwrap();
        let mut ctx = Context::with_env(env);
        ctx.add_variable_as_val("raw", raw);
        program.execute(&ctx)
    }

    #[test]
    fn json_reads_as_cel_values() {
        let text = r#"{"s": "a\"b", "i": -3, "u": 18446744073709551615, "f": 1.5,
                       "b": true, "n": null, "l": [1, "x"], "m": {"k": "v"}}"#;
        for expr in [
            r#"raw.s == "a\"b""#,
            "raw.i == -3",
            "raw.u == 18446744073709551615u",
            "raw.f == 1.5",
            "raw.b",
            "raw.n == null",
            "raw.l[1] == 'x' && size(raw.l) == 2",
            "raw.m.k == 'v'",
            "has(raw.m) && !has(raw.zz)",
        ] {
            assert_eq!(eval(text, &Need::All, expr), Ok(true.into()), "{expr}");
        }
    }

    #[test]
    fn only_the_needed_keys_are_read() {
        let need = Need::Keys(["a".to_string()].into());
        assert_eq!(
            eval(r#"{"a": 1, "b": {"deep": [1,2]}}"#, &need, "size(raw)"),
            Ok(1.into())
        );
        assert_eq!(
            eval(r#"{"a": 1}"#, &Need::default(), "size(raw)"),
            Ok(0.into())
        );
    }

    #[test]
    fn results_become_json_and_text() {
        let value: cel::Value = vec![cel::Value::Int(22), cel::Value::from("x")].into();
        assert_eq!(to_json(&value), serde_json::json!([22, "x"]));
        let mut text = String::new();
        to_text(&cel::Value::Null, &mut text);
        to_text(&cel::Value::Int(3), &mut text);
        assert_eq!(text, "(unknown)3");
    }
}
