//! What each Azure plugin reads from the published examples, and the events
//! its checks raise.

use crate::common::{Run, Sandbox};
use crate::{
    cloud_audit, named, of_type, reference, run_audit, tls_enforced, upstream_key, AuditYaml,
    Clouds,
};
use serde_json::{json, Value};

/// The `com.description` of each record of `records`.
fn descriptions(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|e| e["com"]["description"].as_str().unwrap())
        .collect()
}

/// Runs the audit `audit` (written to `<audit>.yaml`) of upstream's Azure
/// plugin `cloud`, with `azure_extra` params, and upstream's checks `events`.
fn run_checks<'a>(
    audit: &str,
    cloud: &str,
    azure_extra: &str,
    events: impl IntoIterator<Item = &'a str>,
) -> (Sandbox, Clouds, Run) {
    run_audit(&[], &format!("{audit}.yaml"), |clouds| {
        AuditYaml::new(audit)
            .upstream_cloud(cloud, &clouds.azure_params(azure_extra))
            .upstream_events(events)
    })
}

/// Asserts that `failed` (a collection summary's `ext.failed`) says
/// `record_type` was refused (HTTP 403) for `what` (`vault kv-firewalled`).
fn assert_refused(failed: &Value, record_type: &str, what: &str) {
    let failed = failed[record_type].as_str().unwrap();
    assert!(failed.contains(what) && failed.contains("403"), "{failed}");
}

/// Asserts that each of upstream's event plugins `events` (its class and
/// record type) in the audit `audit` raised one event, of its record type,
/// about the resource whose reference ends with `resource`
/// (`/sites/app-insecure`).
fn assert_each_raised_once_about(
    sb: &Sandbox,
    audit: &str,
    events: &[(&str, &str)],
    resource: &str,
) {
    let name = resource.rsplit('/').next().unwrap();
    for &(class, record_type) in events {
        let module = upstream_key(class);
        let raised = sb.records(&format!("{audit}_{module}.json"));
        assert_eq!(raised.len(), 1, "{module}: only {name}: {raised:?}");
        assert_eq!(raised[0]["com"]["record_type"], record_type);
        assert!(reference(&raised[0]).ends_with(resource));
    }
}

#[test]
fn an_audit_of_azure_and_gcp_raises_exactly_the_expected_events() {
    let (sb, clouds, run) = run_audit(&[], "clouds.yaml", |clouds| {
        cloud_audit(clouds, &["azcloud", "azvm", "gcpcloud"])
    });
    run.assert_status(0);

    let mut firewall_events: Vec<(String, Value)> = sb
        .records("cloudaudit_firewallruleevent.json")
        .iter()
        .map(|e| {
            (
                e["com"]["description"].as_str().unwrap().to_string(),
                e["com"]["exposed_ports"].clone(),
            )
        })
        .collect();
    firewall_events.sort_by(|a, b| a.0.cmp(&b.0));
    let nsg = "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups/nsg-open/securityRules";
    let gcp = "https://www.googleapis.com/compute/beta/projects/project1/global/firewalls";
    assert_eq!(
        firewall_events,
        [
            (format!("Azure firewall rule {nsg}/allow-db-range exposes port 1433 to the entire Internet."), json!([1433])),
            (format!("Azure firewall rule {nsg}/allow-ssh-rdp exposes ports 22 and 3389 to the entire Internet."), json!([22, 3389])),
            // A Cloud SQL instance's authorized network 0.0.0.0/0 (beyond upstream).
            (format!("Google Cloud Platform (GCP) firewall rule {}/sqladmin/v1/projects/example-project/instances/pg-open/authorizedNetworks/anywhere exposes port 5432 to the entire Internet.", clouds.url()), json!([5432])),
            (format!("Google Cloud Platform (GCP) firewall rule {gcp}/default-allow-rdp exposes port 3389 to the entire Internet."), json!([3389])),
            (format!("Google Cloud Platform (GCP) firewall rule {gcp}/default-allow-ssh exposes port 22 to the entire Internet."), json!([22])),
        ]
    );

    let vm = "/subscriptions/{subscription-id}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachines/myVM";
    let os_events = sb.records("cloudaudit_azvmosdiskencryptionevent.json");
    assert_eq!(
        descriptions(&os_events),
        [format!(
            "Azure virtual machine {vm} has unencrypted OS disk myOsDisk"
        )]
    );
    let data_events = sb.records("cloudaudit_azvmdatadiskencryptionevent.json");
    assert_eq!(
        descriptions(&data_events),
        [format!(
            "Azure virtual machine {vm} has unencrypted data disk myDataDisk0"
        )]
    );

    // What azcloud read: every type of the first subscription, nothing in the second.
    let azcloud = sb.records("cloudaudit_azcloud.json");
    let summaries = of_type(&azcloud, "collection_summary");
    assert_eq!(summaries.len(), 2);
    assert_eq!(
        summaries[0]["ext"]["collected"],
        json!({"app_gateway": 1, "lb": 2, "mysql_server": 2, "nic": 2, "nsg": 3, "public_ip": 3, "resource_group": 1, "storage_account": 6, "subscription": 1, "virtual_machine": 2, "web_apps": 3})
    );
    assert_eq!(summaries[0]["ext"]["complete"], true);
    assert_eq!(summaries[1]["ext"]["collected"]["nsg"], 0);
    // Upstream's additions: every MySQL server in the database model, the
    // web apps, one record per subscription, the tenant.
    let mysql = of_type(&azcloud, "mysql_server");
    let tls = tls_enforced(&mysql);
    assert_eq!(
        tls,
        [("mysql-tls", &json!(true)), ("mysql-plain", &json!(false))]
    );
    assert!(mysql.iter().all(|r| r["com"]["record_type"] == "rdbms"));
    let subscriptions = of_type(&azcloud, "subscription");
    assert_eq!(subscriptions.len(), 2);
    assert_eq!(
        subscriptions[0]["ext"]["tenant_id"],
        subscriptions[0]["raw"]["tenantId"]
    );
    assert_eq!(
        of_type(&azcloud, "security_rule").len(),
        6 + 6 + 5 + 6,
        "every rule and default rule of the 3 NSGs"
    );
    let vm_record = of_type(&azcloud, "virtual_machine")[0];
    assert_eq!(vm_record["com"]["record_type"], "compute");
    assert_eq!(
        vm_record["ext"]["subscription_id"],
        "291bba3f-e0a5-47bc-a099-3bdcb2a50a05"
    );
    assert_eq!(vm_record["com"]["origin_worker"], "cloudaudit_azcloud");

    let azvm = sb.records("cloudaudit_azvm.json");
    let views = of_type(&azvm, "vm_instance_view");
    assert_eq!(views.len(), 2);
    let encrypted: Vec<(&Value, &Value)> = views
        .iter()
        .map(|v| (&v["raw"]["name"], &v["ext"]["os_disk_encrypted"]))
        .collect();
    assert!(
        encrypted.contains(&(&json!("myVM"), &json!(false)))
            && encrypted.contains(&(&json!("myEncryptedVM"), &json!(true)))
    );
    assert_eq!(views[0]["ext"]["power_state"], "running");

    let gcp_records = sb.records("cloudaudit_gcpcloud.json");
    assert_eq!(
        of_type(&gcp_records, "firewall").len(),
        4,
        "both pages of firewalls"
    );
    assert_eq!(of_type(&gcp_records, "firewall_rule").len(), 1 + 1 + 1 + 3);
    assert_eq!(
        of_type(&gcp_records, "collection_summary")[0]["ext"]["complete"],
        true
    );
    assert!(
        !run.output().contains(crate::SECRET) && !sb.log().contains(crate::SECRET),
        "the secret is never logged"
    );
}

#[test]
fn a_denied_type_is_reported_and_everything_else_is_read() {
    let (sb, _clouds, run) = run_audit(
        &["--fail", "storageAccounts=403"],
        "clouds.yaml",
        |clouds| cloud_audit(clouds, &["azcloud"]),
    );
    assert_eq!(
        run.status,
        Some(1),
        "a partial read is a failure: {}",
        run.output()
    );
    run.assert_says("could NOT read storage_account");
    let azcloud = sb.records("cloudaudit_azcloud.json");
    let summary = of_type(&azcloud, "collection_summary")[0];
    assert_eq!(summary["ext"]["complete"], false);
    assert!(summary["ext"]["failed"]["storage_account"].as_str().unwrap().contains("HTTP 403: subscription 291bba3f-e0a5-47bc-a099-3bdcb2a50a05: listing storage_account: AuthorizationFailed"), "{summary}");
    assert_eq!(summary["ext"]["collected"]["nsg"], 3);
    assert_eq!(
        of_type(
            &sb.records("cloudaudit_firewallruleevent.json"),
            "firewall_rule_event"
        )
        .len(),
        2
    );
}

