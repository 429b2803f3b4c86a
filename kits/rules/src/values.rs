//! JSON to CEL values, lazily: a JSON object is an [`Obj`], its entries
//! located in the record text (key, value text) and converted only when an
//! expression reads them, with strings borrowed from the text (no copy
//! unless they have escapes); arrays are CEL lists of such values. A
//! record's buckets are read once, in the pass that locates them, and a
//! rule pays only for the fields it reads.

use cel::common::traits::{Container, Indexer, Iterable, Sizer};
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt, Kind,
    Type, MAP_TYPE,
};
use cel::common::value::{CowVal, Val};
use cel::ExecutionError;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// A CEL value that may borrow the record text for `'a`.
pub(crate) type Cel<'a> = Box<dyn Val + 'a>;

/// An empty map, for a bucket a record lacks.
pub(crate) fn empty<'a>() -> Cel<'a> {
    Box::new(CelMap::from(HashMap::new()))
}

/// The JSON text `raw` as a CEL value.
pub(crate) fn value(raw: &RawValue) -> Cel<'_> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    // The text is a JSON value serde_json has already read.
    Seed.deserialize(&mut de)
        .unwrap_or_else(|_| Box::new(CelNull))
}

/// A JSON value read as a CEL value, for a bucket read while the record is
/// located (`#[serde(borrow)]` keeps its strings borrowed).
pub(crate) struct Lazy<'a>(pub Cel<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for Lazy<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Seed.deserialize(d).map(Lazy)
    }
}

struct Seed;

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Cel<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed {
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
        while let Some(item) = seq.next_element_seed(Seed)? {
            items.push(item);
        }
        Ok(Box::new(CelList::from(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value: &'de RawValue = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Box::new(Obj::new(entries)))
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

/// A JSON object as a CEL map whose values are read when an expression
/// selects them (`o.f`, `o['f']`, `has(o.f)`, `'f' in o`, `size(o)` need
/// nothing else), each once (later reads, by this rule or another on the
/// same record, borrow it). Iterating it reads it all once, as a
/// [`CelMap`]. Copies (a comprehension's variable) share all of it.
///
/// It is not a `CelMap`, which shows in one place: `==` with a map literal
/// on the left (`{'a': 1} == raw.m`) is false, as a `CelMap` compares equal
/// only to another; write the record's value on the left (`raw.m == {'a':
/// 1}`), which compares by keys and values. Lists are `CelList`s.
pub(crate) struct Obj<'a> {
    inner: Arc<Inner<'a>>,
}

struct Inner<'a> {
    /// (key, value text), as located.
    entries: Vec<(Cow<'a, str>, &'a RawValue)>,
    /// The values read so far, by entry.
    values: Box<[OnceLock<Cel<'a>>]>,
    /// The whole map, once something needed it.
    full: OnceLock<CelMap<'a>>,
}

impl fmt::Debug for Obj<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.inner.entries.iter().map(|(k, v)| (k, v.get())))
            .finish()
    }
}

impl<'a> Obj<'a> {
    fn new(entries: Vec<(Cow<'a, str>, &'a RawValue)>) -> Self {
        let values = entries.iter().map(|_| OnceLock::new()).collect();
        Self {
            inner: Arc::new(Inner {
                entries,
                values,
                full: OnceLock::new(),
            }),
        }
    }
}

impl<'a> Inner<'a> {
    fn materialize(&self) -> CelMap<'a> {
        CelMap::from(
            self.entries
                .iter()
                .map(|(k, v)| (CelMapKey::String(CelString::from(k.clone())), value(v)))
                .collect::<HashMap<_, _>>(),
        )
    }

    fn full(&self) -> &CelMap<'a> {
        self.full.get_or_init(|| self.materialize())
    }

    /// The value of `key` (the last entry of that key, as serde_json keeps).
    fn get(&self, key: &str) -> Option<&(dyn Val + 'a)> {
        let i = self.entries.iter().rposition(|(k, _)| k == key)?;
        Some(
            self.values[i]
                .get_or_init(|| value(self.entries[i].1))
                .as_ref(),
        )
    }

    fn contains(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }
}

