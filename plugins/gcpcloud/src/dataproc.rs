//! Dataproc clusters (`dataproc_cluster`): their disk encryption keys.

use crate::{collected, Reader};
use cloudrest::{Collected, Emitter};
use serde_json::{Map, Value};

/// One `dataproc_cluster` record per cluster of every Compute Engine
/// region of the project (`ext.region`). Cost: one regions.list, then one
/// clusters.list per region (about 40), sequentially.
pub fn read_clusters(
    reader: &Reader<'_>,
    project: &str,
    project_ext: &Map<String, Value>,
    emit: &Emitter,
) -> Collected {
    let url = format!("{}/projects/{project}/regions", reader.compute_url);
    let regions = match reader.items(&format!("project {project}: listing regions"), &url) {
        Ok(regions) => regions,
        Err(why) => return collected("dataproc_cluster", Err(why)),
    };
    // Dataproc takes no read-only scope.
    let dataproc = reader.full_scope();
    let mut collected = collected("dataproc_cluster", Ok(0));
    for region in regions
        .iter()
        .filter_map(|r| r.get("name").and_then(Value::as_str))
    {
        let url = format!(
            "{}/projects/{project}/regions/{region}/clusters",
            reader.dataproc_url
        );
        let clusters = match dataproc.list_of(
            &format!("project {project}: listing the Dataproc clusters of {region}"),
            &url,
            "clusters",
        ) {
            Ok(clusters) => clusters,
            Err(why) => {
                collected.fail("dataproc_cluster", why);
                continue;
            }
        };
        collected.count("dataproc_cluster", clusters.len());
        for cluster in &clusters {
            let name = cluster
                .get("clusterName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let record = crate::record(project_ext, "dataproc_cluster")
                .reference(format!(
                    "projects/{project}/regions/{region}/clusters/{name}"
                ))
                .ext("region", region);
            if !emit.record(record.to_json(cluster)) {
                return collected;
            }
        }
    }
    collected
}
