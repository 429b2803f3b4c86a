//! What gcpcloud reads: every active project the service account sees, with
//! their firewalls, buckets and Cloud SQL instances, and its shards.

use crate::common::{automated_statuses, Run, Sandbox};
use crate::{
    cloud_audit, count_requests, failed_in, named, of_type, reference, run_audit, tls_enforced,
    Clouds,
};
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
    let (sb, clouds, run, read) = gcp_audit(&[], 0);
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
        "Project second-project: read 0 api_key, 0 backend_service, 0 bigquery_dataset, 0 bigquery_table, 0 bucket, 0 compute, 1 compute_project, 0 dataproc_cluster, 0 dns_managed_zone, 1 enabled_services, 1 essential_contacts, 0 firewall, 1 iam_policy, 0 kms_crypto_key, 1 log_metrics, 0 log_sink, 1 log_sinks, 0 network, 0 service_account, 0 service_account_key, 0 sql_instance, 0 subnetwork.",
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

/// Whole days from the midnight (UTC) `days_since_epoch` to now, as the
/// plugin computes `age_days`.
fn days_since(days_since_epoch: u64) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    now / 86_400 - days_since_epoch
}

/// An audit of gcpcloud alone over the local Google API server, which
/// answers the requests matching each of `faults` (`PATTERN=STATUS`, the
/// server's `--fail`) with that status; the run's exit `status` asserted.
/// Its sandbox, servers, run and the records read.
fn gcp_audit(faults: &[&str], status: i32) -> (Sandbox, Clouds, Run, Vec<Value>) {
    let server_args: Vec<&str> = faults.iter().flat_map(|f| ["--fail", f]).collect();
    let (sb, clouds, run) = run_audit(&server_args, "clouds.yaml", |clouds| {
        cloud_audit(clouds, &["gcpcloud"])
    });
    run.assert_status(status);
    let read = sb.records("cloudaudit_gcpcloud.json");
    (sb, clouds, run, read)
}

/// The records of `record_type` read from the project `example-project`.
fn example<'a>(read: &'a [Value], record_type: &str) -> Vec<&'a Value> {
    of_type(read, record_type)
        .into_iter()
        .filter(|r| r["ext"]["project_id"] == "example-project")
        .collect()
}

/// The record of `records` whose `com.reference` ends with `tail`.
fn ending<'a>(records: &[&'a Value], tail: &str) -> &'a Value {
    records
        .iter()
        .find(|r| {
            r["com"]["reference"]
                .as_str()
                .unwrap_or_default()
                .ends_with(tail)
        })
        .unwrap_or_else(|| panic!("no record whose reference ends with {tail}"))
}

