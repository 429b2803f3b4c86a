//! The `azactivitylogalerts` cloud plugin: the activity log alerts of every
//! subscription, as one record per subscription.

use crate::lists::{text, Input, Lister, Listing, Records, Subscription};
use cloudrest::azure::{self, AzurePlugin, Collected, ResourceType};
use serde_json::{json, Value};

/// `record_type` of a subscription's activity log alerts (all of them, in
/// one record, so that none is a record too).
pub const ACTIVITY_LOG_ALERTS: &str = "activity_log_alerts";

/// Activity log alerts (`Microsoft.Insights/activityLogAlerts/read`).
const ALERTS: ResourceType = ResourceType {
    record_type: ACTIVITY_LOG_ALERTS,
    path: "providers/Microsoft.Insights/activityLogAlerts",
    api_version: "2020-10-01",
};

/// Reads each subscription's activity log alerts: one
/// `activity_log_alerts` record, then one `collection_summary`.
pub enum AzActivityLogAlertsReader {}

impl Lister for AzActivityLogAlertsReader {
    const NAME: &'static str = "azactivitylogalerts";
    const DESCRIPTION: &'static str =
        "Reads the activity log alerts of every Azure subscription and what each alerts on.";

    const TYPES: &'static [ResourceType] = &[ALERTS];
    const RECORDS: Records = records;
}

/// The `azactivitylogalerts` cloud plugin.
pub type AzActivityLogAlerts = AzurePlugin<Listing<AzActivityLogAlertsReader>>;

/// The subscription's one record: `raw.alerts` (the list, maybe empty);
/// `ext.alerts` (how many) and `ext.operations_alerted`: what the enabled
/// alerts whose scopes include the subscription itself alert on, each
/// lowercased: the operation names their conditions name, and
/// `servicehealth` for an alert on the ServiceHealth category.
fn records(input: &Input<'_>, _: &mut Collected) -> Vec<String> {
    let Input { sub, lists, .. } = *input;
    match lists.get(ACTIVITY_LOG_ALERTS) {
        Some(alerts) => vec![alerts_record(sub, alerts)],
        None => Vec::new(),
    }
}

/// The record of one subscription's `alerts`.
fn alerts_record(sub: &Subscription<'_>, alerts: &[Value]) -> String {
    let mut alerted: Vec<String> = alerts
        .iter()
        .filter(|a| a.pointer("/properties/enabled").and_then(Value::as_bool) != Some(false))
        .filter(|a| covers(a, sub.subscription_id))
        .flat_map(alerted_on)
        .collect();
    alerted.sort();
    alerted.dedup();
    azure::record(sub.ext, ACTIVITY_LOG_ALERTS)
        .reference(sub.id)
        .ext("alerts", alerts.len())
        .ext("operations_alerted", alerted)
        .to_json(&json!({ "alerts": alerts }))
}

/// Whether `alert`'s scopes include the subscription `sub_id` itself (an
/// alert scoped to a resource group or resource does not cover it).
fn covers(alert: &Value, sub_id: &str) -> bool {
    let whole = format!("/subscriptions/{sub_id}");
    alert
        .pointer("/properties/scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|scope| scope.trim_end_matches('/').eq_ignore_ascii_case(&whole))
}

/// What one alert's condition alerts on: each `operationName` it equals
/// (also in `anyOf` alternatives), and `servicehealth` when its category is
/// ServiceHealth; lowercased.
fn alerted_on(alert: &Value) -> Vec<String> {
    let mut leaves: Vec<&Value> = Vec::new();
    for condition in alert
        .pointer("/properties/condition/allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match condition.get("anyOf").and_then(Value::as_array) {
            Some(any) => leaves.extend(any),
            None => leaves.push(condition),
        }
    }
    leaves
        .into_iter()
        .filter_map(|leaf| {
            let field = text(leaf, &["field"])?.to_ascii_lowercase();
            let equals = text(leaf, &["equals"])?.to_ascii_lowercase();
            match field.as_str() {
                "operationname" => Some(equals),
                "category" if equals == "servicehealth" => Some(equals),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn only_enabled_alerts_on_the_whole_subscription_count() {
        let ext = Map::new();
        let sub = Subscription {
            ext: &ext,
            id: "/subscriptions/s1",
            subscription_id: "s1",
        };
        let alert = |scope: &str, enabled: bool, op: &str| {
            json!({"properties": {"scopes": [scope], "enabled": enabled, "condition": {"allOf": [
                {"field": "category", "equals": "Administrative"},
                {"anyOf": [{"field": "operationName", "equals": op}]}]}}})
        };
        let alerts = vec![
            alert(
                "/subscriptions/s1",
                true,
                "Microsoft.Network/networkSecurityGroups/write",
            ),
            alert(
                "/subscriptions/s1",
                false,
                "Microsoft.Network/networkSecurityGroups/delete",
            ),
            alert(
                "/subscriptions/s1/resourceGroups/rg",
                true,
                "Microsoft.Sql/servers/firewallRules/write",
            ),
            json!({"properties": {"scopes": ["/subscriptions/S1/"], "condition": {"allOf": [
                {"field": "category", "equals": "ServiceHealth"}]}}}),
        ];
        let record: Value = serde_json::from_str(&alerts_record(&sub, &alerts)).unwrap();
        assert_eq!(
            record["ext"]["operations_alerted"],
            json!([
                "microsoft.network/networksecuritygroups/write",
                "servicehealth"
            ])
        );
        assert_eq!(record["ext"]["alerts"], 4);
        let none: Value = serde_json::from_str(&alerts_record(&sub, &[])).unwrap();
        assert_eq!(none["ext"]["operations_alerted"], json!([]));
    }
}