#[test]
fn storage_accounts_and_their_checks_run_under_upstream_class_names() {
    // Each check, and the events it raises on the published example: no
    // account requires secure transfer, all accept any network and TLS 1.0;
    // none is public or keeps out Azure services.
    let checks = [
        ("AzStorageAccountSecureTransferEvent", 6),
        ("AzStorageAccountDefaultNetworkAccessEvent", 6),
        ("AzStorageAccountAllowTrustedServicesEvent", 0),
        ("AzStorageAccountPublicBlobAccessEvent", 0),
        ("AzStorageAccountMinTlsEvent", 6),
    ];
    let classes = checks.map(|(class, _)| class);
    let (sb, _clouds, run) = run_checks("storageaudit", "AzStorageAccount", "", classes);
    run.assert_status(0);

    // The published example's six accounts, each with its properties.
    let accounts = sb.records("storageaudit_azstorageaccount.json");
    let accounts_read = of_type(&accounts, "storage_account_properties");
    assert_eq!(accounts_read.len(), 6);
    let sto8596 = named(&accounts_read, "sto8596");
    assert_eq!(sto8596["ext"]["default_network_access_allowed"], true);
    assert_eq!(sto8596["ext"]["trusted_services_allowed"], true);
    assert_eq!(sto8596["ext"]["secure_transfer_required"], false);
    assert_eq!(sto8596["ext"]["minimum_tls_version"], "TLS1_0");
    let summary = of_type(&accounts, "collection_summary");
    assert_eq!(summary.len(), 2, "one per subscription");
    assert_eq!(
        summary[0]["ext"]["collected"]["storage_account_properties"],
        6
    );

    // What the checks found in it.
    for (class, raised) in checks {
        let file = sb
            .out()
            .join(format!("storageaudit_{}.json", upstream_key(class)));
        assert_eq!(crate::common::records_at(&file).len(), raised, "{class}");
    }
    let event = &sb.records("storageaudit_azstorageaccountsecuretransferevent.json")[0];
    assert_eq!(
        event["com"]["record_type"],
        "storage_account_secure_transfer_event"
    );
    assert!(reference(event).ends_with("/storageAccounts/sto1125"));

    // The library provides the cloud plugin; the five checks are bundled
    // rules that answer to the checks' plugin names.
    let run = sb.run(&["plugins", "list", "--format", "json"]);
    let entries: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    let from_library: Vec<&str> = entries
        .iter()
        .filter(|e| {
            e["path"].as_str().unwrap().ends_with("/libazstorage.so") && e["status"] == "ok"
        })
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(from_library, ["azstorageaccount", "azstorageservices"]);
    let run = sb.run(&["rules", "list", "--format", "json"]);
    run.assert_status(0);
    let rules: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    for (class, _) in checks {
        let plugin = upstream_key(class);
        assert!(
            rules.iter().any(|r| r["plugin"] == plugin.as_str()),
            "{plugin}: no bundled rule answers to it"
        );
    }
}

#[test]
fn key_vaults_their_keys_and_secrets_and_a_vault_that_refuses() {
    let checks = [
        "AzKVKeyNoExpiryEvent",
        "AzKVSecretNoExpiryEvent",
        "AzKVNonRecoverableEvent",
    ];
    let (sb, _clouds, run) = run_checks("kvaudit", "AzKV", ", max_retries: 0", checks);
    // One vault's data plane refused: a partial read, reported, not fatal.
    run.assert_status(1);
    run.assert_says("Cannot list the keys of Key Vault kv-firewalled");
    let read = sb.records("kvaudit_azkv.json");
    assert_eq!(of_type(&read, "key_vault").len(), 3);
    let keys = of_type(&read, "key_vault_key");
    assert_eq!(keys.len(), 3, "both pages of kv-recoverable's keys");
    assert_eq!(of_type(&read, "key_vault_secret").len(), 2);
    let no_expiry = keys
        .iter()
        .find(|k| reference(k).ends_with("/keys/key-no-expiry"))
        .unwrap();
    assert_eq!(no_expiry["ext"]["expiry_set"], false);
    assert_eq!(no_expiry["ext"]["enabled"], true);
    let vault = |name: &str| named(&of_type(&read, "key_vault"), name).clone();
    assert_eq!(vault("kv-recoverable")["ext"]["recoverable"], true);
    assert_eq!(vault("kv-nonrecoverable")["ext"]["recoverable"], false);
    let summary = &of_type(&read, "collection_summary")[0]["ext"];
    assert_eq!(summary["complete"], false);
    assert_eq!(summary["collected"]["key_vault_key"], 3);
    assert_refused(&summary["failed"], "key_vault_key", "vault kv-firewalled");

    let events = |name: &str| sb.records(&format!("kvaudit_{name}.json"));
    let keys = events("azkvkeynoexpiryevent");
    assert_eq!(keys.len(), 1, "the disabled key is left alone");
    assert!(reference(&keys[0]).ends_with("/keys/key-no-expiry"));
    let secrets = events("azkvsecretnoexpiryevent");
    assert_eq!(secrets.len(), 1);
    assert_eq!(
        secrets[0]["com"]["record_type"],
        "key_vault_secret_no_expiry_event"
    );
    let vaults = events("azkvnonrecoverableevent");
    assert_eq!(vaults.len(), 1);
    assert!(reference(&vaults[0]).ends_with("/vaults/kv-nonrecoverable"));
}

#[test]
fn web_apps_with_their_configuration_and_the_checks() {
    let events = [
        ("AzWebAppHttpsEvent", "web_app_https_event"),
        (
            "AzWebAppClientCertEvent",
            "web_app_client_certificate_event",
        ),
        ("AzWebAppHttp20Event", "web_app_http20_event"),
        ("AzWebAppTLSEvent", "web_app_tls_event"),
        ("AzWebAppFtpEvent", "web_app_ftp_event"),
    ];
    let (sb, _clouds, run) = run_audit(&[], "web.yaml", |clouds| {
        let mut audit = AuditYaml::new("webaudit")
            .upstream_cloud("AzWebApp", &clouds.azure_params(", max_retries: 0"));
        for (class, _) in events {
            // Upstream's param, as an upstream config writes it.
            let params = match class {
                "AzWebAppTLSEvent" => "{_min_tls_version: 1.2}",
                _ => "",
            };
            audit = audit.upstream_event(class, params);
        }
        audit
    });
    // app-noconfig's configuration is refused: counted, the others are read.
    run.assert_status(1);
    let read = sb.records("webaudit_azwebapp.json");
    let apps = of_type(&read, "web_app_config");
    assert_eq!(apps.len(), 2, "both pages; app-noconfig has no record");
    let insecure = named(&apps, "app-insecure");
    assert_eq!(insecure["ext"]["https_only"], false);
    assert_eq!(insecure["ext"]["min_tls_version"], "1.0");
    assert_eq!(insecure["ext"]["ftps_state"], "AllAllowed");
    assert_eq!(
        insecure["raw"]["config"]["properties"]["http20Enabled"], false,
        "the configuration is in raw, as upstream"
    );
    let summary = &of_type(&read, "collection_summary")[0]["ext"];
    assert_refused(&summary["failed"], "web_app_config", "web app app-noconfig");
    assert_each_raised_once_about(&sb, "webaudit", &events, "/sites/app-insecure");
}

