//! Cloud DNS managed zones (`dns_managed_zone`): DNSSEC and its key
//! algorithms.

use crate::Project;
use cloudrest::Collected;
use serde_json::Value;

/// One `dns_managed_zone` record per managed zone, public and private.
pub fn read_managed_zones(project: &Project<'_>) -> Collected {
    let url = project.url(project.reader.dns_url, "/managedZones");
    let zones = project.list_of("listing DNS managed zones", &url, "managedZones");
    project.emit_listed("dns_managed_zone", zones, |zone, record| {
        let name = zone.get("name").and_then(Value::as_str).unwrap_or_default();
        record.reference(format!("projects/{}/managedZones/{name}", project.id))
    })
}
