//! Compute Engine beyond firewalls and instances: the project's metadata
//! (`compute_project`), VPC networks with whether their DNS queries are
//! logged (`network`), subnetworks and backend services of every region.

use crate::{collected, last_segment, Project};
use cloudrest::Collected;
use serde_json::Value;

/// One `compute_project` record: Compute Engine's `projects.get`
/// (`commonInstanceMetadata`: OS Login, serial port, project-wide SSH keys).
pub fn read_compute_project(project: &Project<'_>) -> Collected {
    let url = project.url(project.reader.compute_url, "");
    let answer = project.get("reading its Compute Engine settings", &url);
    project.emit_one("compute_project", answer, |answer, record| {
        record.reference(answer.get("selfLink").cloned().unwrap_or(url.into()))
    })
}

/// One `network` record per VPC network, `ext.dns_logging_enabled` when a
/// DNS policy with `enableLogging` lists it. When the DNS policies cannot
/// be read, the networks are still emitted with `dns_logging_enabled: null`
/// and `network` is reported failed: what a check of it says is unknown.
pub fn read_networks(project: &Project<'_>) -> Collected {
    let url = project.url(project.reader.compute_url, "/global/networks");
    let networks = match project.items("listing networks", &url) {
        Ok(networks) => networks,
        Err(why) => return collected("network", Err(why)),
    };
    let url = project.url(project.reader.dns_url, "/policies");
    let policies = project.list_of("listing DNS policies", &url, "policies");
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
        let record = project
            .record("network")
            .reference(network.get("selfLink").cloned())
            .ext("dns_logging_enabled", dns_logging);
        if !project.emit(record, network) {
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
pub fn read_subnetworks(project: &Project<'_>) -> Collected {
    let subnets = aggregated(project, "subnetworks", "subnetworks");
    project.emit_listed("subnetwork", subnets, |subnet, record| {
        record
            .reference(subnet.get("selfLink").cloned())
            .ext("region", last_segment(subnet.get("region")))
    })
}

/// One `backend_service` record per backend service, global and regional
/// (`backendServices.aggregatedList`).
pub fn read_backend_services(project: &Project<'_>) -> Collected {
    let services = aggregated(project, "backendServices", "backend services");
    project.emit_listed("backend_service", services, |service, record| {
        record.reference(service.get("selfLink").cloned())
    })
}

/// The `resource` (`subnetworks`, `backendServices`) of every region of
/// the project and the global ones: Compute Engine's aggregated list.
fn aggregated(project: &Project<'_>, resource: &str, named: &str) -> Result<Vec<Value>, String> {
    let url = project.url(
        project.reader.compute_url,
        &format!("/aggregated/{resource}"),
    );
    let what = project.what(&format!("listing {named}"));
    project.reader.aggregated(&what, &url, resource)
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
