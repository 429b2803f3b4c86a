//! The parts of a record this plugin reads. A record is parsed once into
//! these views; `raw` is skipped unparsed and `ext` is kept as text until an
//! event needs it.

use super::ports::RulePorts;
use serde::de::Visitor;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A record, with `com` read as a firewall rule.
#[derive(Deserialize)]
pub struct RecordView<'a> {
    #[serde(borrow, default)]
    pub ext: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub com: Option<RuleCom<'a>>,
}

/// The common-model fields of a firewall rule. Every field is optional, so
/// any `com` object of another record type reads too; only a value of the
/// wrong type fails.
#[derive(Deserialize)]
pub struct RuleCom<'a> {
    #[serde(borrow, default)]
    pub record_type: Option<Text<'a>>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(borrow, default)]
    pub direction: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub access: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub protocol: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub source_addresses: Option<Vec<Text<'a>>>,
    #[serde(default)]
    pub destination_ports: Option<RulePorts>,
    #[serde(borrow, default)]
    pub cloud_type: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub reference: Option<Text<'a>>,
}

/// A JSON string, borrowed from the record text unless it has escapes.
/// (serde borrows a `Cow<str>` only when it is the field's whole type, not
/// inside an `Option` or a `Vec`.)
#[derive(Debug, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl Text<'_> {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Cow<'de, str>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }

            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
        }

        deserializer.deserialize_str(TextVisitor).map(Text)
    }
}

/// Whether `text` is `Some(expected)`.
pub fn is(text: &Option<Text<'_>>, expected: &str) -> bool {
    text.as_ref().is_some_and(|t| t.as_str() == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_borrows_unless_escaped() {
        let plain: Vec<Text<'_>> = serde_json::from_str(r#"["0.0.0.0/0", "a\/b"]"#).unwrap();
        assert!(matches!(plain[0].0, Cow::Borrowed("0.0.0.0/0")));
        assert!(matches!(&plain[1].0, Cow::Owned(s) if s == "a/b"));
        assert!(serde_json::from_str::<Text<'_>>("7").is_err());
    }
}
