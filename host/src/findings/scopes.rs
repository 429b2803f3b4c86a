//! Which subscriptions, projects and accounts a run read completely, from
//! the cloud plugins' `collection_summary` records: a finding in a scope
//! whose every summary says `complete` may be resolved even when another
//! scope of the audit could not be read. The run's summaries, merged by
//! scope, are kept with its findings (for the compliance report: a check
//! that evaluated nothing because its scope could not be read).

use super::state::CollectionSummary;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The scopes a run's summaries named, complete or not.
#[derive(Debug, Default)]
pub struct Scopes {
    seen: Mutex<BTreeMap<String, CollectionSummary>>,
}

#[derive(Deserialize)]
struct Summary {
    #[serde(default)]
    ext: SummaryExt,
    #[serde(default)]
    com: SummaryCom,
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
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    cloud_type: Option<String>,
    #[serde(default)]
    failed: Option<BTreeMap<String, Value>>,
}

#[derive(Deserialize, Default)]
struct SummaryCom {
    #[serde(default)]
    cloud_type: Option<String>,
    #[serde(default)]
    origin_worker: Option<String>,
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
        let (ext, com) = (summary.ext, summary.com);
        if ext.record_type.as_deref() != Some("collection_summary") {
            return;
        }
        let scope = (ext.subscription_id.or(ext.project_id).or(ext.account_id)).or(ext.tenant_id);
        let Some(scope) = scope else {
            return;
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let merged = seen
            .entry(scope.clone())
            .or_insert_with(|| CollectionSummary {
                scope,
                cloud_type: com.cloud_type.or(ext.cloud_type),
                plugin: com.origin_worker,
                complete: true,
                failed: BTreeMap::new(),
            });
        merged.complete &= ext.complete == Some(true);
        for (record_type, why) in ext.failed.unwrap_or_default() {
            let why = match why {
                Value::String(text) => text,
                other => other.to_string(),
            };
            let entry = merged.failed.entry(record_type).or_default();
            if !entry.contains(why.as_str()) {
                if !entry.is_empty() {
                    entry.push_str("; ");
                }
                entry.push_str(&why);
            }
        }
    }

    /// Whether the finding whose event's `ext` is `ext` lies in a scope that
    /// every summary of the run called complete.
    pub fn complete_for(&self, ext: &Value) -> bool {
        let Some(scope) = scope_of(ext) else {
            return false;
        };
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(scope).is_some_and(|summary| summary.complete)
    }

    /// The run's summaries, one per scope (its summaries merged: complete
    /// when every one says so, and what each could not read), by scope.
    pub fn summaries(&self) -> Vec<CollectionSummary> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.values().cloned().collect()
    }
}

/// The subscription, project, account or tenant an event's `ext` names.
fn scope_of(ext: &Value) -> Option<&str> {
    cloudmarker_plugin_api::record::SCOPE_KEYS
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
        // An Entra tenant's records have no subscription: the tenant is
        // their scope.
        scopes.observe(
            &json!({"ext": {"record_type": "collection_summary", "tenant_id": "t1", "complete": true}})
                .to_string(),
        );
        assert!(scopes.complete_for(&json!({"tenant_id": "t1"})));
        assert!(!scopes.complete_for(&json!({"tenant_id": "t2"})));
        let summaries = scopes.summaries();
        assert_eq!(summaries.len(), 3);
        assert!(summaries[0].complete && !summaries[1].complete);
    }

    #[test]
    fn a_scope_s_summaries_merge_with_what_each_could_not_read() {
        let scopes = Scopes::default();
        let summary = |region: &str, failed: Value| {
            json!({"ext": {"record_type": "collection_summary", "account_id": "111", "region": region,
                           "complete": failed.as_object().unwrap().is_empty(), "failed": failed},
                   "com": {"cloud_type": "aws", "record_type": "collection_summary", "origin_worker": "a_aws"}})
            .to_string()
        };
        scopes.observe(&summary("eu-west-1", json!({})));
        scopes.observe(&summary("us-east-1", json!({"kms_key": "AccessDenied"})));
        scopes.observe(&summary(
            "us-west-2",
            json!({"kms_key": "AccessDenied", "rds": "throttled"}),
        ));
        let summaries = scopes.summaries();
        assert_eq!(
            summaries,
            [CollectionSummary {
                scope: "111".into(),
                cloud_type: Some("aws".into()),
                plugin: Some("a_aws".into()),
                complete: false,
                failed: [
                    ("kms_key".to_string(), "AccessDenied".to_string()),
                    ("rds".to_string(), "throttled".to_string())
                ]
                .into(),
            }]
        );
        assert!(!scopes.complete_for(&json!({"account_id": "111"})));
    }
}
