//! Events as OCSF 1.x Detection Findings (class 2004), for stores that
//! write the Open Cybersecurity Schema Framework's format.
//!
//! The mapping: `finding_info.uid` is the finding id, its title and `desc`
//! the description, `types` the event type; `remediation.desc` the
//! recommendation; `severity_id` from the severity; `status_id` and
//! `activity_id` from the finding's status (new: New/Create, regressed:
//! New/Update, open: In Progress/Update, resolved: Resolved/Close; a muted
//! finding is Suppressed); `resources[0].uid` the resource (`com.reference`);
//! `cloud` the provider, the account (subscription, project or AWS account)
//! and the region; `time` when the run last saw it. The benchmark sections,
//! the audit and the mute go to `unmapped`.

use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// The OCSF version written (`metadata.version`).
pub const OCSF_VERSION: &str = "1.5.0";
/// Detection Finding.
pub const CLASS_UID: u64 = 2004;
/// Findings.
pub const CATEGORY_UID: u64 = 2;

/// The Detection Finding of `event`, or `None` when it is not a finding
/// (a cloud record, a marker: no `com.finding_id`). `version` is the
/// product's version (`metadata.product.version`).
pub fn detection_finding(event: &Value, version: &str) -> Option<Value> {
    let com = event.get("com")?.as_object()?;
    let ext = event
        .get("ext")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let text = |map: &Map<String, Value>, key: &str| {
        map.get(key).and_then(Value::as_str).map(str::to_string)
    };
    let finding_id = text(com, "finding_id")?;
    let record_type = text(com, "record_type").unwrap_or_else(|| "finding".into());
    let description = text(com, "description").unwrap_or_else(|| record_type.clone());
    let status = text(com, "status");
    let muted = com.get("muted").is_some_and(|m| !m.is_null());
    let (activity_id, activity_name) = match status.as_deref() {
        Some("new") | None => (1, "Create"),
        Some("resolved") => (3, "Close"),
        Some(_) => (2, "Update"),
    };
    let (status_id, status_name) = match status.as_deref() {
        _ if muted => (3, "Suppressed"),
        Some("new") | Some("regressed") | None => (1, "New"),
        Some("open") => (2, "In Progress"),
        Some("resolved") => (4, "Resolved"),
        Some(_) => (99, "Other"),
    };
    let (severity_id, severity_name) = match text(com, "severity").as_deref() {
        Some("informational") => (1, "Informational"),
        Some("low") => (2, "Low"),
        Some("medium") => (3, "Medium"),
        Some("high") => (4, "High"),
        Some("critical") => (5, "Critical"),
        _ => (0, "Unknown"),
    };
    let millis = |key: &str| text(com, key).and_then(|t| rfc3339_millis(&t));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let time = millis("resolved_at").or(millis("last_seen")).unwrap_or(now);
    let mut finding_info = json!({
        "uid": finding_id,
        "title": description,
        "desc": description,
        "types": [record_type],
    });
    for (key, field) in [
        ("first_seen_time", "first_seen"),
        ("last_seen_time", "last_seen"),
    ] {
        if let Some(at) = millis(field) {
            finding_info[key] = at.into();
        }
    }
    let mut finding = json!({
        "activity_id": activity_id,
        "activity_name": activity_name,
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": format!("Detection Finding: {activity_name}"),
        "time": time,
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": status_id,
        "status": status_name,
        "message": description,
        "finding_info": finding_info,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "cloudmarker", "vendor_name": "cloudmarker", "version": version},
            "event_code": record_type,
        },
        "unmapped": {
            "compliance": com.get("compliance").cloned().unwrap_or(Value::Array(Vec::new())),
            "audit_key": com.get("audit_key").cloned().unwrap_or(Value::Null),
            "occurrences": com.get("occurrences").cloned().unwrap_or(Value::Null),
            "muted": com.get("muted").cloned().unwrap_or(Value::Null),
        },
    });
    if let Some(recommendation) = text(com, "recommendation") {
        finding["remediation"] = json!({"desc": recommendation});
    }
    let region = text(&ext, "region").or_else(|| text(&ext, "location"));
    if let Some(reference) = text(com, "reference") {
        let mut resource = json!({"uid": reference});
        if let Some(region) = &region {
            resource["region"] = region.clone().into();
        }
        finding["resources"] = json!([resource]);
    }
    if let Some(cloud) = cloud(text(com, "cloud_type").as_deref(), &ext, region) {
        finding["cloud"] = cloud;
    }
    Some(finding)
}

