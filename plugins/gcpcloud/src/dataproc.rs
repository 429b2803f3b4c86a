//! Dataproc clusters (`dataproc_cluster`): their disk encryption keys.

use crate::{collected, Project};
use cloudrest::Collected;
use serde_json::Value;

/// One `dataproc_cluster` record per cluster of every Compute Engine
/// region of the project (`ext.region`). Cost: one regions.list, then one
/// clusters.list per region (about 40), sequentially.
pub fn read_clusters(project: &Project<'_>) -> Collected {
    let url = project.url(project.reader.compute_url, "/regions");
    let regions = match project.items("listing regions", &url) {
        Ok(regions) => regions,
        Err(why) => return collected("dataproc_cluster", Err(why)),
    };
    // Dataproc takes no read-only scope.
    let dataproc = project.full_scope();
    let mut collected = collected("dataproc_cluster", Ok(0));
    for region in regions
        .iter()
        .filter_map(|r| r.get("name").and_then(Value::as_str))
    {
        let url = project.url(
            project.reader.dataproc_url,
            &format!("/regions/{region}/clusters"),
        );
        let doing = format!("listing the Dataproc clusters of {region}");
        let clusters = match dataproc.list_of(&doing, &url, "clusters") {
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
            let record = project
                .record("dataproc_cluster")
                .reference(format!(
                    "projects/{}/regions/{region}/clusters/{name}",
                    project.id
                ))
                .ext("region", region);
            if !project.emit(record, cluster) {
                return collected;
            }
        }
    }
    collected
}