#[test]
fn postgres_servers_with_their_parameters_and_the_checks() {
    let events = [
        (
            "AzPostgresLogCheckpointsEvent",
            "postgres_log_checkpoints_event",
        ),
        (
            "AzPostgresLogConnectionsEvent",
            "postgres_log_connections_event",
        ),
        (
            "AzPostgresLogDisconnectionsEvent",
            "postgres_log_disconnections_event",
        ),
        ("AzPostgresLogDurationEvent", "postgres_log_duration_event"),
        (
            "AzPostgresConnectionThrottlingEvent",
            "postgres_connection_throttling_event",
        ),
        (
            "AzPostgresLogRetentionDaysEvent",
            "postgres_log_retention_days_event",
        ),
        ("RDBMSEnforceTLSEvent", "rdbms_enforce_tls_event"),
    ];
    let classes = events.map(|(class, _)| class);
    let (sb, _clouds, run) = run_checks("pgaudit", "AzPostgres", ", max_retries: 0", classes);
    // pg-flex-denied's parameters are refused: counted, the others are read.
    run.assert_status(1);
    let read = sb.records("pgaudit_azpostgres.json");
    let servers = of_type(&read, "postgresql_server");
    assert_eq!(servers.len(), 2, "{servers:?}");
    let single = named(&servers, "pg-single-insecure");
    assert_eq!(single["com"]["record_type"], "rdbms");
    assert_eq!(single["com"]["tls_enforced"], false);
    assert_eq!(
        single["ext"]["log_retention_days"], 1,
        "both pages of parameters"
    );
    assert_eq!(single["ext"]["server_kind"], "single");
    let flexible = named(&servers, "pg-flex-secure");
    assert_eq!(
        flexible["com"]["tls_enforced"], true,
        "read from require_secure_transport"
    );
    assert_eq!(flexible["ext"]["connection_throttling_enabled"], true);
    assert_eq!(flexible["ext"]["log_retention_days"], 7);
    let summary = &of_type(&read, "collection_summary")[0]["ext"];
    assert_refused(
        &summary["failed"],
        "postgresql_flexible_server",
        "server pg-flex-denied",
    );
    assert_each_raised_once_about(&sb, "pgaudit", &events, "/servers/pg-single-insecure");
}

#[test]
fn sql_servers_databases_and_their_firewall_open_to_the_world() {
    let (sb, _clouds, run) = run_audit(&[], "sql.yaml", |clouds| {
        AuditYaml::new("sqlaudit")
            .upstream_cloud("AzSQL", &clouds.azure_params(", max_retries: 0"))
            .upstream_event("AzSQLDatabaseTDEEvent", "")
            .event("azsqlserverauditingevent", "azsqlserverauditingevent", "")
            .events(&["firewallruleevent"])
    });
    run.assert_status(0);
    let read = sb.records("sqlaudit_azsql.json");
    assert_eq!(of_type(&read, "sql_server").len(), 2);
    let dbs = of_type(&read, "sql_db");
    assert_eq!(dbs.len(), 3, "master is not a user database: {dbs:?}");
    assert_eq!(of_type(&read, "sql_firewall_rule").len(), 3);
    let summary = &of_type(&read, "collection_summary")[0]["ext"];
    assert_eq!(summary["complete"], true, "{summary}");

    let tde = sb.records("sqlaudit_azsqldatabasetdeevent.json");
    assert_eq!(tde.len(), 1);
    assert!(reference(&tde[0]).ends_with("/databases/db-plain"));
    let auditing = sb.records("sqlaudit_azsqlserverauditingevent.json");
    assert_eq!(auditing.len(), 1);
    assert!(reference(&auditing[0]).ends_with("/servers/sql-open"));
    // Only AllowAll opens 1433 to the Internet; Azure services and the
    // office range do not.
    let open = sb.records("sqlaudit_firewallruleevent.json");
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(reference(&open[0]).ends_with("/firewallRules/AllowAll"));
}

#[test]
fn log_profiles_diagnostic_settings_and_their_absence() {
    let checks = [
        "AzLogProfileEvent",
        "AzLogProfileMissingCategoryEvent",
        "AzLogProfileMissingLocationEvent",
        "AzLogProfileRetentionEvent",
        "AzDiagnosticSettingEvent",
    ];
    let (sb, _clouds, run) = run_checks("monaudit", "AzMonitor", "", checks);
    run.assert_status(0);
    let read = sb.records("monaudit_azmonitor.json");
    let profile = &of_type(&read, "log_profile")[0]["ext"];
    assert_eq!(
        profile["subscription_locations"],
        json!(["westus", "eastus"])
    );
    assert_eq!(profile["retention_days"], 30);
    assert_eq!(
        of_type(&read, "log_profile_missing").len(),
        1,
        "the second subscription"
    );
    assert_eq!(of_type(&read, "diagnostic_setting").len(), 1);
    assert_eq!(of_type(&read, "diagnostic_setting_missing").len(), 1);
    let count = |module: &str| sb.records(&format!("monaudit_{module}.json")).len();
    assert_eq!(count("azlogprofileevent"), 1);
    assert_eq!(count("azlogprofilemissingcategoryevent"), 1);
    let location = &sb.records("monaudit_azlogprofilemissinglocationevent.json")[0];
    assert!(
        location["com"]["description"]
            .as_str()
            .unwrap()
            .ends_with(": eastus."),
        "{location}"
    );
    assert_eq!(count("azlogprofileretentionevent"), 1);
    assert_eq!(
        count("azdiagnosticsettingevent"),
        2,
        "one partial setting, one subscription without"
    );
}

