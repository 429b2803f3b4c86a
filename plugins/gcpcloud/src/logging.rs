//! Where a project's logs go and what watches them: its sinks with the
//! retention lock of their destination bucket (`log_sink`), and its
//! log-based metrics joined with the alert policies that alert on them
//! (`log_metrics`).

use crate::{collected, Project};
use cloudrest::Collected;
use serde_json::{json, Value};
use std::collections::HashMap;

/// One `log_sink` record per sink; `ext.destination_bucket` for a Cloud
/// Storage destination: the bucket's `name`, `retention_locked`
/// (`retentionPolicy.isLocked`, false without a policy) and
/// `retention_period` (seconds, as the API writes it; null without a
/// policy). A destination bucket that cannot be read (another project's,
/// not readable) gives nulls, and `log_sink` is reported failed. Each
/// bucket is read once.
pub fn read_log_sinks(project: &Project<'_>) -> Collected {
    let reader = &project.reader;
    let url = project.url(reader.logging_url, "/sinks");
    let sinks = match project.list_of("listing log sinks", &url, "sinks") {
        Ok(sinks) => sinks,
        Err(why) => {
            let mut failed = collected("log_sink", Err(why.clone()));
            failed.fail("log_sinks", why);
            return failed;
        }
    };
    let mut collected = collected("log_sink", Ok(sinks.len()));
    // The project's sinks as one record: whether one of them exports every
    // log entry (no filter, not disabled) is a fact about all of them.
    let exports_all = sinks.iter().any(|sink| {
        sink.get("filter")
            .and_then(Value::as_str)
            .is_none_or(|f| f.trim().is_empty())
            && sink.get("disabled").and_then(Value::as_bool) != Some(true)
    });
    let all = project
        .record("log_sinks")
        .reference(format!("projects/{}", project.id))
        .ext("sink_count", sinks.len())
        .ext("exports_all_entries", exports_all);
    if !project.emit(all, &json!({"sinks": sinks})) {
        return collected;
    }
    collected.count("log_sinks", 1);
    let mut buckets: HashMap<String, Value> = HashMap::new();
    for sink in &sinks {
        let name = sink.get("name").and_then(Value::as_str).unwrap_or_default();
        let destination_bucket = match storage_bucket(sink) {
            None => Value::Null,
            Some(bucket) => buckets
                .entry(bucket.to_string())
                .or_insert_with(|| {
                    let url = format!("{}/b/{bucket}", reader.storage_url);
                    let what = format!("log sink {name}: reading its destination bucket {bucket}");
                    match reader.get(&what, &url) {
                        Ok(answer) => json!({
                            "name": bucket,
                            "retention_locked": answer
                                .pointer("/retentionPolicy/isLocked")
                                .and_then(Value::as_bool)
                                .unwrap_or(false),
                            "retention_period": answer
                                .pointer("/retentionPolicy/retentionPeriod")
                                .cloned()
                                .unwrap_or(Value::Null),
                        }),
                        Err(why) => {
                            collected.fail("log_sink", why);
                            json!({"name": bucket, "retention_locked": null, "retention_period": null})
                        }
                    }
                })
                .clone(),
        };
        let record = project
            .record("log_sink")
            .reference(format!("projects/{}/sinks/{name}", project.id))
            .ext("destination_bucket", destination_bucket);
        if !project.emit(record, sink) {
            break;
        }
    }
    collected
}

/// The bucket of a sink's `storage.googleapis.com/<bucket>` destination.
fn storage_bucket(sink: &Value) -> Option<&str> {
    let destination = sink.get("destination")?.as_str()?;
    let bucket = destination.strip_prefix("storage.googleapis.com/")?;
    bucket.split('/').next().filter(|b| !b.is_empty())
}

/// One `log_metrics` record: the log-based metrics and the alert policies
/// of the project under `raw` (`metrics`, `alertPolicies`), and
/// `ext.metrics`: each metric's `name`, `filter` and `alerting` (an enabled
/// alert policy has a condition whose filter names
/// `metric.type="logging.googleapis.com/user/<name>"`). Without both lists
/// there is no record, and `log_metrics` is reported failed.
pub fn read_log_metrics(project: &Project<'_>) -> Collected {
    let url = project.url(project.reader.logging_url, "/metrics");
    let metrics = match project.list_of("listing log-based metrics", &url, "metrics") {
        Ok(metrics) => metrics,
        Err(why) => return collected("log_metrics", Err(why)),
    };
    // Monitoring's reference lists no cloud-platform.read-only scope.
    let url = project.url(project.reader.monitoring_url, "/alertPolicies");
    let full = project.full_scope();
    let policies = match full.list_of("listing alert policies", &url, "alertPolicies") {
        Ok(policies) => policies,
        Err(why) => return collected("log_metrics", Err(why)),
    };
    let joined: Vec<Value> = metrics
        .iter()
        .map(|metric| {
            let name = metric
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            json!({
                "name": name,
                "filter": metric.get("filter").cloned().unwrap_or(Value::Null),
                "alerting": alerting(name, &policies),
            })
        })
        .collect();
    let answer = json!({"metrics": metrics, "alertPolicies": policies});
    project.emit_one("log_metrics", Ok(answer), |_, record| {
        record
            .reference(format!("projects/{}", project.id))
            .ext("metrics", joined)
    })
}

/// Whether an enabled policy of `policies` (`enabled` not false: the API's
/// default is enabled) has a condition whose `filter` names the user metric
/// `name` (`metric.type="logging.googleapis.com/user/<name>"`, spaces
/// ignored).
fn alerting(name: &str, policies: &[Value]) -> bool {
    let wanted = format!("metric.type=\"logging.googleapis.com/user/{name}\"");
    policies
        .iter()
        .filter(|p| p.get("enabled").and_then(Value::as_bool) != Some(false))
        .filter_map(|p| p.get("conditions").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|condition| condition.values())
        .filter_map(|kind| kind.get("filter").and_then(Value::as_str))
        .any(|filter| {
            let filter: String = filter.chars().filter(|c| !c.is_whitespace()).collect();
            filter.contains(&wanted)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_alerts_when_an_enabled_policy_filters_on_it() {
        let policy = |enabled: bool, filter: &str| {
            json!({"enabled": enabled, "conditions": [{"displayName": "c",
                "conditionThreshold": {"filter": filter, "comparison": "COMPARISON_GT"}}]})
        };
        let on = r#"metric.type = "logging.googleapis.com/user/audit-changes" AND resource.type="global""#;
        assert!(alerting("audit-changes", &[policy(true, on)]));
        assert!(!alerting("audit-changes", &[policy(false, on)]));
        assert!(!alerting("audit", &[policy(true, on)]), "the whole name");
        assert!(!alerting("audit-changes", &[]));
    }

    #[test]
    fn storage_destinations_name_their_bucket() {
        let sink = |d: &str| json!({"destination": d});
        assert_eq!(
            storage_bucket(&sink("storage.googleapis.com/audit-logs")),
            Some("audit-logs")
        );
        assert_eq!(
            storage_bucket(&sink("bigquery.googleapis.com/projects/p/datasets/d")),
            None
        );
    }
}
