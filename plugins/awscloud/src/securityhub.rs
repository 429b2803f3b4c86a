//! Security Hub: whether each region has it enabled (REST calls through
//! the client of `query.rs`).

use crate::query::{Client, Error, Request, Service};
use crate::scope::Scope;
use serde_json::{json, Value};

/// `ext.record_type` of a region's Security Hub (one record per account
/// and region).
pub const SECURITY_HUB: &str = "security_hub";

/// AWS Security Hub.
const SECURITYHUB: Service = Service {
    id: "SecurityHub",
    signing_name: "securityhub",
    prefix: "securityhub",
};

/// The region's hub (`DescribeHub`): one `security_hub` record with
/// `enabled` (the account is subscribed: Security Hub answers
/// `InvalidAccessException` when it is not) and `hub_arn`. Any other error
/// (a denied call) is a failed read.
pub async fn hub(scope: Scope<'_>) -> Result<usize, String> {
    let client = Client::of(SECURITYHUB, &scope.account.in_region(scope.region));
    let answer = scope
        .call(client.json("DescribeHub", Request::Get("/accounts")))
        .await;
    let (enabled, raw) = match answer {
        Ok(hub) => (true, hub),
        Err(Error::Service {
            code: Some(code), ..
        }) if code == "InvalidAccessException" => (false, Value::Null),
        Err(e) => return Err(e.to_string()),
    };
    let record = scope
        .record(SECURITY_HUB)
        .reference(scope.arn("securityhub", "hub/default"))
        .ext("enabled", enabled)
        .ext("hub_arn", raw["HubArn"].clone());
    scope.emit(&json!({"Hub": raw}), &record);
    Ok(1)
}
