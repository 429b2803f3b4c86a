//! What each check evaluated, per scope: the `check_summary` records an
//! event plugin emits after its last record, so that a report can tell a
//! check that passed from one that never saw a record.
//!
//! A check counts each record it selected ([`Batch::evaluated`]); the SDK
//! keeps the counts for the plugin's whole run and pushes one
//! `check_summary` record per check and scope when the plugin is done.
//! Compiled checks ([`Check`](super::check::Check)) are counted by the SDK
//! itself; an event plugin of its own kind (a rules engine) calls
//! [`Batch::evaluated`] for each (check, record) it judged.
//!
//! [`Batch::evaluated`]: super::Batch::evaluated

use crate::record::com;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The `record_type` (in `ext` and `com`) of a check summary.
pub const CHECK_SUMMARY: &str = "check_summary";
/// The scope of records that name none (a mock cloud, a file).
pub const NO_SCOPE: &str = "";

/// Whether `record` (JSON text) is a `check_summary` record: what a check
/// evaluated, not a finding.
pub fn is_check_summary(record: &str) -> bool {
    // Cheap test first: most events are findings.
    record.contains(CHECK_SUMMARY)
        && crate::record::Head::parse_stamped(record)
            .is_ok_and(|head| head.com.record_type.as_deref() == Some(CHECK_SUMMARY))
}

/// The counts of one check in one scope.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Records the check evaluated.
    pub evaluated: u64,
    /// Of them, records that raised at least one finding.
    pub failed: u64,
}

/// Counts per check and scope (an account, subscription or project).
#[derive(Debug, Default)]
pub struct Tally {
    checks: HashMap<String, HashMap<String, Counts>>,
}

impl Tally {
    /// Counts one record `check` evaluated in `scope`; `failed` when it
    /// raised a finding. Allocates only for a (check, scope) seen first.
    pub fn count(&mut self, check: &str, scope: &str, failed: bool) {
        let scopes = match self.checks.get_mut(check) {
            Some(scopes) => scopes,
            None => self.checks.entry(check.to_string()).or_default(),
        };
        let counts = match scopes.get_mut(scope) {
            Some(counts) => counts,
            None => scopes.entry(scope.to_string()).or_default(),
        };
        counts.evaluated += 1;
        counts.failed += u64::from(failed);
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: Tally) {
        for (check, scopes) in other.checks {
            let mine = self.checks.entry(check).or_default();
            for (scope, counts) in scopes {
                let entry = mine.entry(scope).or_default();
                entry.evaluated += counts.evaluated;
                entry.failed += counts.failed;
            }
        }
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// The counts of `check` in `scope`, if it evaluated anything there.
    pub fn get(&self, check: &str, scope: &str) -> Option<Counts> {
        self.checks.get(check)?.get(scope).copied()
    }

    /// One `check_summary` record per check and scope, sorted by check
    /// then scope, for the plugin `plugin`:
    ///
    /// ```json
    /// {"ext": {"record_type": "check_summary", "check": "...", "plugin": "...",
    ///          "scope": "...", "evaluated": 12, "failed": 3},
    ///  "com": {"record_type": "check_summary", "check": "..."}}
    /// ```
    pub fn summaries(&self, plugin: &str) -> Vec<Value> {
        let mut rows: Vec<(&str, &str, Counts)> = self
            .checks
            .iter()
            .flat_map(|(check, scopes)| {
                scopes
                    .iter()
                    .map(move |(scope, counts)| (check.as_str(), scope.as_str(), *counts))
            })
            .collect();
        rows.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        rows.into_iter()
            .map(|(check, scope, counts)| {
                let mut com_bucket = Map::new();
                com_bucket.insert(com::RECORD_TYPE.into(), CHECK_SUMMARY.into());
                com_bucket.insert(com::CHECK.into(), check.into());
                json!({
                    "ext": {
                        "record_type": CHECK_SUMMARY,
                        "check": check,
                        "plugin": plugin,
                        "scope": scope,
                        "evaluated": counts.evaluated,
                        "failed": counts.failed,
                    },
                    "com": com_bucket,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_check_and_scope_and_merges() {
        let mut tally = Tally::default();
        tally.count("a", "sub-1", false);
        tally.count("a", "sub-1", true);
        tally.count("a", "sub-2", false);
        let mut other = Tally::default();
        other.count("a", "sub-1", true);
        other.count("b", NO_SCOPE, false);
        tally.merge(other);
        assert_eq!(
            tally.get("a", "sub-1"),
            Some(Counts {
                evaluated: 3,
                failed: 2
            })
        );
        assert_eq!(tally.get("a", "sub-3"), None);
        let rows = tally.summaries("plug");
        let keys: Vec<(String, String, u64)> = rows
            .iter()
            .map(|r| {
                (
                    r["ext"]["check"].as_str().unwrap().to_string(),
                    r["ext"]["scope"].as_str().unwrap().to_string(),
                    r["ext"]["evaluated"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                ("a".into(), "sub-1".into(), 3),
                ("a".into(), "sub-2".into(), 1),
                ("b".into(), "".into(), 1)
            ]
        );
        assert_eq!(rows[0]["com"]["record_type"], CHECK_SUMMARY);
        assert_eq!(rows[0]["com"]["check"], "a");
        assert_eq!(rows[0]["ext"]["plugin"], "plug");
    }
}
