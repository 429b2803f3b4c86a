//! Configs written for upstream Cloudmarker HEAD: its class names and
//! params run unchanged.

use crate::common::Sandbox;
use crate::{
    azure_list_requests, cloud_audit, gcp_key, most_at_once, run_audit, upstream_key, AuditYaml,
    Clouds, SECRET,
};

/// `lines` as the block params of a plugin (see [`AuditYaml::plugin`]),
/// leaving out empty ones.
fn block(lines: &[&str]) -> String {
    lines
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| format!("\n      {l}"))
        .collect()
}

/// Upstream Cloudmarker HEAD's class names and params, unchanged: every
/// cloud and every event of upstream in one audit `headaudit`, written to
/// `head.yaml`. Gives the event plugins' keys.
pub(crate) fn head_config(sb: &Sandbox, clouds: &Clouds) -> Vec<String> {
    let url = clouds.url();
    let azure = block(&[
        "tenant: tenant-1",
        "client: client-id",
        &format!("secret: {SECRET}"),
        "processes: 4",
        "threads: 30",
        "_max_subs: 0",
        "_max_recs: 0",
        &format!("authority_host: {}", clouds.server.authority()),
        &format!("ca_cert: {}", clouds.server.ca_cert.display()),
        &format!("resource_manager: {url}"),
    ]);
    let gcp = block(&[
        &format!("key_file_path: {}", gcp_key().display()),
        "processes: 4",
        "threads: 10",
        "_max_projects: 0",
        &format!("compute_url: {url}/compute/v1"),
        &format!("resource_manager_url: {url}/cloudresourcemanager/v1"),
        &format!("storage_url: {url}/storage/v1"),
        &format!("sqladmin_url: {url}/sqladmin/v1"),
        &format!("dns_url: {url}/dns/v1"),
        &format!("iam_url: {url}/iam/v1"),
        &format!("apikeys_url: {url}/apikeys/v2"),
        &format!("serviceusage_url: {url}/serviceusage/v1"),
        &format!("logging_url: {url}/logging/v2"),
        &format!("monitoring_url: {url}/monitoring/v3"),
        &format!("cloudkms_url: {url}/cloudkms/v1"),
        &format!("bigquery_url: {url}/bigquery/v2"),
        &format!("dataproc_url: {url}/dataproc/v1"),
        &format!("essentialcontacts_url: {url}/essentialcontacts/v1"),
    ]);
    let mut audit = AuditYaml::new("headaudit");
    for class in [
        "AzCloud",
        "AzVM",
        "AzDisk",
        "AzKV",
        "AzMonitor",
        "AzPostgres",
        "AzSQL",
        "AzStorageAccount",
        "AzWebApp",
    ] {
        audit = audit.upstream_cloud(class, &azure);
    }
    audit = audit.upstream_cloud("GCPCloud", &gcp);
    let events = [
        ("FirewallRuleEvent", ""),
        ("AzVMOSDiskEncryptionEvent", ""),
        ("AzVMDataDiskEncryptionEvent", ""),
        ("AzVMExtensionEvent", "blacklisted: [IaaSAntiMalware-ext0]"),
        ("AzKVKeyNoExpiryEvent", ""),
        ("AzKVSecretNoExpiryEvent", ""),
        ("AzKVNonRecoverableEvent", ""),
        ("AzLogProfileEvent", ""),
        ("AzLogProfileMissingCategoryEvent", ""),
        ("AzLogProfileMissingLocationEvent", ""),
        ("AzLogProfileRetentionEvent", "_min_retention_days: 365"),
        ("AzPostgresConnectionThrottlingEvent", ""),
        ("AzPostgresLogCheckpointsEvent", ""),
        ("AzPostgresLogConnectionsEvent", ""),
        ("AzPostgresLogDisconnectionsEvent", ""),
        ("AzPostgresLogDurationEvent", ""),
        (
            "AzPostgresLogRetentionDaysEvent",
            "_min_log_retention_days: 3",
        ),
        ("AzSQLDatabaseTDEEvent", ""),
        ("AzStorageAccountAllowTrustedServicesEvent", ""),
        ("AzStorageAccountDefaultNetworkAccessEvent", ""),
        ("AzStorageAccountSecureTransferEvent", ""),
        ("AzWebAppClientCertEvent", ""),
        ("AzWebAppHttp20Event", ""),
        ("AzWebAppHttpsEvent", ""),
        ("AzWebAppTLSEvent", "_min_tls_version: 1.2"),
        ("RDBMSEnforceTLSEvent", ""),
    ];
    for (class, params) in events {
        audit = audit.upstream_event(class, &block(&[params]));
    }
    audit.write(sb, "head.yaml");
    events
        .iter()
        .map(|(class, _)| upstream_key(class))
        .collect()
}

#[test]
fn an_upstream_head_config_runs_with_every_plugin() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    let events = head_config(&sb, &clouds);
    let run = sb.run(&["validate", "-c", "sandbox.yaml", "head.yaml"]);
    assert_eq!(
        run.status,
        Some(0),
        "an upstream config is valid as it is: {}",
        run.output()
    );
    let run = sb.run_now(&["head.yaml"]);
    // The fixtures deny a vault, an app's configuration and a server's
    // parameters on purpose: those partial reads make the run exit 1.
    run.assert_status(1);
    assert!(
        !run.output().contains("Cannot start"),
        "every plugin started: {}",
        run.output()
    );
    run.assert_says("Audit headaudit finished:");
    // Every check finds something in the fixtures, but the trusted services
    // one: no published storage account keeps Azure services out.
    for key in events {
        let file = sb.out().join(format!("headaudit_{key}.json"));
        let expected = key != "azstorageaccountallowtrustedservicesevent";
        assert_eq!(file.exists(), expected, "{key}");
    }
}

#[test]
fn configs_written_for_upstream_head_run_unchanged() {
    // threads is upstream's max_concurrency; processes and _max_projects are
    // accepted (one notice for processes).
    let (_sb, clouds, run) = run_audit(&["--latency-ms", "50"], "clouds.yaml", |clouds| {
        cloud_audit(clouds, &["azcloud", "gcpcloud"])
            .with_params("azcloud", ", threads: 1, processes: 4")
            .with_params("gcpcloud", ", threads: 2, processes: 2, _max_projects: 1")
    });
    run.assert_status(0);
    run.assert_says("The processes param has no effect in cloudmarker");
    let overlapping = most_at_once(&azure_list_requests(&clouds)) > 1;
    assert!(!overlapping, "threads: 1 means one Azure request at a time");
}
