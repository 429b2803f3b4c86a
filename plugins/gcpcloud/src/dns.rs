//! Cloud DNS managed zones (`dns_managed_zone`): DNSSEC and its key
//! algorithms.

use crate::{emit_listed, Reader};
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
    let zones = reader.list_of(
        &format!("project {project}: listing DNS managed zones"),
        &url,
        "managedZones",
    );
    emit_listed("dns_managed_zone", zones, emit, |zone| {
        let name = zone.get("name").and_then(Value::as_str).unwrap_or_default();
        crate::record(project_ext, "dns_managed_zone")
            .reference(format!("projects/{project}/managedZones/{name}"))
    })
}
