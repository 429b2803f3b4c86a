//! Compute Engine beyond firewalls and instances: the project's metadata
//! (`compute_project`), VPC networks with whether their DNS queries are
//! logged (`network`), subnetworks and backend services of every region.

use crate::{collected, emit_listed, last_segment, Reader};
use cloudrest::{Collected, Emitter};
use serde_json::{Map, Value};

/// One `compute_project` record: Compute Engine's `projects.get`
/// (`commonInstanceMetadata`: OS Login, serial port, project-wide SSH keys).
pub fn read_compute_project(
    reader: &Reader<'_>,
    project: &str,
    project_ext: &Map<String, Value>,
    emit: &Emitter,
) -> Collected {
    let url = format!("{}/projects/{project}", reader.compute_url);
    let result = reader
        .get(
            &format!("project {project}: reading its Compute Engine settings"),
            &url,
        )
        .map(|answer| {
            let record = crate::record(project_ext, "compute_project")
                .reference(answer.get("selfLink").cloned().unwrap_or(url.into()));
            emit.record(record.to_json(&answer));
            1
        });
    collected("compute_project", result)
}

/// One `network` record per VPC network, `ext.dns_logging_enabled` when a
/// DNS policy with `enableLogging` lists it. When the DNS policies cannot
/// be read, the networks are still emitted with `dns_logging_enabled: null`
/// and `network` is reported failed: what a check of it says is unknown.
pub fn read_networks(
    reader: &Reader<'_>,
    project: &str,
    project_ext: &Map<String, Value>,
    emit: &Emitter,
) -> Collected {
    let url = format!("{}/projects/{project}/global/networks", reader.compute_url);
    let networks = match reader.items(&format!("project {project}: listing networks"), &url) {
        Ok(networks) => networks,
        Err(why) => return collected("network", Err(why)),
    };
    let url = format!("{}/projects/{project}/policies", reader.dns_url);
    let policies = reader.list_of(
        &format!("project {project}: listing DNS policies"),
        &url,
        "policies",
    );
    let logged: Option<Vec<String>> = policies.as_ref().ok().map(|policies| {
        policies
            .iter()
            .filter(|p| p.get("enableLogging").and_then(Value::as_bool) == Some(true))
            .filter_map(|p| p.get("networks").and_then(Value::as_array))
            .flatten()
            .filter_map(|n| n.get("networkUrl").and_then(Value::as_str))
            .filter_map(network_path)
            .map(str::to_string)
            .collect()
    });
    for network in &networks {
        let link = network.get("selfLink").and_then(Value::as_str);
        let dns_logging = match (&logged, link.and_then(network_path)) {
            (Some(logged), Some(path)) => Value::Bool(logged.iter().any(|l| l == path)),
            (Some(_), None) => Value::Bool(false),
            (None, _) => Value::Null,
        };
        let record = crate::record(project_ext, "network")
            .reference(network.get("selfLink").cloned())
            .ext("dns_logging_enabled", dns_logging);
        if !emit.record(record.to_json(network)) {
            break;
        }
    }
    let mut collected = collected("network", Ok(networks.len()));
    if let Err(why) = policies {
        collected.fail("network", format!("{why} (dns_logging_enabled unknown)"));
    }
    collected
}

/// `projects/<p>/global/networks/<n>` of a network URL, whatever its host
/// and API version (DNS policies name networks by a URL of their own).
fn network_path(url: &str) -> Option<&str> {
    url.find("projects/").map(|at| &url[at..])
}

/// One `subnetwork` record per subnetwork of every region
/// (`subnetworks.aggregatedList`), `ext.region` its region's name.
pub fn read_subnetworks(
    reader: &Reader<'_>,
    project: &str,
    project_ext: &Map<String, Value>,
    emit: &Emitter,
) -> Collected {
    let url = format!(
        "{}/projects/{project}/aggregated/subnetworks",
        reader.compute_url
    );
    let subnets = reader.aggregated(
        &format!("project {project}: listing subnetworks"),
        &url,
        "subnetworks",
    );
    emit_listed("subnetwork", subnets, emit, |subnet| {
        crate::record(project_ext, "subnetwork")
            .reference(subnet.get("selfLink").cloned())
            .ext("region", last_segment(subnet.get("region")))
    })
}

/// One `backend_service` record per backend service, global and regional
/// (`backendServices.aggregatedList`).
pub fn read_backend_services(
    reader: &Reader<'_>,
    project: &str,
    project_ext: &Map<String, Value>,
    emit: &Emitter,
) -> Collected {
    let url = format!(
        "{}/projects/{project}/aggregated/backendServices",
        reader.compute_url
    );
    let services = reader.aggregated(
        &format!("project {project}: listing backend services"),
        &url,
        "backendServices",
    );
    emit_listed("backend_service", services, emit, |service| {
        crate::record(project_ext, "backend_service").reference(service.get("selfLink").cloned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_whatever_the_host_of_their_url() {
        assert_eq!(
            network_path(
                "https://www.googleapis.com/compute/v1/projects/p/global/networks/default"
            ),
            Some("projects/p/global/networks/default")
        );
        assert_eq!(
            network_path(
                "https://compute.googleapis.com/compute/beta/projects/p/global/networks/default"
            ),
            Some("projects/p/global/networks/default")
        );
        assert_eq!(network_path("default"), None);
    }
}
