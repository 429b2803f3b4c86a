//! The `azdefender` cloud plugin: Microsoft Defender for Cloud's plans
//! (pricings), security contacts, settings (the integrations with Defender
//! for Endpoint and Defender for Cloud Apps) and assessments (its
//! recommendations' status per resource) of every subscription.

use crate::lists::{text, Input, Lister, Listing, Records, Subscription};
use cloudrest::azure::{self, AzurePlugin, Collected, ResourceType};
use serde_json::{json, Value};

/// `record_type` of one Defender plan of a subscription.
pub const DEFENDER_PRICING: &str = "defender_pricing";
/// `record_type` of a subscription's security contacts (all of them, in
/// one record, so that none is a record too).
pub const SECURITY_CONTACTS: &str = "security_contacts";
/// `record_type` of a subscription's Defender for Cloud settings (all of
/// them, in one record).
pub const DEFENDER_SETTINGS: &str = "defender_settings";
/// `record_type` of a subscription's Defender for Cloud assessments (a
/// summary per recommendation, in one record).
pub const DEFENDER_ASSESSMENTS: &str = "defender_assessments";

/// Defender for Cloud plans (`Microsoft.Security/pricings/read`).
const PRICINGS: ResourceType = ResourceType {
    record_type: DEFENDER_PRICING,
    path: "providers/Microsoft.Security/pricings",
    api_version: "2024-01-01",
};

/// Security contacts (`Microsoft.Security/securityContacts/read`); this
/// version has the notification sources (alerts, attack paths).
const CONTACTS: ResourceType = ResourceType {
    record_type: SECURITY_CONTACTS,
    path: "providers/Microsoft.Security/securityContacts",
    api_version: "2023-12-01-preview",
};

/// Defender for Cloud settings (`Microsoft.Security/settings/read`).
const SETTINGS: ResourceType = ResourceType {
    record_type: DEFENDER_SETTINGS,
    path: "providers/Microsoft.Security/settings",
    api_version: "2022-05-01",
};

/// Defender for Cloud assessments (`Microsoft.Security/assessments/read`):
/// one item per recommendation and resource.
const ASSESSMENTS: ResourceType = ResourceType {
    record_type: DEFENDER_ASSESSMENTS,
    path: "providers/Microsoft.Security/assessments",
    api_version: "2021-06-01",
};

/// Reads each subscription's Defender plans (one `defender_pricing` record
/// each), security contacts (one `security_contacts` record), settings
/// (one `defender_settings` record) and assessments (one
/// `defender_assessments` record), then one `collection_summary` per
/// subscription.
pub enum AzDefenderReader {}

impl Lister for AzDefenderReader {
    const NAME: &'static str = "azdefender";
    const DESCRIPTION: &'static str =
        "Reads the Microsoft Defender for Cloud plans, security contacts, settings and assessments of every Azure subscription.";

    const TYPES: &'static [ResourceType] = &[PRICINGS, CONTACTS, SETTINGS, ASSESSMENTS];
    const RECORDS: Records = records;
}

/// The `azdefender` cloud plugin.
pub type AzDefender = AzurePlugin<Listing<AzDefenderReader>>;

/// The records of one subscription: one per plan, and the contacts (when
/// listed).
fn records(input: &Input<'_>, _: &mut Collected) -> Vec<String> {
    let Input { sub, lists, .. } = *input;
    let mut records: Vec<String> = lists
        .get(DEFENDER_PRICING)
        .into_iter()
        .flatten()
        .map(|item| pricing_record(sub, item))
        .collect();
    if let Some(contacts) = lists.get(SECURITY_CONTACTS) {
        records.push(contacts_record(sub, contacts.clone()));
    }
    if let Some(settings) = lists.get(DEFENDER_SETTINGS) {
        records.push(settings_record(sub, settings));
    }
    if let Some(assessments) = lists.get(DEFENDER_ASSESSMENTS) {
        records.push(assessments_record(sub, assessments));
    }
    records
}

