//! Which subscriptions, projects and accounts a run read completely, from
//! the cloud plugins' `collection_summary` records: a finding in a scope
//! whose every summary says `complete` may be resolved even when another
//! scope of the audit could not be read.

use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Mutex;

/// The scopes a run's summaries named, complete or not.
#[derive(Debug, Default)]
pub struct Scopes {
    seen: Mutex<(HashSet<String>, HashSet<String>)>,
}

#[derive(Deserialize)]
struct Summary {
    #[serde(default)]
    ext: SummaryExt,
}

#[derive(Deserialize, Default)]
struct SummaryExt {
    #[serde(default)]
    record_type: Option<String>,
    #[serde(default)]
    complete: Option<bool>,
    #[serde(default)]
    subscription_id: Option<String>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    account_id: Option<String>,
}

impl Scopes {
    /// Notes `record` if it is a `collection_summary` (others are passed
    /// over after a substring test, without parsing).
    pub fn observe(&self, record: &str) {
        if !record.contains("collection_summary") {
            return;
        }
        let Ok(summary) = serde_json::from_str::<Summary>(record) else {
            return;
        };
        let ext = summary.ext;
        if ext.record_type.as_deref() != Some("collection_summary") {
            return;
        }
        let Some(scope) = ext.subscription_id.or(ext.project_id).or(ext.account_id) else {
            return;
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if ext.complete == Some(true) {
            seen.0.insert(scope);
        } else {
            seen.1.insert(scope);
        }
    }

    /// Whether the finding whose event's `ext` is `ext` lies in a scope that
    /// every summary of the run called complete.
    pub fn complete_for(&self, ext: &Value) -> bool {
        let Some(scope) = scope_of(ext) else {
            return false;
        };
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.0.contains(scope) && !seen.1.contains(scope)
    }
}

/// The subscription, project or account an event's `ext` names.
fn scope_of(ext: &Value) -> Option<&str> {
    ["subscription_id", "project_id", "account_id"]
        .iter()
        .find_map(|key| ext.get(*key).and_then(Value::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_scope_is_complete_when_every_summary_says_so() {
        let scopes = Scopes::default();
        let summary = |scope: &str, complete: bool| {
            json!({"ext": {"record_type": "collection_summary", "subscription_id": scope, "complete": complete}}).to_string()
        };
        scopes.observe(&summary("s1", true));
        scopes.observe(&summary("s2", true));
        scopes.observe(&summary("s2", false));
        scopes.observe(r#"{"ext": {"record_type": "vm", "subscription_id": "s3"}}"#);
        assert!(scopes.complete_for(&json!({"subscription_id": "s1"})));
        assert!(!scopes.complete_for(&json!({"subscription_id": "s2"})));
        assert!(!scopes.complete_for(&json!({"subscription_id": "s3"})));
        assert!(!scopes.complete_for(&json!({})));
    }
}
