//! IAM Access Analyzer: the analyzers of each region (REST calls through
//! the client of `query.rs`).

use crate::query::{encode, Client, Request, Service};
use crate::scope::Scope;
use serde_json::{json, Value};

/// `ext.record_type` of a region's analyzers (one record per account and
/// region).
pub const ACCESS_ANALYZERS: &str = "access_analyzers";

/// IAM Access Analyzer.
const ACCESS_ANALYZER: Service = Service {
    id: "AccessAnalyzer",
    signing_name: "access-analyzer",
    prefix: "access-analyzer",
};

/// The region's analyzers (`ListAnalyzers`, paged by `nextToken`): one
/// `access_analyzers` record with `analyzers` (name, type, status) and
/// `external_access_active`: how many analyzers of external access (type
/// `ACCOUNT` or `ORGANIZATION`) are `ACTIVE`.
pub async fn analyzers(scope: Scope<'_>) -> Result<usize, String> {
    let client = Client::of(ACCESS_ANALYZER, &scope.account.in_region(scope.region));
    let mut token: Option<String> = None;
    let mut listed: Vec<Value> = Vec::new();
    loop {
        let path = match &token {
            Some(token) => format!("/analyzer?nextToken={}", encode(token)),
            None => "/analyzer".to_string(),
        };
        let page = scope
            .call(client.json("ListAnalyzers", Request::Get(&path)))
            .await
            .map_err(|e| e.to_string())?;
        listed.extend(page["analyzers"].as_array().into_iter().flatten().cloned());
        match page["nextToken"].as_str().filter(|t| !t.is_empty()) {
            Some(next) if token.as_deref() != Some(next) => token = Some(next.to_string()),
            _ => break,
        }
    }
    let summary: Vec<Value> = listed
        .iter()
        .map(|a| json!({"name": a["name"], "type": a["type"], "status": a["status"]}))
        .collect();
    let active = listed
        .iter()
        .filter(|a| {
            a["status"] == "ACTIVE" && (a["type"] == "ACCOUNT" || a["type"] == "ORGANIZATION")
        })
        .count();
    let raw = json!({"analyzers": listed});
    let record = scope
        .record(ACCESS_ANALYZERS)
        .reference(scope.arn("access-analyzer", "analyzers"))
        .ext("analyzers", json!(summary))
        .ext("external_access_active", active);
    scope.emit(&raw, &record);
    Ok(1)
}
