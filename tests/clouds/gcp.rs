//! What gcpcloud reads: every active project the service account sees, with
//! their firewalls, buckets and Cloud SQL instances, and its shards.

use crate::common::Sandbox;
use crate::{cloud_audit, named, of_type, run_audit, tls_enforced, Clouds};
use serde_json::{json, Value};

/// The `ext.project_id` of each project record of `read`.
fn project_ids(read: &[Value]) -> Vec<&str> {
    of_type(read, "project")
        .iter()
        .map(|p| p["ext"]["project_id"].as_str().unwrap())
        .collect()
}

#[test]
fn gcp_reads_every_active_project_the_service_account_sees() {
    let (sb, clouds, run) = run_audit(&[], "clouds.yaml", |clouds| {
        cloud_audit(clouds, &["gcpcloud"])
    });
    run.assert_status(0);
    let read = sb.records("cloudaudit_gcpcloud.json");
    assert_eq!(
        project_ids(&read),
        ["example-project", "second-project"],
        "both pages; the deleted one left out"
    );
    let project = of_type(&read, "project")[0];
    assert_eq!(project["ext"]["project_name"], "Example Project");
    assert!(project["ext"]["client_email"]
        .as_str()
        .unwrap()
        .contains('@'));
    assert_eq!(of_type(&read, "collection_summary").len(), 2);
    let rule = of_type(&read, "firewall_rule")[0];
    assert!(rule["ext"]["firewall_link"]
        .as_str()
        .unwrap()
        .contains("/global/firewalls/"));
    assert!(rule["ext"]["firewall_id"].is_string(), "{rule}");
    run.assert_says(
        "Project second-project: read 0 bucket, 0 compute, 0 firewall, 0 sql_instance.",
    );
    // Beyond upstream: buckets with who can read them, Cloud SQL instances
    // as databases, their authorized networks as firewall rules.
    let buckets = of_type(&read, "bucket");
    assert_eq!(buckets.len(), 2);
    let public = named(&buckets, "public-bucket");
    assert_eq!(public["ext"]["public_members"], json!(["allUsers"]));
    assert_eq!(public["ext"]["uniform_bucket_level_access"], false);
    let sql = of_type(&read, "sql_instance");
    let tls = tls_enforced(&sql);
    assert_eq!(
        tls,
        [("pg-open", &json!(false)), ("mysql-private", &json!(true))]
    );
    let networks = of_type(&read, "sql_authorized_network");
    assert_eq!(networks.len(), 2);
    assert_eq!(networks[0]["com"]["destination_ports"], json!(["5432"]));

    // _max_projects limits the read, as upstream's does.
    let run = cloud_audit(&clouds, &["gcpcloud"])
        .with_params("gcpcloud", ", _max_projects: 1")
        .run(&sb, "clouds.yaml");
    run.assert_status(0);
    let read = sb.records("cloudaudit_gcpcloud.json");
    assert_eq!(of_type(&read, "project").len(), 1);
}

#[test]
fn gcp_shards_divide_the_projects() {
    use cloudmarker_plugin_api::sdk::shard::Shard;
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    cloud_audit(&clouds, &["gcpcloud"]).write(&sb, "clouds.yaml");
    let mut union = Vec::new();
    for index in 0..2u32 {
        let shard = format!("{index}/2");
        let run = sb.run(&["-n", "--shard", &shard, "-c", "sandbox.yaml", "clouds.yaml"]);
        run.assert_status(0);
        let expected: Vec<&str> = ["example-project", "second-project"]
            .into_iter()
            .filter(|p| Shard::of(p, 2) == index)
            .collect();
        run.assert_says(&format!(
            "Shard {shard}: taking {} of 2 project(s).",
            expected.len()
        ));
        let read = if expected.is_empty() {
            Vec::new()
        } else {
            sb.records("cloudaudit_gcpcloud.json")
        };
        let projects = project_ids(&read);
        assert_eq!(projects, expected, "shard {shard}");
        for summary in of_type(&read, "collection_summary") {
            assert_eq!(summary["ext"]["shard"], shard.as_str());
            assert_eq!(summary["ext"]["shard_scopes"]["of"], 2);
        }
        union.extend(projects.iter().map(|p| p.to_string()));
    }
    union.sort();
    assert_eq!(union, ["example-project", "second-project"]);
}
