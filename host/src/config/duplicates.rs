//! Keys set twice in one YAML mapping (`plugins: {a: ..., a: ...}`).
//!
//! Parsed into a `serde_json::Value`, the later of two equal keys silently
//! wins. The config's text is therefore read once more with a visitor that
//! records every key a mapping sets again, at any depth. The parser knows
//! where each key is but tells only through an error, so each repeated key
//! (and the key it repeats) is located by one more read that stops there.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

/// A key that a mapping sets more than once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The key path of the repeated key, e.g. `["plugins", "a"]`.
    pub path: Vec<String>,
    /// The line (1-based) where the key is repeated.
    pub line: Option<usize>,
    /// The line where the mapping first sets it.
    pub first_line: Option<usize>,
}

/// How many repeated keys are located in the text (two reads each); the
/// others are reported without their lines.
const MAX_LOCATED: usize = 20;

/// Every key that a mapping of YAML `text` sets again, in document order.
/// Text the parser refuses has none (its error is reported instead).
pub fn find(text: &str) -> Vec<Duplicate> {
    let repeated = match read(text, None) {
        Ok(scan) => scan.repeated,
        Err((scan, _)) => scan.repeated,
    };
    repeated
        .into_iter()
        .enumerate()
        .map(|(n, (index, first, path))| {
            let locate = |key| (n < MAX_LOCATED).then(|| line_of_key(text, key)).flatten();
            Duplicate {
                path,
                line: locate(index),
                first_line: locate(first),
            }
        })
        .collect()
}

/// The line of the `index`th key of `text` (counting every key of every
/// mapping in document order): a read that stops there with an error,
/// which the parser locates.
fn line_of_key(text: &str, index: usize) -> Option<usize> {
    match read(text, Some(index)) {
        Err((scan, error)) if scan.stopped => error.location().map(|l| l.line()),
        _ => None,
    }
}

/// Reads `text`, stopping at key `stop_at` if given.
fn read(text: &str, stop_at: Option<usize>) -> Result<Scan, (Scan, serde_norway::Error)> {
    let scan = RefCell::new(Scan {
        stop_at,
        ..Scan::default()
    });
    let root = Node {
        scan: &scan,
        path: &Path::Root,
    };
    let result = root.deserialize(serde_norway::Deserializer::from_str(text));
    let scan = scan.into_inner();
    match result {
        Ok(()) => Ok(scan),
        Err(error) => Err((scan, error)),
    }
}

/// What a read found.
#[derive(Debug, Default)]
struct Scan {
    /// The keys read so far.
    keys: usize,
    /// The key to stop at.
    stop_at: Option<usize>,
    /// Whether the read stopped there.
    stopped: bool,
    /// The repeated keys: the index of the repetition, the index of the
    /// key it repeats, its key path.
    repeated: Vec<(usize, usize, Vec<String>)>,
}

/// Where a node is, as a chain up to the root (built only for a repeated
/// key).
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn keys(&self) -> Vec<String> {
        let mut keys = match self {
            Path::Root => return Vec::new(),
            Path::Key(parent, _) | Path::Index(parent, _) => parent.keys(),
        };
        match self {
            Path::Root => {}
            Path::Key(_, key) => keys.push(key.to_string()),
            Path::Index(_, index) => keys.push(index.to_string()),
        }
        keys
    }
}

/// Any value: mappings are checked, lists searched, scalars skipped.
#[derive(Clone, Copy)]
struct Node<'a> {
    scan: &'a RefCell<Scan>,
    path: &'a Path<'a>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_i128<E>(self, _: i128) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u128<E>(self, _: u128) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        loop {
            let path = Path::Index(self.path, index);
            let element = Node {
                scan: self.scan,
                path: &path,
            };
            if seq.next_element_seed(element)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut first: HashMap<String, usize> = HashMap::new();
        while let Some((index, key)) = map.next_key_seed(Key(self.scan))? {
            let path = Path::Key(self.path, &key);
            match first.get(&key) {
                Some(&first) => {
                    let repeated = (index, first, path.keys());
                    self.scan.borrow_mut().repeated.push(repeated);
                }
                None => {
                    first.insert(key.clone(), index);
                }
            }
            map.next_value_seed(Node {
                scan: self.scan,
                path: &path,
            })?;
        }
        Ok(())
    }
}

/// A mapping's key, read as text as `serde_json::Value` reads it (so `1`
/// and `"1"` are the same key), with its index among all keys read.
struct Key<'a>(&'a RefCell<Scan>);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = (usize, String);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = (usize, String);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        let mut scan = self.0.borrow_mut();
        let index = scan.keys;
        scan.keys += 1;
        if scan.stop_at == Some(index) {
            scan.stopped = true;
            return Err(E::custom("stopped at this key"));
        }
        Ok((index, key.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, Option<usize>, Option<usize>)> {
        find(text)
            .into_iter()
            .map(|d| (d.path.join("."), d.line, d.first_line))
            .collect()
    }

    #[test]
    fn a_mapping_without_repeated_keys_has_none() {
        assert_eq!(found("a: 1\nb: {a: 1, b: [{a: 1}, {a: 2}]}\n"), []);
        assert_eq!(found(""), []);
        assert_eq!(found("- a\n- a\n"), []);
    }

    #[test]
    fn repeated_keys_are_found_at_every_depth_with_their_lines() {
        let text = "run: [a]\nplugins:\n  a: {plugin: x}\n  b: {plugin: y, plugin: z}\n  a:\n    plugin: w\naudits:\n  m:\n    - {k: 1}\n    - {k: 2, k: 3}\nrun: [b]\n";
        assert_eq!(
            found(text),
            [
                ("plugins.b.plugin".to_string(), Some(4), Some(4)),
                ("plugins.a".to_string(), Some(5), Some(3)),
                ("audits.m.1.k".to_string(), Some(10), Some(10)),
                ("run".to_string(), Some(11), Some(1)),
            ]
        );
    }

    #[test]
    fn keys_are_compared_as_text() {
        assert_eq!(
            found("1: a\n'1': b\n"),
            [("1".to_string(), Some(2), Some(1))]
        );
    }

    #[test]
    fn flow_mappings_on_several_lines_are_located() {
        assert_eq!(
            found("plugins: {\n  a: {plugin: x},\n  a: {plugin: y}\n}\n"),
            [("plugins.a".to_string(), Some(3), Some(2))]
        );
    }

    #[test]
    fn a_key_repeated_through_an_alias_is_found() {
        let text = "base: &b {x: 1, x: 2}\nother: *b\n";
        let found = found(text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0], ("base.x".to_string(), Some(1), Some(1)));
        assert_eq!(found[1].0, "other.x");
    }
}