/// The subscription's assessments, summarised: `ext.assessments`, by
/// recommendation (`displayName`), how many resources are `healthy`,
/// `unhealthy` and `not_applicable`; `raw.unhealthy`, the unhealthy items as
/// listed (the healthy ones are left out: a subscription has thousands).
fn assessments_record(sub: &Subscription<'_>, assessments: &[Value]) -> String {
    let mut summary: std::collections::BTreeMap<&str, [usize; 3]> = Default::default();
    let mut unhealthy = Vec::new();
    for item in assessments {
        let Some(name) = text(item, &["properties", "displayName"]) else {
            continue;
        };
        let counts = summary.entry(name).or_default();
        match text(item, &["properties", "status", "code"]) {
            Some("Healthy") => counts[0] += 1,
            Some("Unhealthy") => {
                counts[1] += 1;
                unhealthy.push(item);
            }
            _ => counts[2] += 1,
        }
    }
    let summary: serde_json::Map<String, Value> = summary
        .into_iter()
        .map(|(name, [healthy, unhealthy, other])| {
            (
                name.to_string(),
                json!({"healthy": healthy, "unhealthy": unhealthy, "not_applicable": other}),
            )
        })
        .collect();
    azure::record(sub.ext, DEFENDER_ASSESSMENTS)
        .reference(sub.id)
        .ext("assessments", summary)
        .to_json(&json!({ "unhealthy": unhealthy }))
}

/// The subscription's settings: `raw.settings` (the list); in `ext`,
/// `endpoint_protection` (the `WDATP` setting, the integration with
/// Microsoft Defender for Endpoint, is enabled) and `cloud_apps` (the
/// `MCAS` setting, Defender for Cloud Apps); null when the list lacks it.
fn settings_record(sub: &Subscription<'_>, settings: &[Value]) -> String {
    let enabled = |name: &str| {
        settings
            .iter()
            .find(|s| text(s, &["name"]) == Some(name))
            .map(|s| s.pointer("/properties/enabled").and_then(Value::as_bool) == Some(true))
    };
    azure::record(sub.ext, DEFENDER_SETTINGS)
        .reference(sub.id)
        .ext("endpoint_protection", enabled("WDATP"))
        .ext("cloud_apps", enabled("MCAS"))
        .to_json(&json!({ "settings": settings }))
}

/// One plan: the pricing resource as `raw`; `ext.plan` (its name),
/// `ext.pricing_tier` (`Free`, `Standard`) and `ext.sub_plan`.
fn pricing_record(sub: &Subscription<'_>, item: &Value) -> String {
    azure::record(sub.ext, DEFENDER_PRICING)
        .reference(item.get("id").cloned().unwrap_or(Value::Null))
        .ext("plan", text(item, &["name"]))
        .ext("pricing_tier", text(item, &["properties", "pricingTier"]))
        .ext("sub_plan", text(item, &["properties", "subPlan"]))
        .to_json(item)
}

