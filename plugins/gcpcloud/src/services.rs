//! The APIs enabled in a project (`enabled_services`).

use crate::{collected, last_segment, Reader};
use cloudrest::{Collected, Emitter};
use serde_json::{json, Map, Value};

/// One `enabled_services` record: Service Usage's enabled services under
/// `raw.services`, their names (`cloudasset.googleapis.com`) in
/// `ext.services`.
pub fn read_enabled_services(
    reader: &Reader<'_>,
    project: &str,
    project_ext: &Map<String, Value>,
    emit: &Emitter,
) -> Collected {
    let url = format!(
        "{}/projects/{project}/services?filter=state:ENABLED&pageSize=200",
        reader.serviceusage_url
    );
    let result = reader
        .list_of(
            &format!("project {project}: listing enabled services"),
            &url,
            "services",
        )
        .map(|services| {
            let names: Vec<&str> = services
                .iter()
                .filter_map(|s| {
                    s.pointer("/config/name")
                        .and_then(Value::as_str)
                        .or_else(|| last_segment(s.get("name")))
                })
                .collect();
            let record = crate::record(project_ext, "enabled_services")
                .reference(format!("projects/{project}"))
                .ext("services", names);
            emit.record(record.to_json(&json!({"services": services})));
            1
        });
    collected("enabled_services", result)
}