#[test]
fn disks_and_vm_extensions() {
    let (sb, _clouds, run) = run_audit(&[], "disks.yaml", |clouds| {
        AuditYaml::new("diskaudit")
            .upstream_cloud("AzDisk", &clouds.azure_params(""))
            .upstream_cloud("AzVM", &clouds.azure_params(""))
            .upstream_event(
                "AzVMExtensionEvent",
                "{blacklisted: [IaaSAntiMalware-ext0], required: [AzureMonitorLinuxAgent]}",
            )
    });
    run.assert_status(0);
    let disks = sb.records("diskaudit_azdisk.json");
    let disks = of_type(&disks, "disk");
    assert_eq!(disks.len(), 4, "both pages");
    let attached: Vec<&str> = disks
        .iter()
        .filter(|d| d["ext"]["disk_type"] == "attached")
        .map(|d| d["raw"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(attached, ["myAttachedDisk"]);
    assert_eq!(
        disks[0]["ext"]["encryption_type"],
        "EncryptionAtRestWithPlatformKey"
    );
    assert_eq!(disks[0]["com"]["record_type"], "disk");

    // Both VMs run the blacklisted antimalware extension and lack the agent.
    let events = sb.records("diskaudit_azvmextensionevent.json");
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["com"]["record_type"].as_str().unwrap())
        .collect();
    let count = |kind: &str| kinds.iter().filter(|k| **k == kind).count();
    assert_eq!(count("vm_blacklisted_extension_event"), 2, "{kinds:?}");
    assert_eq!(count("vm_required_extension_event"), 2, "{kinds:?}");
    assert!(
        !kinds.contains(&"vm_unapproved_extension_event"),
        "no whitelist, no unapproved"
    );
}

/// The audit of azsecurity's two plugins, with the bundled rules about
/// their records (events in `secaudit_rules.json`).
fn security_audit(clouds: &Clouds) -> AuditYaml {
    let azure = clouds.azure_params("");
    AuditYaml::new("secaudit")
        .cloud("azdefender", "azdefender", &azure)
        .cloud("azactivitylogalerts", "azactivitylogalerts", &azure)
        .event(
            "rules",
            "rulesevent",
            "{include: [\"azure_defender_*\", \"azure_activity_log_alert_*\"]}",
        )
}

/// How many events of `events` each rule (`com.check`) raised.
fn per_check(events: &[Value]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for event in events {
        let check = event["com"]["check"].as_str().unwrap().to_string();
        *counts.entry(check).or_default() += 1;
    }
    counts
}

#[test]
fn defender_plans_security_contacts_and_activity_log_alerts_with_their_rules() {
    let (sb, _clouds, run) = run_audit(&[], "security.yaml", security_audit);
    run.assert_status(0);
    let read = sb.records("secaudit_azdefender.json");
    let pricings = of_type(&read, "defender_pricing");
    assert_eq!(pricings.len(), 15, "both pages of the first subscription");
    let servers = named(&pricings, "VirtualMachines");
    assert_eq!(servers["ext"]["pricing_tier"], "Standard");
    assert_eq!(servers["ext"]["sub_plan"], "P2");
    assert_eq!(servers["raw"]["properties"]["pricingTier"], "Standard");
    // One contacts record per subscription; the second has none.
    let contacts = of_type(&read, "security_contacts");
    assert_eq!(contacts.len(), 2);
    let first = contacts.iter().find(|c| c["ext"]["contacts"] == 1).unwrap();
    assert_eq!(
        first["ext"]["emails"],
        json!(["secops@contoso.example", "oncall@contoso.example"])
    );
    assert_eq!(first["ext"]["notified_roles"], json!(["Owner", "Admin"]));
    assert_eq!(first["ext"]["alert_minimal_severity"], "Medium");
    assert!(contacts.iter().any(|c| c["raw"]["contacts"] == json!([])));
    // The published settings (endpoint protection off) in the first
    // subscription, and the same with it on in the second.
    let settings = of_type(&read, "defender_settings");
    let mut endpoint: Vec<&Value> = settings
        .iter()
        .map(|s| &s["ext"]["endpoint_protection"])
        .collect();
    endpoint.sort_by_key(|v| v.as_bool());
    assert_eq!(endpoint, [&json!(false), &json!(true)]);
    // The assessments, summarised: one machine not checked for updates in
    // the first subscription, none in the second.
    let updates = "Machines should be configured to periodically check for missing system updates";
    let assessments = of_type(&read, "defender_assessments");
    let mut unhealthy: Vec<&Value> = assessments
        .iter()
        .map(|a| &a["ext"]["assessments"][updates]["unhealthy"])
        .collect();
    unhealthy.sort_by_key(|v| v.as_u64());
    assert_eq!(unhealthy, [&json!(0), &json!(1)]);
    for summary in of_type(&read, "collection_summary") {
        assert_eq!(summary["ext"]["complete"], true, "{summary}");
    }

    let alerts = sb.records("secaudit_azactivitylogalerts.json");
    let alerts = of_type(&alerts, "activity_log_alerts");
    assert_eq!(alerts.len(), 2, "one per subscription");
    let first = alerts.iter().find(|a| a["ext"]["alerts"] == 4).unwrap();
    // The alert scoped to a resource group and the disabled one do not count.
    assert_eq!(
        first["ext"]["operations_alerted"],
        json!([
            "microsoft.authorization/policyassignments/delete",
            "microsoft.authorization/policyassignments/write",
            "microsoft.network/networksecuritygroups/write"
        ])
    );

    let events = sb.records("secaudit_rules.json");
    let updates_event = events
        .iter()
        .find(|e| e["com"]["check"] == "azure_defender_vm_update_checks_off")
        .unwrap();
    let text = updates_event["com"]["description"].as_str().unwrap();
    assert!(
        text.contains("periodically check for missing system updates: 1 unhealthy"),
        "{text}"
    );
    let raised = per_check(&events);
    let expected: Vec<(&str, usize)> = vec![
        ("azure_activity_log_alert_missing_nsg_delete", 2),
        ("azure_activity_log_alert_missing_nsg_write", 1),
        (
            "azure_activity_log_alert_missing_policy_assignment_create",
            1,
        ),
        (
            "azure_activity_log_alert_missing_policy_assignment_delete",
            1,
        ),
        ("azure_activity_log_alert_missing_public_ip_delete", 2),
        ("azure_activity_log_alert_missing_public_ip_write", 2),
        (
            "azure_activity_log_alert_missing_security_solution_delete",
            2,
        ),
        (
            "azure_activity_log_alert_missing_security_solution_write",
            2,
        ),
        ("azure_activity_log_alert_missing_service_health", 2),
        (
            "azure_activity_log_alert_missing_sql_firewall_rule_delete",
            2,
        ),
        (
            "azure_activity_log_alert_missing_sql_firewall_rule_write",
            2,
        ),
        ("azure_defender_alert_notifications_off", 1),
        ("azure_defender_apis_off", 1),
        ("azure_defender_app_services_off", 1),
        ("azure_defender_attack_path_notifications_off", 2),
        ("azure_defender_cosmos_db_off", 1),
        ("azure_defender_endpoint_protection_off", 1),
        ("azure_defender_no_security_contact_email", 1),
        ("azure_defender_open_source_databases_off", 1),
        ("azure_defender_owner_not_notified", 1),
        ("azure_defender_vm_update_checks_off", 1),
    ];
    let raised: Vec<(&str, usize)> = raised.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(raised, expected);
}

#[test]
fn refused_defender_plans_and_alerts_are_failed_collections() {
    let (sb, _clouds, run) = run_audit(
        &[
            "--fail",
            "Microsoft.Security/pricings=403",
            "--fail",
            "activityLogAlerts=403",
            "--fail",
            "Microsoft.Security/settings=403",
            "--fail",
            "Microsoft.Security/assessments=403",
        ],
        "security.yaml",
        security_audit,
    );
    assert_eq!(run.status, Some(1), "a partial read: {}", run.output());
    run.assert_says("could NOT read defender_assessments, defender_pricing, defender_settings");
    run.assert_says("could NOT read activity_log_alerts");
    let read = sb.records("secaudit_azdefender.json");
    assert!(of_type(&read, "defender_pricing").is_empty());
    assert!(of_type(&read, "defender_settings").is_empty());
    assert!(of_type(&read, "defender_assessments").is_empty());
    assert_eq!(of_type(&read, "security_contacts").len(), 2);
    for summary in of_type(&read, "collection_summary") {
        assert_eq!(summary["ext"]["complete"], false);
        assert_refused(
            &summary["ext"]["failed"],
            "defender_pricing",
            "listing defender_pricing",
        );
        assert_refused(
            &summary["ext"]["failed"],
            "defender_settings",
            "listing defender_settings",
        );
        assert_refused(
            &summary["ext"]["failed"],
            "defender_assessments",
            "listing defender_assessments",
        );
        assert!(
            summary["ext"]["collected"]["security_contacts"].is_u64(),
            "{summary}"
        );
    }
    let alerts = sb.records("secaudit_azactivitylogalerts.json");
    assert!(of_type(&alerts, "activity_log_alerts").is_empty());
    for summary in of_type(&alerts, "collection_summary") {
        assert_refused(
            &summary["ext"]["failed"],
            "activity_log_alerts",
            "listing activity_log_alerts",
        );
    }
    // Nothing read, nothing raised: no plan is "off" and no alert "missing".
    let raised = per_check(&sb.records("secaudit_rules.json"));
    assert!(
        raised
            .keys()
            .all(|k| k.contains("notif") || k.contains("email") || k.contains("owner")),
        "{raised:?}"
    );
}

/// The audit of aznetwork with the bundled network rules (events in
/// `netaudit_rules.json`).
fn network_audit(clouds: &Clouds) -> AuditYaml {
    AuditYaml::new("netaudit")
        .cloud("aznetwork", "aznetwork", &clouds.azure_params(""))
        .event(
            "rules",
            "rulesevent",
            "{include: [\"azure_vnet_*\", \"azure_bastion_*\", \"azure_network_watcher_*\", \"azure_nsg_flow_log_*\", \"azure_waf_policy_*\", \"azure_vpn_gateway_*\"]}",
        )
}

#[test]
fn virtual_networks_bastions_watchers_flow_logs_and_their_rules() {
    let (sb, _clouds, run) = run_audit(&[], "network.yaml", network_audit);
    run.assert_status(0);
    let read = sb.records("netaudit_aznetwork.json");
    let vnets = of_type(&read, "virtual_network");
    assert_eq!(vnets.len(), 2);
    let app = named(&vnets, "vnet-app");
    assert_eq!(
        app["ext"]["subnets_without_nsg"],
        json!(["db", "GatewaySubnet"])
    );
    assert_eq!(app["ext"]["ddos_protection"], false);
    let bastions = of_type(&read, "bastion_hosts");
    assert_eq!(bastions.len(), 2, "one per subscription");
    let watchers = of_type(&read, "network_watchers");
    assert_eq!(watchers.len(), 2, "one per subscription");
    let first = watchers
        .iter()
        .find(|w| w["ext"]["network_watchers"] == 1)
        .unwrap();
    assert_eq!(first["ext"]["unwatched_locations"], json!(["eastus"]));
    let flows = of_type(&read, "flow_log");
    assert_eq!(flows.len(), 3, "both pages");
    let nsg_flow = named(&flows, "web-nsg-flows");
    assert_eq!(nsg_flow["ext"]["target_type"], "network_security_group");
    assert_eq!(nsg_flow["ext"]["retention_days"], 30);
    let policies = of_type(&read, "waf_policy");
    assert_eq!(policies.len(), 2);
    let published = named(&policies, "Policy1");
    assert_eq!(published["ext"]["request_body_check"], true);
    assert_eq!(published["ext"]["bot_protection"], false);
    assert_eq!(named(&policies, "Policy2")["ext"]["bot_protection"], true);
    let gateways = of_type(&read, "vpn_gateway");
    assert_eq!(gateways.len(), 2, "listed as resources, then read");
    assert_eq!(
        named(&gateways, "vpngw")["ext"]["p2s_auth_types"],
        json!(["Radius"])
    );
    assert_eq!(
        named(&gateways, "vpngw-aad")["ext"]["p2s_auth_types"],
        json!(["AAD"])
    );
    for summary in of_type(&read, "collection_summary") {
        assert_eq!(summary["ext"]["complete"], true, "{summary}");
    }
    let raised = per_check(&sb.records("netaudit_rules.json"));
    let raised: Vec<(&str, usize)> = raised.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        raised,
        [
            ("azure_bastion_host_missing", 1),
            ("azure_network_watcher_missing", 1),
            ("azure_nsg_flow_log_retention_short", 1),
            ("azure_vnet_ddos_protection_off", 1),
            ("azure_vnet_flow_log_retention_short", 1),
            ("azure_vnet_subnet_without_nsg", 1),
            ("azure_vpn_gateway_p2s_not_entra_only", 1),
            ("azure_waf_policy_bot_protection_off", 1),
            ("azure_waf_policy_request_body_inspection_off", 1),
        ]
    );
    // Each WAF policy rule fires on one policy and is silent on its twin.
    let events = sb.records("netaudit_rules.json");
    let about = |check: &str| {
        let event = events.iter().find(|e| e["com"]["check"] == check).unwrap();
        reference(event).rsplit('/').next().unwrap().to_string()
    };
    assert_eq!(about("azure_waf_policy_bot_protection_off"), "Policy1");
    assert_eq!(
        about("azure_waf_policy_request_body_inspection_off"),
        "Policy2"
    );
    assert_eq!(about("azure_vpn_gateway_p2s_not_entra_only"), "vpngw");
}