impl Val for Obj<'_> {
    fn get_type(&self) -> &Type {
        &MAP_TYPE
    }

    fn cel_type() -> &'static Type {
        &MAP_TYPE
    }

    fn as_container(&self) -> Option<&dyn Container> {
        Some(self)
    }

    fn as_indexer<'b, 'v>(&'b self) -> Option<&'b (dyn Indexer + 'v)>
    where
        Self: 'v,
    {
        Some(self)
    }

    fn as_iterable<'b, 'v>(&'b self) -> Option<&'b (dyn Iterable + 'v)>
    where
        Self: 'v,
    {
        self.inner.full().as_iterable()
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        Some(self)
    }

    /// Equal to a map (of any kind) with the same keys and equal values.
    fn equals(&self, other: &dyn Val) -> bool {
        let Some(indexer) = other.as_indexer() else {
            return false;
        };
        let inner = &self.inner;
        other.get_type().kind() == Kind::Map
            && other.as_sizer().map(|s| *s.size().inner()) == Some(*self.size().inner())
            && inner.entries.iter().all(|(key, _)| {
                let mine = inner.get(key);
                let theirs = indexer.get(&CelString::from(key.as_ref()));
                match (mine, theirs) {
                    (Some(mine), Ok(theirs)) => mine.equals(theirs.as_ref()),
                    _ => false,
                }
            })
    }

    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v>
    where
        Self: 'v,
    {
        Box::new(Obj {
            inner: self.inner.clone(),
        })
    }
}

impl Indexer for Obj<'_> {
    fn get<'b, 'v>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'v>, ExecutionError>
    where
        Self: 'v,
    {
        let key = idx
            .downcast_ref::<CelString>()
            .map(CelString::inner)
            .ok_or_else(|| ExecutionError::UnexpectedType {
                got: idx.get_type().name().to_owned(),
                want: "string".to_owned(),
            })?;
        match self.inner.get(key) {
            Some(value) => Ok(CowVal::Borrowed(value)),
            None => Err(ExecutionError::no_such_key(key)),
        }
    }

    fn steal<'v>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'v>, ExecutionError>
    where
        Self: 'v,
    {
        self.get(idx).map(CowVal::into_owned)
    }
}

impl Container for Obj<'_> {
    fn contains(&self, value: &dyn Val) -> Result<bool, ExecutionError> {
        Ok(value
            .downcast_ref::<CelString>()
            .is_some_and(|key| self.inner.contains(key.inner())))
    }
}

impl Sizer for Obj<'_> {
    fn size(&self) -> CelInt {
        let mut keys: Vec<&str> = self.inner.entries.iter().map(|(k, _)| k.as_ref()).collect();
        keys.sort_unstable();
        keys.dedup();
        CelInt::from(keys.len() as i64)
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

/// A CEL value as JSON (a placeholder's text, a finding's distinguishing
/// values); `null` for what JSON cannot hold.
pub(crate) fn to_json(value: &dyn Val) -> Value {
    if let Some(b) = value.downcast_ref::<CelBool>() {
        return Value::Bool(*b.inner());
    }
    if let Some(i) = value.downcast_ref::<CelInt>() {
        return Value::from(*i.inner());
    }
    if let Some(u) = value.downcast_ref::<CelUInt>() {
        return Value::from(*u.inner());
    }
    if let Some(f) = value.downcast_ref::<CelDouble>() {
        return serde_json::Number::from_f64(*f.inner()).map_or(Value::Null, Value::Number);
    }
    if let Some(s) = value.downcast_ref::<CelString>() {
        return Value::String(s.inner().to_owned());
    }
    let kind = value.get_type().kind();
    let items = || -> Vec<&dyn Val> {
        let mut items = Vec::new();
        if let Some(iterable) = value.as_iterable() {
            let mut iter = iterable.iter();
            while let Some(item) = iter.next() {
                items.push(item);
            }
        }
        items
    };
    match kind {
        Kind::List => Value::Array(items().into_iter().map(to_json).collect()),
        Kind::Map => {
            let Some(indexer) = value.as_indexer() else {
                return Value::Null;
            };
            let mut map = serde_json::Map::new();
            for key in items() {
                let name = match to_json(key) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let entry = indexer
                    .get(key)
                    .map_or(Value::Null, |v| to_json(v.as_ref()));
                map.insert(name, entry);
            }
            Value::Object(map)
        }
        _ => Value::Null,
    }
}

/// A placeholder's value as text: strings as they are, numbers and booleans
/// as written, `null` as `(unknown)`, lists and maps as JSON.
pub(crate) fn to_text(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str(crate::template::UNKNOWN),
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cel::{Context, Env};
    use serde_json::json;

    fn eval(text: &str, expr: &str) -> cel::ResolveResult {
        let env = Arc::new(Env::stdlib());
        let program = env.compile(expr).unwrap();
        let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
        let mut ctx = Context::with_env(env);
        ctx.add_variable_as_val("raw", value(&raw));
        program.execute(&ctx)
    }

    #[test]
    fn json_reads_as_cel_values() {
        let text = r#"{"s": "a\"b", "i": -3, "u": 18446744073709551615, "f": 1.5,
                       "b": true, "n": null, "l": [1, "x", {"k": 2}], "m": {"k": "v", "e": {}}}"#;
        for expr in [
            r#"raw.s == "a\"b""#,
            "raw.i == -3",
            "raw.u == 18446744073709551615u",
            "raw.f == 1.5",
            "raw.b",
            "raw.n == null",
            "raw.l[1] == 'x' && size(raw.l) == 3 && raw.l[2].k == 2",
            "raw.l.exists(x, type(x) == map && x.k == 2)",
            "raw.m.k == 'v' && raw['m']['k'] == 'v'",
            "has(raw.m) && !has(raw.zz) && 'k' in raw.m && !('q' in raw.m)",
            "size(raw) == 8 && size(raw.m) == 2",
            "raw.m == {'k': 'v', 'e': {}} && raw.m != {'k': 'v'} && raw.m == raw['m']",
            "raw.l == [1, 'x', {'k': 2}] && raw.l != [1, 'x', {'k': 3}]",
            "raw.m.all(k, k in ['k', 'e'])",
            "raw.m.e == {}",
            "raw.?zz.orValue(7) == 7 && raw.?m.k.orValue('') == 'v'",
        ] {
            assert_eq!(eval(text, expr), Ok(true.into()), "{expr}");
        }
        assert!(matches!(
            eval(text, "raw.zz"),
            Err(ExecutionError::NoSuchKey(_))
        ));
        let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
        let all = value(&raw);
        let json = to_json(all.as_ref());
        let expected: Value = serde_json::from_str(text).unwrap();
        assert_eq!(json, expected);
    }

    #[test]
    fn values_become_text() {
        let mut text = String::new();
        for value in [json!(null), json!(3), json!("x"), json!([1, "y"])] {
            to_text(&value, &mut text);
        }
        assert_eq!(text, "(unknown)3x[1,\"y\"]");
    }
}