/// The subscription's contacts: `raw.contacts` (the list, maybe empty); in
/// `ext`, from the contacts that are not disabled: `contacts` (how many),
/// `emails` (each address), `notified_roles` (the roles notified, when
/// notifications by role are on), `alert_minimal_severity` and
/// `attack_path_minimal_risk_level` (null when nothing is notified).
fn contacts_record(sub: &Subscription<'_>, contacts: Vec<Value>) -> String {
    let enabled: Vec<&Value> = contacts
        .iter()
        .filter(|c| c.pointer("/properties/isEnabled").and_then(Value::as_bool) != Some(false))
        .collect();
    let emails: Vec<&str> = enabled
        .iter()
        .filter_map(|c| text(c, &["properties", "emails"]))
        .flat_map(|e| e.split([';', ',']))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let roles: Vec<&str> = enabled
        .iter()
        .filter(|c| text(c, &["properties", "notificationsByRole", "state"]) == Some("On"))
        .filter_map(|c| c.pointer("/properties/notificationsByRole/roles"))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let source = |kind: &str, field: &str| -> Option<String> {
        enabled
            .iter()
            .filter_map(|c| c.pointer("/properties/notificationsSources"))
            .filter_map(Value::as_array)
            .flatten()
            .filter(|s| text(s, &["sourceType"]) == Some(kind))
            .find_map(|s| text(s, &[field]).map(str::to_string))
    };
    azure::record(sub.ext, SECURITY_CONTACTS)
        .reference(sub.id)
        .ext("contacts", enabled.len())
        .ext("emails", emails)
        .ext("notified_roles", roles)
        .ext("alert_minimal_severity", source("Alert", "minimalSeverity"))
        .ext(
            "attack_path_minimal_risk_level",
            source("AttackPath", "minimalRiskLevel"),
        )
        .to_json(&json!({ "contacts": contacts }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn sub_ext() -> Map<String, Value> {
        let mut ext = Map::new();
        ext.insert("subscription_id".into(), "s1".into());
        ext
    }

    #[test]
    fn settings_say_whether_endpoint_protection_is_on() {
        let ext = sub_ext();
        let sub = Subscription {
            ext: &ext,
            id: "/subscriptions/s1",
            subscription_id: "s1",
        };
        let settings = [
            json!({"name": "WDATP", "kind": "DataExportSettings", "properties": {"enabled": false}}),
            json!({"name": "MCAS", "kind": "DataExportSettings", "properties": {"enabled": true}}),
        ];
        let record: Value = serde_json::from_str(&settings_record(&sub, &settings)).unwrap();
        assert_eq!(record["ext"]["endpoint_protection"], false);
        assert_eq!(record["ext"]["cloud_apps"], true);
        let none: Value = serde_json::from_str(&settings_record(&sub, &[])).unwrap();
        assert_eq!(none["ext"]["endpoint_protection"], Value::Null);
    }

    #[test]
    fn assessments_are_counted_by_recommendation() {
        let ext = sub_ext();
        let sub = Subscription {
            ext: &ext,
            id: "/subscriptions/s1",
            subscription_id: "s1",
        };
        let item = |name: &str, code: &str| json!({"properties": {"displayName": name, "status": {"code": code}}});
        let items = [
            item("Updates", "Unhealthy"),
            item("Updates", "Healthy"),
            item("Updates", "NotApplicable"),
            item("Endpoint", "Healthy"),
        ];
        let record: Value = serde_json::from_str(&assessments_record(&sub, &items)).unwrap();
        assert_eq!(
            record["ext"]["assessments"]["Updates"],
            json!({"healthy": 1, "unhealthy": 1, "not_applicable": 1})
        );
        assert_eq!(record["ext"]["assessments"]["Endpoint"]["healthy"], 1);
        assert_eq!(record["raw"]["unhealthy"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn contacts_say_what_is_notified_and_none_is_a_record() {
        let ext = sub_ext();
        let sub = Subscription {
            ext: &ext,
            id: "/subscriptions/s1",
            subscription_id: "s1",
        };
        let contact = json!({"name": "default", "properties": {
            "isEnabled": true, "emails": "a@example.com; b@example.com",
            "notificationsByRole": {"state": "On", "roles": ["Owner"]},
            "notificationsSources": [{"sourceType": "Alert", "minimalSeverity": "High"}]}});
        let record: Value = serde_json::from_str(&contacts_record(&sub, vec![contact])).unwrap();
        assert_eq!(
            record["ext"]["emails"],
            json!(["a@example.com", "b@example.com"])
        );
        assert_eq!(record["ext"]["notified_roles"], json!(["Owner"]));
        assert_eq!(record["ext"]["alert_minimal_severity"], "High");
        assert_eq!(record["ext"]["attack_path_minimal_risk_level"], Value::Null);
        assert_eq!(record["com"]["reference"], "/subscriptions/s1");
        let none: Value = serde_json::from_str(&contacts_record(&sub, vec![])).unwrap();
        assert_eq!(none["raw"]["contacts"], json!([]));
        assert_eq!(none["ext"]["contacts"], 0);
    }
}