#[test]
fn refused_virtual_networks_and_flow_logs_are_failed_collections() {
    let (sb, _clouds, run) = run_audit(
        &[
            "--fail",
            "virtualNetworks=403",
            "--fail",
            "flowLogs=403",
            "--fail",
            "ApplicationGatewayWebApplicationFirewallPolicies=403",
            "--fail",
            "virtualNetworkGateways/vpngw-aad=403",
        ],
        "network.yaml",
        network_audit,
    );
    assert_eq!(run.status, Some(1), "a partial read: {}", run.output());
    run.assert_says("could NOT read");
    let read = sb.records("netaudit_aznetwork.json");
    assert!(of_type(&read, "virtual_network").is_empty());
    assert!(of_type(&read, "flow_log").is_empty());
    // Without the virtual networks, the regions in use are unknown.
    assert!(of_type(&read, "network_watchers").is_empty());
    assert_eq!(of_type(&read, "bastion_hosts").len(), 2);
    let summaries = of_type(&read, "collection_summary");
    assert!(of_type(&read, "waf_policy").is_empty());
    for summary in &summaries {
        assert_refused(
            &summary["ext"]["failed"],
            "virtual_network",
            "listing virtual_network",
        );
        assert_refused(
            &summary["ext"]["failed"],
            "waf_policy",
            "listing waf_policy",
        );
    }
    // One gateway refused: the other is read, the refused one not evaluated.
    let gateways = of_type(&read, "vpn_gateway");
    assert_eq!(gateways.len(), 1);
    assert_eq!(gateways[0]["raw"]["name"], "vpngw");
    let first = summaries
        .iter()
        .find(|s| s["ext"]["failed"].get("vpn_gateway").is_some())
        .unwrap();
    assert_refused(
        &first["ext"]["failed"],
        "vpn_gateway",
        "virtual network gateway vpngw-aad",
    );
    let first = summaries
        .iter()
        .find(|s| s["ext"]["failed"].get("flow_log").is_some())
        .unwrap();
    assert_refused(
        &first["ext"]["failed"],
        "flow_log",
        "watcher NetworkWatcher_westus",
    );
    let raised = per_check(&sb.records("netaudit_rules.json"));
    assert_eq!(
        raised.keys().collect::<Vec<_>>(),
        [
            "azure_bastion_host_missing",
            "azure_vpn_gateway_p2s_not_entra_only"
        ]
    );
}

/// The audit of azauthorization with the bundled authorization rules
/// (events in `authaudit_rules.json`).
fn authorization_audit(clouds: &Clouds) -> AuditYaml {
    AuditYaml::new("authaudit")
        .cloud("azauthorization", "azauthorization", &clouds.azure_params(""))
        .event(
            "rules",
            "rulesevent",
            "{include: [\"azure_custom_subscription_admin_role\", \"azure_subscription_owner_count\", \"azure_root_user_access_administrator\"]}",
        )
}

#[test]
fn custom_roles_owners_and_the_root_scope_with_their_rules() {
    let (sb, _clouds, run) = run_audit(&["--root-readable"], "auth.yaml", authorization_audit);
    run.assert_status(0);
    let read = sb.records("authaudit_azauthorization.json");
    let roles = of_type(&read, "custom_role");
    assert_eq!(roles.len(), 3, "the custom roles only");
    let owners = of_type(&read, "subscription_owners");
    assert_eq!(owners.len(), 2, "one per subscription");
    assert!(owners.iter().any(|o| o["ext"]["owners"] == 1));
    let root = of_type(&read, "root_user_access_administrators");
    assert_eq!(root.len(), 1, "one per run");
    assert_eq!(root[0]["ext"]["readable"], true);
    assert_eq!(
        root[0]["ext"]["user_access_administrators"],
        json!(["a1a1a1a1-0000-0000-0000-000000000003"])
    );
    let raised = per_check(&sb.records("authaudit_rules.json"));
    let raised: Vec<(&str, usize)> = raised.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        raised,
        [
            ("azure_custom_subscription_admin_role", 1),
            ("azure_root_user_access_administrator", 1),
            ("azure_subscription_owner_count", 2),
        ]
    );
}

#[test]
fn an_unreadable_root_scope_is_not_evaluated_and_refused_assignments_fail_the_collection() {
    let (sb, _clouds, run) = run_audit(
        &["--fail", "roleDefinitions=403"],
        "auth.yaml",
        authorization_audit,
    );
    assert_eq!(run.status, Some(1), "a partial read: {}", run.output());
    run.assert_says("could NOT read custom_role");
    let read = sb.records("authaudit_azauthorization.json");
    let root = of_type(&read, "root_user_access_administrators");
    assert_eq!(root[0]["ext"]["readable"], false);
    let why = root[0]["ext"]["why"].as_str().unwrap();
    assert!(why.contains("403") && why.contains("elevat"), "{why}");
    assert!(of_type(&read, "custom_role").is_empty());
    for summary in of_type(&read, "collection_summary") {
        assert_refused(
            &summary["ext"]["failed"],
            "custom_role",
            "listing custom_role",
        );
    }
    let raised = per_check(&sb.records("authaudit_rules.json"));
    assert_eq!(
        raised.keys().collect::<Vec<_>>(),
        ["azure_subscription_owner_count"],
        "the root scope is not evaluated"
    );
}

#[test]
fn refused_flow_logs_alone_are_a_partial_read() {
    let (sb, _clouds, run) = run_audit(&["--fail", "flowLogs=403"], "network.yaml", network_audit);
    assert_eq!(run.status, Some(1), "a partial read: {}", run.output());
    run.assert_says("could NOT read flow_log");
    let read = sb.records("netaudit_aznetwork.json");
    assert_eq!(of_type(&read, "virtual_network").len(), 2);
    assert!(of_type(&read, "flow_log").is_empty());
}

/// The rules of the storage accounts' blob and file services and of their
/// access keys' age (CIS Azure 6.0.0 9.1.1-9.1.3, 9.2.1-9.2.3, 9.3.1.2).
const STORAGE_SERVICE_RULES: [&str; 7] = [
    "azure_storage_access_keys_not_regenerated",
    "azure_storage_blob_soft_delete_off",
    "azure_storage_blob_versioning_off",
    "azure_storage_container_soft_delete_off",
    "azure_storage_file_share_soft_delete_off",
    "azure_storage_smb_old_versions_allowed",
    "azure_storage_smb_weak_channel_encryption",
];