#[test]
fn gcp_reads_the_iam_policy_networks_and_load_balancers_of_each_project() {
    let (_sb, clouds, run, read) = gcp_audit(&[], 0);

    // getIamPolicy (gcpdiag's gce3 capture): bindings and audit configs as
    // the API answers them.
    let policy = example(&read, "iam_policy");
    assert_eq!(policy.len(), 1);
    let policy = policy[0];
    assert_eq!(reference(policy), "projects/example-project");
    // No common model type: com.record_type is null, ext.record_type names
    // the record (the contract's).
    assert_eq!(policy["ext"]["record_type"], "iam_policy");
    assert_eq!(policy["com"]["record_type"], Value::Null);
    assert_eq!(policy["com"]["cloud_type"], "gcp");
    assert_eq!(policy["ext"]["client_email"], "service-account@example.com");
    assert_eq!(
        policy["raw"]["auditConfigs"][1],
        json!({"auditLogConfigs": [{"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}], "service": "compute.googleapis.com"})
    );
    assert!(policy["raw"]["bindings"].as_array().unwrap().len() > 3);
    assert_eq!(of_type(&read, "iam_policy").len(), 2, "one per project");

    // Compute Engine's project: its metadata.
    let project = example(&read, "compute_project")[0];
    assert_eq!(
        reference(project),
        "https://www.googleapis.com/compute/v1/projects/gcpdiag-gce1-aaaa"
    );
    assert_eq!(
        project["raw"]["commonInstanceMetadata"]["items"][0],
        json!({"key": "serial-port-logging-enable", "value": "true"})
    );

    // Networks: logged by a DNS policy (the second page's policy does not
    // log, and names its network by another host's URL).
    let networks = example(&read, "network");
    assert_eq!(networks.len(), 2);
    let logging: Vec<(&str, &Value)> = networks
        .iter()
        .map(|n| {
            (
                n["raw"]["name"].as_str().unwrap(),
                &n["ext"]["dns_logging_enabled"],
            )
        })
        .collect();
    assert_eq!(
        logging,
        [("default", &json!(true)), ("apigee-network", &json!(false))]
    );
    assert_eq!(networks[0]["raw"]["autoCreateSubnetworks"], true);

    // Subnetworks of every region (aggregatedList), with the region's name.
    let subnets = example(&read, "subnetwork");
    assert_eq!(subnets.len(), 37);
    let gke = ending(&subnets, "/regions/europe-west4/subnetworks/gke1-subnet");
    assert_eq!(gke["ext"]["region"], "europe-west4");
    assert_eq!(gke["raw"]["logConfig"]["enable"], false);
    assert_eq!(gke["raw"]["purpose"], "PRIVATE");

    // Backend services, global and regional.
    let services = example(&read, "backend_service");
    assert_eq!(services.len(), 3);
    let global = ending(&services, "/global/backendServices/aaaa");
    assert_eq!(global["raw"]["logConfig"], json!({"enable": false}));
    assert_eq!(global["raw"]["loadBalancingScheme"], "EXTERNAL_MANAGED");
    ending(&services, "/regions/us-central1/backendServices/backend1");

    // Service accounts, their keys (with ages), API keys, enabled services.
    let accounts = example(&read, "service_account");
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["ext"]["user_managed_keys"], 1);
    assert_eq!(
        reference(accounts[0]),
        "projects/gcpdiag-gce1-aaaa/serviceAccounts/12340001-compute@developer.gserviceaccount.com"
    );
    let keys = example(&read, "service_account_key");
    let ages: Vec<(&str, &Value, u64)> = keys
        .iter()
        .map(|k| {
            assert_eq!(
                k["ext"]["service_account_email"],
                "12340001-compute@developer.gserviceaccount.com"
            );
            (
                k["raw"]["keyType"].as_str().unwrap(),
                &k["raw"]["validAfterTime"],
                k["ext"]["age_days"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ages,
        [
            (
                "USER_MANAGED",
                &json!("2024-01-15T00:00:00Z"),
                days_since(19_737)
            ),
            (
                "SYSTEM_MANAGED",
                &json!("2025-06-01T00:00:00Z"),
                days_since(20_240)
            ),
        ]
    );
    let api_keys = example(&read, "api_key");
    assert_eq!(api_keys.len(), 2, "both pages");
    assert_eq!(api_keys[0]["ext"]["age_days"], days_since(19_737));
    assert!(api_keys[0]["raw"].get("restrictions").is_none());
    assert_eq!(
        api_keys[1]["raw"]["restrictions"]["apiTargets"],
        json!([{"service": "translate.googleapis.com"}])
    );
    let enabled = example(&read, "enabled_services");
    assert_eq!(enabled.len(), 1);
    assert_eq!(reference(enabled[0]), "projects/example-project");
    let names = enabled[0]["ext"]["services"].as_array().unwrap();
    assert_eq!(names.len(), 15);
    assert!(names.contains(&json!("bigquery.googleapis.com")));
    assert_eq!(
        enabled[0]["raw"]["services"][1]["name"],
        "projects/12340001/services/bigquery.googleapis.com"
    );

    // The IAM and Monitoring APIs take no read-only scope; every other API
    // is read with the read-only scope.
    let mut iam_requests = 0;
    for request in crate::common::json_lines(&clouds.log) {
        let (Some(path), Some(scope)) = (request["path"].as_str(), request["scope"].as_str())
        else {
            continue;
        };
        let expected = if [
            "/iam/v1/",
            "/monitoring/v3/",
            "/cloudkms/v1/",
            "/dataproc/v1/",
            "/essentialcontacts/v1/",
        ]
        .iter()
        .any(|p| path.starts_with(p))
        {
            iam_requests += usize::from(path.starts_with("/iam/v1/"));
            "https://www.googleapis.com/auth/cloud-platform"
        } else {
            "https://www.googleapis.com/auth/cloud-platform.read-only"
        };
        assert_eq!(scope, expected, "{path}");
    }
    assert_eq!(iam_requests, 2 + 1, "two projects' accounts, one's keys");

    run.assert_says("Project example-project: read 2 api_key, 3 backend_service, 2 bigquery_dataset, 3 bigquery_table, 2 bucket, 1 compute, 1 compute_project, 4 dataproc_cluster, 2 dns_managed_zone, 1 enabled_services, 1 essential_contacts, 4 firewall, 1 iam_policy, 3 kms_crypto_key, 1 log_metrics, 4 log_sink, 1 log_sinks, 2 network, 1 service_account, 2 service_account_key, 2 sql_instance, 37 subnetwork.");
}

#[test]
fn gcp_reports_each_denied_api_as_its_record_type_failed() {
    // A 403 on each read: the summary says which record types were not
    // read (so their checks are not evaluated), and the rest is read.
    let denied = [
        ("iam_policy", ":getIamPolicy=403"),
        (
            "compute_project",
            "/compute/v1/projects/example-project$=403",
        ),
        ("subnetwork", "/aggregated/subnetworks=403"),
        ("backend_service", "/aggregated/backendServices=403"),
        ("api_key", "/apikeys/v2/=403"),
        ("enabled_services", "/serviceusage/v1/=403"),
        (
            "service_account",
            "/iam/v1/projects/example-project/serviceAccounts=403",
        ),
        ("log_sink", "/logging/v2/projects/example-project/sinks=403"),
        ("log_metrics", "/monitoring/v3/=403"),
        ("dns_managed_zone", "/managedZones=403"),
        ("kms_crypto_key", "/cloudkms/v1/=403"),
        ("dataproc_cluster", "/dataproc/v1/=403"),
        ("essential_contacts", "/essentialcontacts/v1/projects/=403"),
        ("bigquery_dataset", "/bigquery/v2/=403"),
    ];
    let faults: Vec<&str> = denied.iter().map(|(_, fault)| *fault).collect();
    let (_sb, _clouds, _run, read) = gcp_audit(&faults, 1);
    let summary = of_type(&read, "collection_summary")
        .into_iter()
        .find(|s| s["ext"]["project_id"] == "example-project")
        .unwrap();
    assert_eq!(summary["ext"]["complete"], false);
    let failed = summary["ext"]["failed"].as_object().unwrap();
    let mut expected: Vec<&str> = denied.iter().map(|(t, _)| *t).collect();
    expected.push("service_account_key");
    expected.push("bigquery_table");
    expected.push("log_sinks");
    expected.sort();
    assert_eq!(failed.keys().collect::<Vec<_>>(), expected, "{summary}");
    assert!(
        failed["iam_policy"]
            .as_str()
            .unwrap()
            .starts_with("gcpcloud: HTTP 403: project example-project: reading its IAM policy: PERMISSION_DENIED"),
        "{summary}"
    );
    for record_type in &expected {
        assert!(
            of_type(&read, record_type)
                .iter()
                .all(|r| r["ext"]["project_id"] != "example-project"),
            "no {record_type} record of the denied project"
        );
    }
    // The other reads are whole.
    assert_eq!(summary["ext"]["collected"]["network"], 2);
    assert_eq!(summary["ext"]["collected"]["firewall"], 4);

    // DNS policies denied: the networks are read, but whether they log DNS
    // is unknown, and `network` is reported failed. The same for the
    // retention lock of a sink's destination bucket, and `log_sink`.
    let faults = [
        "/dns/v1/projects/example-project/policies=403",
        "/storage/v1/b/audit-log-archive$=403",
    ];
    let (sb, _clouds, _run, read) = gcp_audit(&faults, 1);
    let failed = failed_in(&sb, "cloudaudit_gcpcloud.json");
    assert_eq!(
        failed.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["log_sink", "network"]
    );
    assert!(
        failed["log_sink"].as_str().unwrap().contains(
            "log sink all-logs-archive: reading its destination bucket audit-log-archive"
        ),
        "{failed}"
    );
    assert!(
        failed["network"].as_str().unwrap().starts_with(
            "gcpcloud: HTTP 403: project example-project: listing DNS policies: PERMISSION_DENIED"
        ),
        "{failed}"
    );
    let networks = of_type(&read, "network");
    assert_eq!(networks.len(), 2);
    assert!(networks
        .iter()
        .all(|n| n["ext"]["dns_logging_enabled"].is_null()));
    let archive = of_type(&read, "log_sink")
        .into_iter()
        .find(|s| s["raw"]["name"] == "all-logs-archive")
        .unwrap();
    assert_eq!(
        archive["ext"]["destination_bucket"],
        json!({"name": "audit-log-archive", "retention_locked": null, "retention_period": null})
    );

    // A key list denied: the account is read with user_managed_keys null,
    // both types failed.
    let (sb, _clouds, _run, read) = gcp_audit(&["gserviceaccount.com/keys=403"], 1);
    let failed = failed_in(&sb, "cloudaudit_gcpcloud.json");
    assert_eq!(
        failed.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["service_account", "service_account_key"]
    );
    assert!(of_type(&read, "service_account")[0]["ext"]["user_managed_keys"].is_null());
}

#[test]
fn gcp_reads_log_sinks_log_metrics_with_their_alerts_and_dns_zones() {
    let (_sb, _clouds, _run, read) = gcp_audit(&[], 0);

    // Sinks (two pages), the Cloud Storage one with its bucket's lock.
    let sinks = example(&read, "log_sink");
    let names: Vec<&str> = sinks
        .iter()
        .map(|s| s["raw"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "_Required",
            "_Default",
            "all-logs-archive",
            "audit-to-bigquery"
        ]
    );
    let archive = ending(&sinks, "/sinks/all-logs-archive");
    assert_eq!(
        reference(archive),
        "projects/example-project/sinks/all-logs-archive"
    );
    assert_eq!(
        archive["raw"]["destination"],
        "storage.googleapis.com/audit-log-archive"
    );
    assert_eq!(
        archive["ext"]["destination_bucket"],
        json!({"name": "audit-log-archive", "retention_locked": true, "retention_period": "31536000"})
    );
    let bigquery = ending(&sinks, "/sinks/audit-to-bigquery");
    assert_eq!(bigquery["ext"]["destination_bucket"], Value::Null);
    assert_eq!(bigquery["raw"]["disabled"], true);

    // Log-based metrics joined with the alert policies (two pages): the
    // enabled policy alerts on one, the disabled one counts for nothing.
    let metrics = example(&read, "log_metrics");
    assert_eq!(metrics.len(), 1);
    let metrics = metrics[0];
    assert_eq!(reference(metrics), "projects/example-project");
    assert_eq!(metrics["raw"]["metrics"].as_array().unwrap().len(), 2);
    assert_eq!(metrics["raw"]["alertPolicies"].as_array().unwrap().len(), 2);
    let joined: Vec<(&str, &Value)> = metrics["ext"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), &m["alerting"]))
        .collect();
    assert_eq!(
        joined,
        [
            ("audit-config-changes", &json!(true)),
            ("vpc-route-changes", &json!(false))
        ]
    );
    assert!(metrics["ext"]["metrics"][0]["filter"]
        .as_str()
        .unwrap()
        .contains("auditConfigDeltas"));
    // A project without metrics or policies still has its record.
    let second = of_type(&read, "log_metrics")
        .into_iter()
        .find(|r| r["ext"]["project_id"] == "second-project")
        .unwrap();
    assert_eq!(second["ext"]["metrics"], json!([]));

    // Managed zones, public with DNSSEC and private.
    let zones = example(&read, "dns_managed_zone");
    assert_eq!(zones.len(), 2);
    let public = ending(&zones, "/managedZones/example-public");
    assert_eq!(
        reference(public),
        "projects/example-project/managedZones/example-public"
    );
    assert_eq!(public["raw"]["visibility"], "public");
    assert_eq!(
        public["raw"]["dnssecConfig"]["defaultKeySpecs"][0],
        json!({"kind": "dns#dnsKeySpec", "keyType": "keySigning", "algorithm": "rsasha1", "keyLength": 2048})
    );
    assert_eq!(
        ending(&zones, "/managedZones/internal-private")["raw"]["visibility"],
        "private"
    );
}

#[test]
fn gcp_reads_kms_keys_bigquery_dataproc_and_essential_contacts() {
    let (sb, clouds, _run, read) = gcp_audit(&[], 0);

    // KMS keys (gcpdiag's, and one without rotation) with their key ring,
    // location, rotation in days and IAM bindings.
    let keys = example(&read, "kms_crypto_key");
    assert_eq!(keys.len(), 3);
    let enabled = ending(&keys, "/cryptoKeys/kms-key-enabled");
    assert_eq!(
        reference(enabled),
        "projects/gcpdiag-gke1-aaaa/locations/us-central1/keyRings/usckr/cryptoKeys/kms-key-enabled"
    );
    assert_eq!(enabled["ext"]["key_ring"], "usckr");
    assert_eq!(enabled["ext"]["location"], "us-central1");
    assert_eq!(enabled["ext"]["rotation_period_days"], 90);
    assert_eq!(enabled["raw"]["rotationPeriod"], "7776000s");
    assert_eq!(
        enabled["ext"]["iam_bindings"][0]["role"],
        "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    );
    let disabled = ending(&keys, "/cryptoKeys/kms-key-disabled");
    assert_eq!(disabled["raw"]["primary"]["state"], "DISABLED");
    assert_eq!(disabled["ext"]["iam_bindings"], json!([]));
    let manual = ending(&keys, "/cryptoKeys/kms-key-no-rotation");
    assert_eq!(manual["ext"]["rotation_period_days"], Value::Null);

    // BigQuery datasets (from datasets.get: access, default key) and
    // tables (from tables.get: their key).
    let datasets = example(&read, "bigquery_dataset");
    assert_eq!(datasets.len(), 2);
    let public = ending(&datasets, "example-project:public_data");
    assert_eq!(
        public["raw"]["access"][1],
        json!({"role": "READER", "iamMember": "allUsers"})
    );
    let analytics = ending(&datasets, "example-project:analytics");
    assert!(
        analytics["raw"]["defaultEncryptionConfiguration"]["kmsKeyName"]
            .as_str()
            .unwrap()
            .ends_with("/kms-key-enabled")
    );
    let tables = example(&read, "bigquery_table");
    assert_eq!(tables.len(), 3);
    let events = ending(&tables, "example-project:analytics.events");
    assert_eq!(events["ext"]["dataset_id"], "analytics");
    assert!(events["raw"]["encryptionConfiguration"]["kmsKeyName"].is_string());
    let open = ending(&tables, "example-project:public_data.open");
    assert_eq!(open["ext"]["dataset_id"], "public_data");
    assert!(open["raw"].get("encryptionConfiguration").is_none());

    // Dataproc clusters of every region (gcpdiag's us-central1 capture).
    let clusters = example(&read, "dataproc_cluster");
    assert_eq!(clusters.len(), 4);
    let good = ending(&clusters, "/regions/us-central1/clusters/good");
    assert_eq!(good["ext"]["region"], "us-central1");
    assert_eq!(good["raw"]["clusterName"], "good");
    assert_eq!(
        count_requests(&clouds, "/dataproc/v1/projects/example-project/regions/"),
        3,
        "one list per region"
    );

    // Essential contacts: the project's (two pages) and its organization's.
    let contacts = example(&read, "essential_contacts");
    assert_eq!(contacts.len(), 1);
    assert_eq!(reference(contacts[0]), "projects/example-project");
    assert_eq!(contacts[0]["raw"]["contacts"].as_array().unwrap().len(), 3);
    assert_eq!(
        contacts[0]["ext"]["categories"],
        json!(["BILLING", "LEGAL", "SECURITY", "SUSPENSION", "TECHNICAL"])
    );

    // max_bigquery_tables bounds the tables.get calls: past it, the tables
    // are reported cut, so their checks are not evaluated.
    let run = cloud_audit(&clouds, &["gcpcloud"])
        .with_params("gcpcloud", ", max_bigquery_tables: 2")
        .run(&sb, "clouds.yaml");
    run.assert_status(1);
    let failed = failed_in(&sb, "cloudaudit_gcpcloud.json");
    assert!(
        failed["bigquery_table"]
            .as_str()
            .unwrap()
            .contains("more than 2 BigQuery tables"),
        "{failed}"
    );
    assert_eq!(
        of_type(&sb.records("cloudaudit_gcpcloud.json"), "bigquery_table").len(),
        2
    );
}

/// The GCP rules over what gcpcloud reads from the local server (the
/// published and derived API answers of tests/data/gcp): the compliance
/// report of CIS GCP 5.0.0 evaluates the requirements their records answer.
#[test]
fn the_gcp_rules_evaluate_what_gcpcloud_reads_for_the_benchmark() {
    let (sb, _clouds, run) = run_audit(&[], "clouds.yaml", |clouds| {
        cloud_audit(clouds, &["gcpcloud"]).event(
            "gcprules",
            "rulesevent",
            "{include: [\"gcp_*\", \"firewall_*\", \"rdbms_*\"]}",
        )
    });
    run.assert_status(0);
    let events = sb.records("cloudaudit_gcprules.json");
    assert!(!events.is_empty());
    let report = sb.run(&crate::common::compliance_json_args(
        "cis_gcp_5.0.0",
        &["sandbox.yaml", "clouds.yaml"],
    ));
    let (statuses, evaluated) = automated_statuses(&report);
    // Each rule whose records the fixtures hold gives its requirement a
    // pass or a fail: 62 of the 71 automated ones. Not evaluated: 2.3 (no
    // rule), 4.11 (no instance of a confidential-capable machine type) and
    // 6.3.x (no SQL Server instance in the fixtures).
    assert!(
        evaluated.len() >= 62,
        "{} evaluated: {statuses:?}",
        evaluated.len()
    );
    for id in [
        "1.5", "1.6", "2.1", "2.4", "2.5", "3.1", "3.3", "4.4", "6.8", "7.1", "8.1",
    ] {
        assert!(evaluated.iter().any(|e| e == id), "{id}: {statuses:?}");
    }
}