/// The `cloud` object: provider, account and region.
fn cloud(
    cloud_type: Option<&str>,
    ext: &Map<String, Value>,
    region: Option<String>,
) -> Option<Value> {
    let text = |key: &str| ext.get(key).and_then(Value::as_str).map(str::to_string);
    let (provider, account) = match cloud_type? {
        "azure" => (
            "Azure",
            text("subscription_id").map(|uid| {
                let name = text("subscription_name").unwrap_or_else(|| uid.clone());
                json!({"uid": uid, "name": name, "type_id": 99, "type": "Azure Subscription"})
            }),
        ),
        "gcp" => (
            "GCP",
            text("project_id").map(|uid| {
                let name = text("project_name").unwrap_or_else(|| uid.clone());
                json!({"uid": uid, "name": name, "type_id": 99, "type": "GCP Project"})
            }),
        ),
        "aws" => (
            "AWS",
            text("account_id")
                .map(|uid| json!({"uid": uid, "name": uid, "type_id": 10, "type": "AWS Account"})),
        ),
        other => (other, None),
    };
    let mut cloud = json!({"provider": provider});
    if let Some(account) = account {
        cloud["account"] = account;
    }
    if let Some(region) = region {
        cloud["region"] = region.into();
    }
    Some(cloud)
}

/// Milliseconds since the epoch of a UTC RFC 3339 time to the second
/// (`2026-12-03T16:23:36Z`, as the host stamps them).
fn rfc3339_millis(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    u64::try_from(seconds).ok().map(|s| s * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_to_epoch_milliseconds() {
        assert_eq!(rfc3339_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_millis("2026-12-03T16:23:36Z"),
            Some(1_796_315_016_000)
        );
        assert_eq!(
            rfc3339_millis("2000-02-29T12:00:00Z"),
            Some(951_825_600_000)
        );
        assert_eq!(rfc3339_millis("2026-12-03 16:23:36"), None);
    }

    #[test]
    fn a_resolved_azure_finding() {
        let event = json!({
            "ext": {"subscription_id": "s-1", "subscription_name": "Prod", "record_type": "e"},
            "com": {"finding_id": "f1", "record_type": "storage_event", "cloud_type": "azure",
                    "reference": "/subscriptions/s-1/sa", "description": "Open.", "recommendation": "Close it.",
                    "severity": "high", "status": "resolved", "compliance": ["CIS X 3.1"],
                    "first_seen": "2026-12-01T00:00:00Z", "last_seen": "2026-12-02T00:00:00Z",
                    "resolved_at": "2026-12-03T00:00:00Z"}
        });
        let finding = detection_finding(&event, "0.1.0").unwrap();
        assert_eq!(finding["class_uid"], 2004);
        assert_eq!(finding["type_uid"], 200403);
        assert_eq!(finding["status_id"], 4);
        assert_eq!(finding["severity_id"], 4);
        assert_eq!(finding["finding_info"]["uid"], "f1");
        assert_eq!(finding["resources"][0]["uid"], "/subscriptions/s-1/sa");
        assert_eq!(finding["cloud"]["account"]["uid"], "s-1");
        assert_eq!(finding["cloud"]["provider"], "Azure");
        assert_eq!(finding["remediation"]["desc"], "Close it.");
        assert_eq!(finding["unmapped"]["compliance"], json!(["CIS X 3.1"]));
        assert_eq!(
            finding["time"],
            rfc3339_millis("2026-12-03T00:00:00Z").unwrap()
        );
        assert!(detection_finding(&json!({"com": {"record_type": "vm"}}), "0.1.0").is_none());
    }
}