/// The audit of azstorage's two plugins with [`STORAGE_SERVICE_RULES`]
/// (events in `stoaudit_rules.json`).
fn storage_services_audit(clouds: &Clouds) -> AuditYaml {
    let azure = clouds.azure_params("");
    let include: Vec<String> = STORAGE_SERVICE_RULES
        .iter()
        .map(|r| format!("\"{r}\""))
        .collect();
    AuditYaml::new("stoaudit")
        .cloud("azstorageaccount", "azstorageaccount", &azure)
        .cloud("azstorageservices", "azstorageservices", &azure)
        .event(
            "rules",
            "rulesevent",
            &format!("{{include: [{}]}}", include.join(", ")),
        )
}

/// The service record of `records` of the storage account `account`.
fn of_account<'a>(records: &[&'a Value], account: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["ext"]["storage_account"] == account)
        .unwrap_or_else(|| panic!("no service of {account}"))
}

#[test]
fn blob_and_file_services_and_access_key_age_with_their_rules() {
    let (sb, _clouds, run) = run_audit(&[], "storage.yaml", storage_services_audit);
    run.assert_status(0);
    let read = sb.records("stoaudit_azstorageservices.json");
    let blobs = of_type(&read, "storage_blob_service");
    let files = of_type(&read, "storage_file_service");
    assert_eq!((blobs.len(), files.len()), (6, 6), "each published account");
    let bad = of_account(&blobs, "sto1125");
    assert_eq!(bad["raw"]["properties"]["isVersioningEnabled"], false);
    assert!(reference(bad).ends_with("/storageAccounts/sto1125/blobServices/default"));
    let good = of_account(&files, "sto8596");
    assert_eq!(
        good["raw"]["properties"]["protocolSettings"]["smb"]["versions"],
        "SMB3.1.1"
    );
    let summaries = of_type(&read, "collection_summary");
    assert_eq!(summaries.len(), 2);
    for summary in &summaries {
        assert_eq!(summary["ext"]["complete"], true, "{summary}");
    }
    assert!(summaries
        .iter()
        .any(|s| s["ext"]["collected"]["storage_blob_service"] == 6
            && s["ext"]["collected"]["storage_file_service"] == 6));

    // The keys' age, from keyCreationTime: years for sto1125, ten days for
    // sto8596, unknown for the accounts whose keys have no creation time.
    let accounts = sb.records("stoaudit_azstorageaccount.json");
    let accounts = of_type(&accounts, "storage_account_properties");
    let age = |name: &str| named(&accounts, name)["ext"]["access_key_age_days"].clone();
    assert!(age("sto1125").as_i64().unwrap() > 1000);
    assert_eq!(age("sto8596"), 10);
    assert_eq!(age("sto834"), Value::Null);

    // Each rule fires on sto1125 only: not on sto8596, its compliant twin,
    // nor on the other accounts.
    let events = sb.records("stoaudit_rules.json");
    let raised = per_check(&events);
    let raised: Vec<(&str, usize)> = raised.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(raised, STORAGE_SERVICE_RULES.map(|r| (r, 1)));
    for event in &events {
        assert!(
            reference(event).contains("/storageAccounts/sto1125"),
            "{event}"
        );
    }
}

#[test]
fn refused_blob_services_are_a_failed_collection_and_their_rules_not_evaluated() {
    let (sb, _clouds, run) = run_audit(
        &["--fail", "blobServices/default=403"],
        "storage.yaml",
        storage_services_audit,
    );
    assert_eq!(run.status, Some(1), "a partial read: {}", run.output());
    run.assert_says("could NOT read storage_blob_service");
    let read = sb.records("stoaudit_azstorageservices.json");
    assert!(of_type(&read, "storage_blob_service").is_empty());
    assert_eq!(of_type(&read, "storage_file_service").len(), 6);
    let first = of_type(&read, "collection_summary")
        .into_iter()
        .find(|s| s["ext"]["failed"].get("storage_blob_service").is_some())
        .unwrap();
    assert_eq!(first["ext"]["complete"], false);
    assert_refused(
        &first["ext"]["failed"],
        "storage_blob_service",
        "storage account sto1125",
    );
    // Nothing read, nothing raised about blobs; the file service rules and
    // the key age still run.
    let raised = per_check(&sb.records("stoaudit_rules.json"));
    assert_eq!(
        raised.keys().collect::<Vec<_>>(),
        [
            "azure_storage_access_keys_not_regenerated",
            "azure_storage_file_share_soft_delete_off",
            "azure_storage_smb_old_versions_allowed",
            "azure_storage_smb_weak_channel_encryption",
        ]
    );
}

/// The audit of azdatabricks with the bundled Databricks rules (events in
/// `dbaudit_rules.json`).
fn databricks_audit(clouds: &Clouds) -> AuditYaml {
    AuditYaml::new("dbaudit")
        .cloud("azdatabricks", "azdatabricks", &clouds.azure_params(""))
        .event("rules", "rulesevent", "{include: [\"azure_databricks_*\"]}")
}

/// The events of `events` about the workspace `name` (its id ends with
/// `/workspaces/<name>`), by rule.
fn rules_about<'a>(events: &'a [Value], name: &str) -> Vec<&'a str> {
    let mut rules: Vec<&str> = events
        .iter()
        .filter(|e| reference(e).ends_with(&format!("/workspaces/{name}")))
        .map(|e| e["com"]["check"].as_str().unwrap())
        .collect();
    rules.sort();
    rules
}

#[test]
fn databricks_workspaces_their_subnets_and_diagnostic_settings_with_their_rules() {
    let (sb, _clouds, run) = run_audit(&[], "databricks.yaml", databricks_audit);
    run.assert_status(0);
    let read = sb.records("dbaudit_azdatabricks.json");
    let workspaces = of_type(&read, "databricks_workspace");
    assert_eq!(workspaces.len(), 3);
    let managed = named(&workspaces, "myWorkspace1");
    assert_eq!(managed["ext"]["custom_vnet_id"], Value::Null);
    assert_eq!(managed["ext"]["public_network_access"], "Enabled");
    let injected = named(&workspaces, "myWorkspace");
    assert_eq!(injected["ext"]["no_public_ip"], true);
    assert_eq!(injected["ext"]["approved_private_endpoints"], 1);
    // The subnets of the two workspaces in a network of the customer's,
    // read from that network.
    let subnets = of_type(&read, "databricks_subnets");
    assert_eq!(subnets.len(), 2);
    let open = subnets
        .iter()
        .find(|s| s["ext"]["workspace"] == "myWorkspace3")
        .unwrap();
    assert_eq!(open["ext"]["subnets_without_nsg"], json!(["PrivateBob"]));
    let settings = of_type(&read, "databricks_diagnostic_settings");
    assert_eq!(settings.len(), 3, "one per workspace");
    for summary in of_type(&read, "collection_summary") {
        assert_eq!(summary["ext"]["complete"], true, "{summary}");
    }

    // myWorkspace1 (the published list's) fails every workspace rule and
    // the logging one; myWorkspace, its compliant twin, none; myWorkspace3
    // only the subnet one.
    let events = sb.records("dbaudit_rules.json");
    assert_eq!(
        rules_about(&events, "myWorkspace1"),
        [
            "azure_databricks_no_diagnostic_logs",
            "azure_databricks_no_private_endpoint",
            "azure_databricks_not_in_customer_vnet",
            "azure_databricks_public_ip_enabled",
            "azure_databricks_public_network_access_enabled",
        ]
    );
    assert!(rules_about(&events, "myWorkspace").is_empty());
    assert_eq!(
        rules_about(&events, "myWorkspace3"),
        ["azure_databricks_subnet_without_nsg"]
    );
    assert_eq!(events.len(), 6);
}

#[test]
fn refused_databricks_networks_and_diagnostic_settings_are_failed_collections() {
    let (sb, _clouds, run) = run_audit(
        &[
            "--fail",
            "virtualNetworks/myNetwork=403",
            "--fail",
            "/diagnosticSettings=403",
        ],
        "databricks.yaml",
        databricks_audit,
    );
    assert_eq!(run.status, Some(1), "a partial read: {}", run.output());
    run.assert_says("could NOT read databricks_diagnostic_settings, databricks_subnets");
    let read = sb.records("dbaudit_azdatabricks.json");
    assert_eq!(of_type(&read, "databricks_workspace").len(), 3);
    assert!(of_type(&read, "databricks_subnets").is_empty());
    assert!(of_type(&read, "databricks_diagnostic_settings").is_empty());
    let first = of_type(&read, "collection_summary")
        .into_iter()
        .find(|s| s["ext"]["complete"] == false)
        .unwrap();
    assert_refused(
        &first["ext"]["failed"],
        "databricks_subnets",
        "Databricks workspace myWorkspace3",
    );
    assert_refused(
        &first["ext"]["failed"],
        "databricks_diagnostic_settings",
        "Databricks workspace myWorkspace1",
    );
    // Not evaluated: no subnet or logging finding; the workspace rules run.
    let raised = per_check(&sb.records("dbaudit_rules.json"));
    assert_eq!(
        raised.keys().collect::<Vec<_>>(),
        [
            "azure_databricks_no_private_endpoint",
            "azure_databricks_not_in_customer_vnet",
            "azure_databricks_public_ip_enabled",
            "azure_databricks_public_network_access_enabled",
        ]
    );
}

