//! What a cloud plugin read from one scope and what it could not, so that a
//! denied type is never mistaken for an empty one.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What was read from one scope of a cloud (an Azure subscription, an AWS
/// account and region), for its `collection_summary` record.
#[derive(Debug, Default)]
pub struct Collected {
    /// Items listed, by record type.
    pub counts: BTreeMap<&'static str, usize>,
    /// Why a type could not be listed, by record type.
    pub failures: BTreeMap<&'static str, String>,
}

impl Collected {
    /// Counts `n` more items of `record_type`.
    pub fn count(&mut self, record_type: &'static str, n: usize) {
        *self.counts.entry(record_type).or_default() += n;
    }

    /// Notes that some items of `record_type` could not be read, and why.
    pub fn fail(&mut self, record_type: &'static str, why: String) {
        let entry = self.failures.entry(record_type).or_default();
        if !entry.is_empty() {
            entry.push_str("; ");
        }
        entry.push_str(&why);
    }

    /// Adds what `other` counted and what it could not read.
    pub fn merge(&mut self, other: Collected) {
        for (record_type, n) in other.counts {
            self.count(record_type, n);
        }
        for (record_type, why) in other.failures {
            self.fail(record_type, why);
        }
    }

    /// The `collection_summary` fields of a scope (`collected`, `failed`,
    /// `complete`); a type of `expected` neither counted nor failed was not
    /// read at all. Logs what was read and what was not, `scope` naming it
    /// (`Subscription 1234`).
    pub fn summarise(&self, scope: &str, expected: &[&str]) -> Map<String, Value> {
        let missing: Vec<&str> = expected
            .iter()
            .copied()
            .filter(|t| !self.counts.contains_key(t) && !self.failures.contains_key(t))
            .collect();
        let complete = self.failures.is_empty() && missing.is_empty();
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(t, n)| format!("{n} {t}"))
            .collect();
        if complete {
            log::info!("{scope}: read {}.", counts.join(", "));
        } else {
            let failed: Vec<&str> = self
                .failures
                .keys()
                .copied()
                .chain(missing.iter().copied())
                .collect();
            log::warn!(
                "{scope}: read {}; could NOT read {}.",
                counts.join(", "),
                failed.join(", ")
            );
        }
        let mut fields = Map::new();
        fields.insert("collected".into(), json!(self.counts));
        fields.insert("failed".into(), json!(self.failures));
        fields.insert("complete".into(), complete.into());
        fields
    }
}
