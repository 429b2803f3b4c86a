//! Cloud DNS managed zones (`dns_managed_zone`): DNSSEC and its key
//! algorithms.

use crate::{collected, Reader};
use cloudrest::{Collected, Emitter};
use serde_json::{Map, Value};

/// One `dns_managed_zone` record per managed zone, public and private.
pub fn read_managed_zones(
    reader: &Reader<'_>,
    project: &str,
    project_ext: &Map<String, Value>,
    emit: &Emitter,
) -> Collected {
    let url = format!("{}/projects/{project}/managedZones", reader.dns_url);
    let result = reader
        .list_of(
            &format!("project {project}: listing DNS managed zones"),
            &url,
            "managedZones",
        )
        .map(|zones| {
            for zone in &zones {
                let name = zone.get("name").and_then(Value::as_str).unwrap_or_default();
                let record = crate::record(project_ext, "dns_managed_zone")
                    .reference(format!("projects/{project}/managedZones/{name}"));
                if !emit.record(record.to_json(zone)) {
                    break;
                }
            }
            zones.len()
        });
    collected("dns_managed_zone", result)
}