/// A throttled list (429 with Retry-After) is read again and nothing is
/// lost; a subscription whose resource provider is not registered (409
/// MissingSubscriptionRegistration) is a failed collection, its rules not
/// evaluated there, never a pass.
#[test]
fn throttled_databricks_lists_are_retried_and_an_unregistered_provider_fails_the_collection() {
    let (sb, clouds, run) = run_audit(
        &["--fail", "/providers/Microsoft.Databricks/workspaces=429x1"],
        "databricks.yaml",
        databricks_audit,
    );
    run.assert_status(0);
    let lists = |clouds: &Clouds| {
        crate::common::json_lines(&clouds.log)
            .iter()
            .filter(|r| {
                let path = r["path"].as_str().unwrap_or_default();
                path.ends_with("/providers/Microsoft.Databricks/workspaces")
            })
            .count()
    };
    let (_sb, unthrottled, _run) = run_audit(&[], "databricks.yaml", databricks_audit);
    assert_eq!(
        lists(&clouds),
        lists(&unthrottled) + 1,
        "one list asked twice"
    );
    let read = sb.records("dbaudit_azdatabricks.json");
    assert_eq!(of_type(&read, "databricks_workspace").len(), 3);
    assert_eq!(sb.records("dbaudit_rules.json").len(), 6, "as unthrottled");

    let (sb, _clouds, run) = run_audit(
        &["--fail", "/providers/Microsoft.Databricks/workspaces=409"],
        "databricks.yaml",
        databricks_audit,
    );
    assert_eq!(run.status, Some(1), "a partial read: {}", run.output());
    let read = sb.records("dbaudit_azdatabricks.json");
    assert!(of_type(&read, "databricks_workspace").is_empty());
    let summaries = of_type(&read, "collection_summary");
    assert!(!summaries.is_empty());
    for summary in summaries {
        assert_eq!(summary["ext"]["complete"], false, "{summary}");
        let why = summary["ext"]["failed"]["databricks_workspace"]
            .as_str()
            .unwrap();
        assert!(
            why.contains("409") && why.contains("MissingSubscriptionRegistration"),
            "{why}"
        );
    }
    assert!(
        !sb.out().join("dbaudit_rules.json").exists()
            || sb.records("dbaudit_rules.json").is_empty()
    );
}

/// The audit of azappinsights with its rule (events in
/// `aiaudit_rules.json`).
fn app_insights_audit(clouds: &Clouds) -> AuditYaml {
    AuditYaml::new("aiaudit")
        .cloud("azappinsights", "azappinsights", &clouds.azure_params(""))
        .event(
            "rules",
            "rulesevent",
            "{include: [\"azure_application_insights_missing\"]}",
        )
}

#[test]
fn application_insights_components_with_their_rule() {
    let (sb, _clouds, run) = run_audit(&[], "appinsights.yaml", app_insights_audit);
    run.assert_status(0);
    let read = sb.records("aiaudit_azappinsights.json");
    let records = of_type(&read, "application_insights");
    assert_eq!(records.len(), 2, "one per subscription");
    let first = records
        .iter()
        .find(|r| r["ext"]["components"] == 2)
        .unwrap();
    assert_eq!(
        first["ext"]["component_names"],
        json!(["my-component", "my-other-component"])
    );
    // The components are kept without what lets anyone send them telemetry.
    let text = serde_json::to_string(&read).unwrap();
    assert!(!text.contains("InstrumentationKey") && !text.contains("dc5931c7"));
    // The rule fires on the second subscription (none) only.
    let events = sb.records("aiaudit_rules.json");
    assert_eq!(events.len(), 1);
    let empty = records
        .iter()
        .find(|r| r["ext"]["components"] == 0)
        .unwrap();
    assert_eq!(reference(&events[0]), reference(empty));
}

#[test]
fn refused_application_insights_is_a_failed_collection_not_a_missing_component() {
    let (sb, _clouds, run) = run_audit(
        &["--fail", "Microsoft.Insights/components=403"],
        "appinsights.yaml",
        app_insights_audit,
    );
    assert_eq!(run.status, Some(1), "a partial read: {}", run.output());
    run.assert_says("could NOT read application_insights");
    let read = sb.records("aiaudit_azappinsights.json");
    assert!(of_type(&read, "application_insights").is_empty());
    for summary in of_type(&read, "collection_summary") {
        assert_refused(
            &summary["ext"]["failed"],
            "application_insights",
            "listing application_insights",
        );
    }
    assert!(
        !sb.out().join("aiaudit_rules.json").exists(),
        "no event: nothing was read"
    );
}

/// The audit of azkv with the Key Vault audit logging rule (events in
/// `kvlogaudit_rules.json`).
fn key_vault_logging_audit(clouds: &Clouds) -> AuditYaml {
    AuditYaml::new("kvlogaudit")
        .cloud("azkv", "azkv", &clouds.azure_params(", max_retries: 0"))
        .event(
            "rules",
            "rulesevent",
            "{include: [\"azure_keyvault_audit_logging_off\"]}",
        )
}

/// The vault names of `records` (`ext.key_vault`).
fn vault_names<'a>(records: &[&'a Value]) -> Vec<&'a str> {
    let mut names: Vec<&str> = records
        .iter()
        .map(|r| r["ext"]["key_vault"].as_str().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn key_vault_diagnostic_settings_and_the_audit_logging_rule() {
    let (sb, _clouds, run) = run_audit(&[], "kvlog.yaml", key_vault_logging_audit);
    // kv-firewalled's data plane refuses, as in the other Key Vault tests;
    // its diagnostic settings come from the Resource Manager.
    run.assert_status(1);
    let read = sb.records("kvlogaudit_azkv.json");
    let settings = of_type(&read, "key_vault_diagnostic_settings");
    assert_eq!(
        vault_names(&settings),
        ["kv-firewalled", "kv-nonrecoverable", "kv-recoverable"]
    );
    let audited = |name: &str| {
        settings
            .iter()
            .find(|s| s["ext"]["key_vault"] == name)
            .unwrap()["ext"]["audit_settings"]
            .clone()
    };
    assert_eq!(audited("kv-recoverable"), json!(["audit-to-law"]));
    assert_eq!(audited("kv-firewalled"), json!(["audit-to-storage"]));
    assert_eq!(audited("kv-nonrecoverable"), json!([]));
    let summary = &of_type(&read, "collection_summary")[0]["ext"];
    assert_eq!(summary["collected"]["key_vault_diagnostic_settings"], 3);
    // The rule fires on kv-nonrecoverable (AuditEvent disabled) only.
    let events = sb.records("kvlogaudit_rules.json");
    assert_eq!(events.len(), 1);
    assert!(reference(&events[0]).ends_with("/vaults/kv-nonrecoverable"));
}

#[test]
fn refused_key_vault_diagnostic_settings_are_a_failed_collection() {
    let (sb, _clouds, run) = run_audit(
        &[
            "--fail",
            "kv-nonrecoverable/providers/Microsoft.Insights/diagnosticSettings=403",
        ],
        "kvlog.yaml",
        key_vault_logging_audit,
    );
    run.assert_status(1);
    run.assert_says("Cannot list the diagnostic settings of Key Vault kv-nonrecoverable");
    let read = sb.records("kvlogaudit_azkv.json");
    let settings = of_type(&read, "key_vault_diagnostic_settings");
    assert_eq!(vault_names(&settings), ["kv-firewalled", "kv-recoverable"]);
    let summary = &of_type(&read, "collection_summary")[0]["ext"];
    assert_refused(
        &summary["failed"],
        "key_vault_diagnostic_settings",
        "vault kv-nonrecoverable",
    );
    // Not evaluated: the vault whose settings were refused raises nothing.
    assert!(
        !sb.out().join("kvlogaudit_rules.json").exists(),
        "no event: kv-nonrecoverable's settings were not read"
    );
}

/// The audit of azkv with the key rotation and certificate validity rules
/// (events in `kvplaneaudit_rules.json`).
fn key_vault_plane_audit(clouds: &Clouds) -> AuditYaml {
    AuditYaml::new("kvplaneaudit")
        .cloud("azkv", "azkv", &clouds.azure_params(", max_retries: 0"))
        .event(
            "rules",
            "rulesevent",
            "{include: [\"azure_keyvault_key_auto_rotation_off\", \"azure_keyvault_certificate_validity_too_long\"]}",
        )
}

#[test]
fn key_rotation_policies_and_certificates_with_their_rules() {
    let (sb, _clouds, run) = run_audit(&[], "kvplane.yaml", key_vault_plane_audit);
    // kv-firewalled's data plane refuses everything: a partial read.
    run.assert_status(1);
    let read = sb.records("kvplaneaudit_azkv.json");
    let policies = of_type(&read, "key_vault_key_rotation_policy");
    let keys: Vec<&str> = policies
        .iter()
        .map(|p| p["ext"]["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["key-with-expiry", "key-no-expiry"],
        "the disabled key is not read"
    );
    let certificates = of_type(&read, "key_vault_certificate");
    assert_eq!(certificates.len(), 2);
    let published = certificates
        .iter()
        .find(|c| c["ext"]["certificate"] == "listCert01")
        .unwrap();
    assert_eq!(published["ext"]["validity_months"], 297);
    assert_eq!(published["raw"]["policy"]["issuer"]["name"], "Unknown");
    // kv-firewalled: neither its keys' policies nor its certificates read,
    // and said so.
    let summary = &of_type(&read, "collection_summary")[0]["ext"];
    assert_eq!(summary["collected"]["key_vault_key_rotation_policy"], 2);
    assert_eq!(summary["collected"]["key_vault_certificate"], 2);
    let failed = &summary["failed"];
    assert!(failed["key_vault_key_rotation_policy"]
        .as_str()
        .unwrap()
        .contains("vault kv-firewalled: its keys could not be listed"));
    assert_refused(failed, "key_vault_certificate", "vault kv-firewalled");
    // Each rule fires on its crafted item only, not on its twin.
    let events = sb.records("kvplaneaudit_rules.json");
    let mut raised: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["com"]["check"].as_str().unwrap(),
                reference(e).rsplit("/certificates/").next().unwrap(),
            )
        })
        .collect();
    raised.sort();
    assert_eq!(
        raised,
        [
            ("azure_keyvault_certificate_validity_too_long", "listCert01"),
            (
                "azure_keyvault_key_auto_rotation_off",
                "https://kv-recoverable.vault.azure.net/keys/key-no-expiry/rotationpolicy"
            ),
        ]
    );
}

