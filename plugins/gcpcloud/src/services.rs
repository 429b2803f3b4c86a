//! The APIs enabled in a project (`enabled_services`).

use crate::{last_segment, Project};
use cloudrest::Collected;
use serde_json::{json, Value};

/// One `enabled_services` record: Service Usage's enabled services under
/// `raw.services`, their names (`cloudasset.googleapis.com`) in
/// `ext.services`.
pub fn read_enabled_services(project: &Project<'_>) -> Collected {
    let url = project.url(
        project.reader.serviceusage_url,
        "/services?filter=state:ENABLED&pageSize=200",
    );
    let listed = project.list_of("listing enabled services", &url, "services");
    project.emit_one(
        "enabled_services",
        listed.map(|services| json!({ "services": services })),
        |answer, record| {
            let names: Vec<&str> = answer["services"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| {
                    s.pointer("/config/name")
                        .and_then(Value::as_str)
                        .or_else(|| last_segment(s.get("name")))
                })
                .collect();
            record
                .reference(format!("projects/{}", project.id))
                .ext("services", names)
        },
    )
}
