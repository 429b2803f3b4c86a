//! AWS Config: the configuration recorders of each region and their
//! status (JSON 1.1 calls through the client of `query.rs`).

use crate::query::{Client, Request, Service};
use crate::scope::Scope;
use serde_json::{json, Value};

/// `ext.record_type` of a region's configuration recorders (one record
/// per account and region).
pub const CONFIG_RECORDERS: &str = "config_recorders";

/// AWS Config.
const CONFIG: Service = Service {
    id: "Config Service",
    signing_name: "config",
    prefix: "config",
};

/// The region's recorders (`DescribeConfigurationRecorders`, with
/// `DescribeConfigurationRecorderStatus`; neither pages): one
/// `config_recorders` record with `recorders` (name, `all_supported`,
/// `include_global_resource_types`, `recording`, `last_status`) and
/// `recording_all_resources`: one recorder records every supported
/// resource type, is on and did not last fail.
pub async fn recorders(scope: Scope<'_>) -> Result<usize, String> {
    let client = Client::of(CONFIG, &scope.account.in_region(scope.region));
    let call = |operation: &'static str| {
        let client = &client;
        async move {
            let target = format!("StarlingDoveService.{operation}");
            scope
                .call(client.json(
                    operation,
                    Request::Json {
                        target: &target,
                        body: "{}",
                    },
                ))
                .await
                .map_err(|e| format!("{operation}: {e}"))
        }
    };
    let recorders = call("DescribeConfigurationRecorders").await?;
    let statuses = call("DescribeConfigurationRecorderStatus").await?;
    let list = |answer: &Value, key: &str| answer[key].as_array().cloned().unwrap_or_default();
    let statuses = list(&statuses, "ConfigurationRecordersStatus");
    let summary: Vec<Value> = list(&recorders, "ConfigurationRecorders")
        .iter()
        .map(|recorder| {
            let name = &recorder["name"];
            let status = statuses.iter().find(|s| &s["name"] == name);
            let group = &recorder["recordingGroup"];
            json!({
                "name": name,
                "all_supported": group["allSupported"].as_bool().unwrap_or(false),
                "include_global_resource_types": group["includeGlobalResourceTypes"].as_bool().unwrap_or(false),
                "recording": status.and_then(|s| s["recording"].as_bool()).unwrap_or(false),
                "last_status": status.map_or(Value::Null, |s| s["lastStatus"].clone()),
            })
        })
        .collect();
    let recording_all = summary.iter().any(|r| {
        r["all_supported"] == true
            && r["recording"] == true
            && !r["last_status"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("failure"))
    });
    let raw = json!({
        "ConfigurationRecorders": recorders["ConfigurationRecorders"],
        "ConfigurationRecordersStatus": statuses,
    });
    let record = scope
        .record(CONFIG_RECORDERS)
        .reference(scope.arn("config", "configuration-recorders"))
        .ext("recorders", json!(summary))
        .ext("recording_all_resources", recording_all);
    scope.emit(&raw, &record);
    Ok(1)
}