#[test]
fn a_refused_rotation_policy_is_a_failed_collection_for_that_key() {
    let (sb, _clouds, run) = run_audit(
        &["--fail", "/keys/key-no-expiry/rotationpolicy=403"],
        "kvplane.yaml",
        key_vault_plane_audit,
    );
    run.assert_status(1);
    let read = sb.records("kvplaneaudit_azkv.json");
    let policies = of_type(&read, "key_vault_key_rotation_policy");
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0]["ext"]["key"], "key-with-expiry");
    let summary = &of_type(&read, "collection_summary")[0]["ext"];
    assert_refused(
        &summary["failed"],
        "key_vault_key_rotation_policy",
        "rotation policy of key key-no-expiry",
    );
    // key-no-expiry is not evaluated: the rotation rule raises nothing.
    let raised = per_check(&sb.records("kvplaneaudit_rules.json"));
    assert_eq!(
        raised.keys().collect::<Vec<_>>(),
        ["azure_keyvault_certificate_validity_too_long"]
    );
}

/// The audit of azentra with its rules (events in `entraaudit_rules.json`),
/// Microsoft Graph at the server's `/graph`.
fn entra_audit(clouds: &Clouds) -> AuditYaml {
    let params = clouds.azure_params(&format!(", graph: \"{}/graph\"", clouds.url()));
    AuditYaml::new("entraaudit")
        .cloud("azentra", "azentra", &params)
        .event("rules", "rulesevent", "{include: [\"azure_entra_*\"]}")
}

#[test]
fn entra_security_defaults_and_users_mfa_from_graph_with_their_rules() {
    let (sb, clouds, run) = run_audit(&[], "entra.yaml", entra_audit);
    run.assert_status(0);
    let read = sb.records("entraaudit_azentra.json");
    let defaults = of_type(&read, "entra_security_defaults");
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0]["ext"]["readable"], true);
    assert_eq!(defaults[0]["ext"]["enabled"], false);
    let mfa = of_type(&read, "entra_user_mfa");
    assert_eq!(mfa.len(), 1);
    assert_eq!(mfa[0]["ext"]["users"], 2, "both pages; the guest left out");
    assert_eq!(
        mfa[0]["ext"]["users_without_mfa"],
        json!(["alex@contoso.example"])
    );
    // Graph was read with a token for Graph's scope (the server accepts no
    // other there).
    assert!(clouds
        .requests()
        .iter()
        .any(|(path, ..)| path.ends_with("/userRegistrationDetails")));
    let raised = per_check(&sb.records("entraaudit_rules.json"));
    let raised: Vec<(&str, usize)> = raised.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        raised,
        [
            ("azure_entra_security_defaults_off", 1),
            ("azure_entra_users_without_mfa", 1)
        ]
    );
    // The tenant's collection summary: both read.
    let summary = of_type(&read, "collection_summary");
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0]["ext"]["complete"], true, "{}", summary[0]);
}

#[test]
fn a_compliant_entra_tenant_raises_nothing() {
    let (sb, _clouds, run) = run_audit(&["--entra-compliant"], "entra.yaml", entra_audit);
    run.assert_status(0);
    let read = sb.records("entraaudit_azentra.json");
    assert_eq!(
        of_type(&read, "entra_security_defaults")[0]["ext"]["enabled"],
        true
    );
    assert_eq!(
        of_type(&read, "entra_user_mfa")[0]["ext"]["users_without_mfa"],
        json!([])
    );
    assert!(!sb.out().join("entraaudit_rules.json").exists());
}

#[test]
fn graph_without_permission_leaves_the_entra_rules_not_evaluated_naming_the_permission() {
    let (sb, _clouds, run) = run_audit(
        &[
            "--fail",
            "/graph/v1.0/policies=403",
            "--fail",
            "userRegistrationDetails=403",
        ],
        "entra.yaml",
        entra_audit,
    );
    // Data was lost: a partial read, said in the exit status.
    assert_eq!(run.status, Some(1), "{}", run.output());
    let read = sb.records("entraaudit_azentra.json");
    let defaults = of_type(&read, "entra_security_defaults")[0];
    assert_eq!(defaults["ext"]["readable"], false);
    let why = defaults["ext"]["why"].as_str().unwrap();
    assert!(
        why.contains("403") && why.contains("Policy.Read.All"),
        "{why}"
    );
    let mfa = of_type(&read, "entra_user_mfa")[0];
    assert_eq!(mfa["ext"]["readable"], false);
    let why = mfa["ext"]["why"].as_str().unwrap();
    assert!(why.contains("AuditLog.Read.All"), "{why}");
    assert!(
        !sb.out().join("entraaudit_rules.json").exists(),
        "nothing evaluated, nothing raised"
    );
    // The tenant's summary names what could not be read and the
    // permission it needs, and so does the compliance report's "not
    // evaluated".
    let summary = of_type(&read, "collection_summary")[0];
    assert_eq!(summary["ext"]["complete"], false);
    let failed = &summary["ext"]["failed"];
    assert!(
        failed["entra_security_defaults"]
            .as_str()
            .unwrap()
            .contains("Policy.Read.All"),
        "{failed}"
    );
    assert!(
        failed["entra_user_mfa"]
            .as_str()
            .unwrap()
            .contains("AuditLog.Read.All"),
        "{failed}"
    );
    let report = sb.compliance_json("cis_azure_6.0.0", &["sandbox.yaml", "entra.yaml"]);
    let defaults = report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "5.1.1")
        .unwrap();
    assert_eq!(defaults["status"], "not_evaluated", "{defaults}");
    assert!(
        defaults["why"]
            .as_str()
            .unwrap()
            .contains("Policy.Read.All"),
        "{defaults}"
    );
}
