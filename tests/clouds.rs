//! The cloud plugins against a local server that replays Microsoft's and
//! Google's published API examples (tests/support/cloud_server.py), with the
//! event plugins: the exact events a real audit would raise.

mod common;

use common::python::{self, free_port, root, CloudServer};
use common::Sandbox;
use serde_json::{json, Value};
use std::time::Instant;

const SECRET: &str = "client-secret";

struct Clouds {
    server: CloudServer,
    log: std::path::PathBuf,
}

impl Clouds {
    fn start(sb: &Sandbox, extra: &[&str]) -> Self {
        let log = sb.path().join("requests.jsonl");
        Self {
            server: python::cloud_server(&log, extra),
            log,
        }
    }

    fn url(&self) -> String {
        self.server.url()
    }

    /// The Azure params that sign in here with the client secret.
    fn azure_sign_in(&self) -> String {
        self.server.azure_sign_in()
    }

    /// The requests the server answered: (path, start, end).
    fn requests(&self) -> Vec<(String, f64, f64)> {
        common::timed_requests(&self.log, "path")
    }
}

/// A config for an audit `cloudaudit` with `clouds`, the three event
/// plugins and filestore; Azure plugins use `azure_extra` params.
fn audit_config(sb: &Sandbox, clouds: &Clouds, cloud_keys: &str, azure_extra: &str) {
    let key_path = gcp_key();
    let url = clouds.url();
    let signin = clouds.azure_sign_in();
    let azure = format!("{{tenant: tenant-1, client: client-id, secret: {SECRET}, {signin}, resource_manager: \"{url}\", timeout: 10{azure_extra}}}");
    sb.file(
        "clouds.yaml",
        &format!(
            "plugins:\n  azcloud:\n    plugin: cloudmarker.clouds.azcloud.AzCloud\n    params: {azure}\n  azvm:\n    plugin: cloudmarker.clouds.azvm.AzVM\n    params: {azure}\n  gcpcloud:\n    plugin: cloudmarker.clouds.gcpcloud.GCPCloud\n    params: {{key_file_path: \"{}\", compute_url: \"{url}/compute/v1\", resource_manager_url: \"{url}/cloudresourcemanager/v1\", storage_url: \"{url}/storage/v1\", sqladmin_url: \"{url}/sqladmin/v1\", timeout: 10}}\naudits:\n  cloudaudit:\n    clouds: {cloud_keys}\n    stores: [filestore]\n    events: [firewallruleevent, azvmosdiskencryptionevent, azvmdatadiskencryptionevent]\n    alerts: [filestore]\nrun: [cloudaudit]\n",
            key_path.display()
        ),
    );
}

/// The service-account key file: the published example's key, as PKCS#8
/// (the form Google issues); the server accepts its self-signed tokens.
fn gcp_key() -> std::path::PathBuf {
    root().join("tests/data/gcp/service_account_key.pkcs8.derived.json")
}

fn records(sb: &Sandbox, name: &str) -> Vec<Value> {
    sb.read_json(name).as_array().unwrap().clone()
}

fn of_type<'a>(records: &'a [Value], record_type: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["ext"]["record_type"] == record_type)
        .collect()
}

#[test]
fn an_audit_of_azure_and_gcp_raises_exactly_the_expected_events() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    audit_config(&sb, &clouds, "[azcloud, azvm, gcpcloud]", "");
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());

    let mut firewall_events: Vec<(String, Value)> =
        records(&sb, "cloudaudit_firewallruleevent.json")
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
    let os_events = records(&sb, "cloudaudit_azvmosdiskencryptionevent.json");
    let descriptions: Vec<&str> = os_events
        .iter()
        .map(|e| e["com"]["description"].as_str().unwrap())
        .collect();
    assert_eq!(
        descriptions,
        [format!(
            "Azure virtual machine {vm} has unencrypted OS disk myOsDisk"
        )]
    );
    let data_events = records(&sb, "cloudaudit_azvmdatadiskencryptionevent.json");
    let descriptions: Vec<&str> = data_events
        .iter()
        .map(|e| e["com"]["description"].as_str().unwrap())
        .collect();
    assert_eq!(
        descriptions,
        [format!(
            "Azure virtual machine {vm} has unencrypted data disk myDataDisk0"
        )]
    );

    // What azcloud read: every type of the first subscription, nothing in the second.
    let azcloud = records(&sb, "cloudaudit_azcloud.json");
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
    let tls: Vec<(&str, &Value)> = mysql
        .iter()
        .map(|r| {
            (
                r["raw"]["name"].as_str().unwrap(),
                &r["com"]["tls_enforced"],
            )
        })
        .collect();
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

    let azvm = records(&sb, "cloudaudit_azvm.json");
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

    let gcp_records = records(&sb, "cloudaudit_gcpcloud.json");
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
        !run.output().contains(SECRET) && !sb.log().contains(SECRET),
        "the secret is never logged"
    );
}

#[test]
fn a_denied_type_is_reported_and_everything_else_is_read() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &["--fail", "storageAccounts=403"]);
    audit_config(&sb, &clouds, "[azcloud]", "");
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(
        run.status,
        Some(1),
        "a partial read is a failure: {}",
        run.output()
    );
    run.assert_says("could NOT read storage_account");
    let azcloud = records(&sb, "cloudaudit_azcloud.json");
    let summary = of_type(&azcloud, "collection_summary")[0];
    assert_eq!(summary["ext"]["complete"], false);
    assert!(summary["ext"]["failed"]["storage_account"].as_str().unwrap().contains("HTTP 403: subscription 291bba3f-e0a5-47bc-a099-3bdcb2a50a05: listing storage_account: AuthorizationFailed"), "{summary}");
    assert_eq!(summary["ext"]["collected"]["nsg"], 3);
    assert_eq!(
        of_type(
            &records(&sb, "cloudaudit_firewallruleevent.json"),
            "firewall_rule_event"
        )
        .len(),
        2
    );
}

#[test]
fn throttling_is_retried_after_the_retry_after_delay() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(
        &sb,
        &[
            "--fail",
            "networkInterfaces=429x2",
            "--fail",
            "loadBalancers=503x1",
        ],
    );
    audit_config(&sb, &clouds, "[azcloud]", "");
    let started = Instant::now();
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    run.assert_says("listing nic: HTTP 429 Too Many Requests; retrying in 1.00 s.");
    run.assert_says("listing lb: HTTP 503 Service Unavailable; retrying in 1.00 s.");
    assert!(started.elapsed().as_secs_f64() >= 1.0);
    let azcloud = records(&sb, "cloudaudit_azcloud.json");
    let summary = &of_type(&azcloud, "collection_summary")[0]["ext"];
    assert_eq!(
        (
            summary["collected"]["nic"].clone(),
            summary["complete"].clone()
        ),
        (json!(2), json!(true))
    );
}

#[test]
fn a_storm_beyond_the_retries_fails_that_type_only() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &["--fail", "loadBalancers=503", "--retry-after", "0"]);
    audit_config(&sb, &clouds, "[azcloud]", ", max_retries: 2");
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(1), "{}", run.output());
    run.assert_says("listing lb: InternalServerError: Injected 503");
    run.assert_says("(after 3 attempts)");
    let lb_requests = clouds
        .requests()
        .iter()
        .filter(|r| r.0.contains("loadBalancers"))
        .count();
    assert_eq!(lb_requests, 2 * 3, "3 attempts in each of 2 subscriptions");
}

#[test]
fn bad_credentials_fail_clearly_and_keep_the_secret() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &["--secret", "the-real-secret"]);
    audit_config(&sb, &clouds, "[azcloud, gcpcloud]", "");
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(1), "{}", run.output());
    run.assert_says("azcloud: cannot list subscriptions: signing in with client_secret failed: ClientSecretCredential authentication failed. AADSTS7000215: Invalid client secret provided.");
    assert!(!run.output().contains(SECRET) && !run.output().contains("the-real-secret"));
    run.assert_says(
        "Project example-project: read 2 bucket, 1 compute, 4 firewall, 2 sql_instance.",
    );
}

#[test]
fn validate_connect_signs_in_to_each_cloud_and_reads_no_resources() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    audit_config(&sb, &clouds, "[azcloud, azvm, gcpcloud]", "");
    let run = sb.run(&["validate", "--connect", "-c", "sandbox.yaml", "clouds.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    let row = |key: &str| {
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{key} ")));
        line.unwrap_or_else(|| panic!("no row for {key}: {}", run.output()))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let url = clouds.url();
    for key in ["azcloud", "azvm"] {
        assert_eq!(
            row(key),
            format!(
                "{key} {key} ok signed in with client_secret and listed 2 subscription(s) at {url}"
            )
        );
    }
    assert_eq!(
        row("gcpcloud"),
        format!("gcpcloud gcpcloud ok signed in with key_file as service-account@example.com and read the firewalls of project example-project at {url}/compute/v1")
    );
    let listed: Vec<String> = clouds
        .requests()
        .into_iter()
        .map(|(path, ..)| path)
        .collect();
    assert!(
        listed
            .iter()
            .all(|p| !p.contains("virtualMachines") && !p.contains("instances")),
        "only sign-in and one listing per plugin: {listed:?}"
    );

    // Bad credentials fail the check, without the secret.
    let clouds = Clouds::start(&sb, &["--secret", "the-real-secret"]);
    audit_config(&sb, &clouds, "[azcloud]", "");
    let run = sb.run(&["validate", "--connect", "-c", "sandbox.yaml", "clouds.yaml"]);
    assert_eq!(run.status, Some(1), "{}", run.output());
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("azcloud "))
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        line.contains(" failed azcloud: ") && line.contains("Invalid client secret provided."),
        "{line}"
    );
    assert!(!run.output().contains(SECRET) && !run.output().contains("the-real-secret"));
}

#[test]
fn storage_accounts_and_their_checks_run_under_upstream_class_names() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    let url = clouds.url();
    let signin = clouds.azure_sign_in();
    let azure = format!("{{tenant: tenant-1, client: client-id, secret: {SECRET}, {signin}, resource_manager: \"{url}\", timeout: 10}}");
    let events = [
        (
            "azstorageaccountsecuretransferevent",
            "AzStorageAccountSecureTransferEvent",
        ),
        (
            "azstorageaccountdefaultnetworkaccessevent",
            "AzStorageAccountDefaultNetworkAccessEvent",
        ),
        (
            "azstorageaccountallowtrustedservicesevent",
            "AzStorageAccountAllowTrustedServicesEvent",
        ),
        (
            "azstorageaccountpublicblobaccessevent",
            "AzStorageAccountPublicBlobAccessEvent",
        ),
        ("azstorageaccountmintlsevent", "AzStorageAccountMinTlsEvent"),
    ];
    let mut yaml = format!("plugins:\n  azstorageaccount:\n    plugin: cloudmarker.clouds.azstorageaccount.AzStorageAccount\n    params: {azure}\n");
    for (module, class) in events {
        yaml.push_str(&format!(
            "  {module}:\n    plugin: cloudmarker.events.{module}.{class}\n"
        ));
    }
    let keys: Vec<&str> = events.iter().map(|(m, _)| *m).collect();
    yaml.push_str(&format!(
        "audits:\n  storageaudit:\n    clouds: [azstorageaccount]\n    stores: [filestore]\n    events: [{}]\n    alerts: [filestore]\nrun: [storageaudit]\n",
        keys.join(", ")
    ));
    sb.file("storage.yaml", &yaml);
    let run = sb.run_now(&["storage.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());

    // The published example's six accounts, each with its properties.
    let accounts = records(&sb, "storageaudit_azstorageaccount.json");
    let accounts_read = of_type(&accounts, "storage_account_properties");
    assert_eq!(accounts_read.len(), 6);
    let sto8596 = accounts_read
        .iter()
        .find(|r| r["raw"]["name"] == "sto8596")
        .expect("sto8596");
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

    // What the checks found in it: no account requires secure transfer, all
    // accept any network and TLS 1.0; none is public or keeps out Azure
    // services.
    let count = |module: &str| {
        let file = format!("storageaudit_{module}.json");
        if sb.out().join(&file).exists() {
            records(&sb, &file).len()
        } else {
            0
        }
    };
    assert_eq!(count("azstorageaccountsecuretransferevent"), 6);
    assert_eq!(count("azstorageaccountdefaultnetworkaccessevent"), 6);
    assert_eq!(count("azstorageaccountmintlsevent"), 6);
    assert_eq!(count("azstorageaccountallowtrustedservicesevent"), 0);
    assert_eq!(count("azstorageaccountpublicblobaccessevent"), 0);
    let event = &records(&sb, "storageaudit_azstorageaccountsecuretransferevent.json")[0];
    assert_eq!(
        event["com"]["record_type"],
        "storage_account_secure_transfer_event"
    );
    assert!(event["com"]["reference"]
        .as_str()
        .unwrap()
        .ends_with("/storageAccounts/sto1125"));

    // One library provides all six.
    let run = sb.run(&["plugins", "list", "--format", "json"]);
    let entries: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    let from_library: Vec<&str> = entries
        .iter()
        .filter(|e| {
            e["path"].as_str().unwrap().ends_with("/libazstorage.so") && e["status"] == "ok"
        })
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(from_library.len(), 6, "{from_library:?}");
}

#[test]
fn key_vaults_their_keys_and_secrets_and_a_vault_that_refuses() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    let url = clouds.url();
    let signin = clouds.azure_sign_in();
    let azure = format!("{{tenant: tenant-1, client: client-id, secret: {SECRET}, {signin}, resource_manager: \"{url}\", timeout: 10, max_retries: 0}}");
    sb.file(
        "kv.yaml",
        &format!("plugins:\n  azkv:\n    plugin: cloudmarker.clouds.azkv.AzKV\n    params: {azure}\n  azkvkeynoexpiryevent:\n    plugin: cloudmarker.events.azkvkeynoexpiryevent.AzKVKeyNoExpiryEvent\n  azkvsecretnoexpiryevent:\n    plugin: cloudmarker.events.azkvsecretnoexpiryevent.AzKVSecretNoExpiryEvent\n  azkvnonrecoverableevent:\n    plugin: cloudmarker.events.azkvnonrecoverableevent.AzKVNonRecoverableEvent\naudits:\n  kvaudit:\n    clouds: [azkv]\n    stores: [filestore]\n    events: [azkvkeynoexpiryevent, azkvsecretnoexpiryevent, azkvnonrecoverableevent]\n    alerts: [filestore]\nrun: [kvaudit]\n"),
    );
    let run = sb.run_now(&["kv.yaml"]);
    // One vault's data plane refused: a partial read, reported, not fatal.
    assert_eq!(run.status, Some(1), "{}", run.output());
    run.assert_says("Cannot list the keys of Key Vault kv-firewalled");
    let read = records(&sb, "kvaudit_azkv.json");
    assert_eq!(of_type(&read, "key_vault").len(), 3);
    let keys = of_type(&read, "key_vault_key");
    assert_eq!(keys.len(), 3, "both pages of kv-recoverable's keys");
    assert_eq!(of_type(&read, "key_vault_secret").len(), 2);
    let no_expiry = keys
        .iter()
        .find(|k| {
            k["com"]["reference"]
                .as_str()
                .unwrap()
                .ends_with("/keys/key-no-expiry")
        })
        .unwrap();
    assert_eq!(no_expiry["ext"]["expiry_set"], false);
    assert_eq!(no_expiry["ext"]["enabled"], true);
    let vault = |name: &str| {
        of_type(&read, "key_vault")
            .into_iter()
            .find(|v| v["raw"]["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(vault("kv-recoverable")["ext"]["recoverable"], true);
    assert_eq!(vault("kv-nonrecoverable")["ext"]["recoverable"], false);
    let summary = &of_type(&read, "collection_summary")[0]["ext"];
    assert_eq!(summary["complete"], false);
    assert_eq!(summary["collected"]["key_vault_key"], 3);
    let failed = summary["failed"]["key_vault_key"].as_str().unwrap();
    assert!(
        failed.contains("vault kv-firewalled") && failed.contains("403"),
        "{failed}"
    );

    let events = |name: &str| records(&sb, &format!("kvaudit_{name}.json"));
    let keys = events("azkvkeynoexpiryevent");
    assert_eq!(keys.len(), 1, "the disabled key is left alone");
    assert!(keys[0]["com"]["reference"]
        .as_str()
        .unwrap()
        .ends_with("/keys/key-no-expiry"));
    let secrets = events("azkvsecretnoexpiryevent");
    assert_eq!(secrets.len(), 1);
    assert_eq!(
        secrets[0]["com"]["record_type"],
        "key_vault_secret_no_expiry_event"
    );
    let vaults = events("azkvnonrecoverableevent");
    assert_eq!(vaults.len(), 1);
    assert!(vaults[0]["com"]["reference"]
        .as_str()
        .unwrap()
        .ends_with("/vaults/kv-nonrecoverable"));
}

#[test]
fn web_apps_with_their_configuration_and_the_checks() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    let url = clouds.url();
    let signin = clouds.azure_sign_in();
    let azure = format!("{{tenant: tenant-1, client: client-id, secret: {SECRET}, {signin}, resource_manager: \"{url}\", timeout: 10, max_retries: 0}}");
    let events = [
        (
            "azwebapphttpsevent",
            "AzWebAppHttpsEvent",
            "web_app_https_event",
        ),
        (
            "azwebappclientcertevent",
            "AzWebAppClientCertEvent",
            "web_app_client_certificate_event",
        ),
        (
            "azwebapphttp20event",
            "AzWebAppHttp20Event",
            "web_app_http20_event",
        ),
        ("azwebapptlsevent", "AzWebAppTLSEvent", "web_app_tls_event"),
        ("azwebappftpevent", "AzWebAppFtpEvent", "web_app_ftp_event"),
    ];
    let mut yaml = format!("plugins:\n  azwebapp:\n    plugin: cloudmarker.clouds.azwebapp.AzWebApp\n    params: {azure}\n");
    for (module, class, _) in events {
        yaml.push_str(&format!(
            "  {module}:\n    plugin: cloudmarker.events.{module}.{class}\n"
        ));
        if module == "azwebapptlsevent" {
            // Upstream's param, as an upstream config writes it.
            yaml.push_str("    params: {_min_tls_version: 1.2}\n");
        }
    }
    let keys: Vec<&str> = events.iter().map(|(m, _, _)| *m).collect();
    yaml.push_str(&format!(
        "audits:\n  webaudit:\n    clouds: [azwebapp]\n    stores: [filestore]\n    events: [{}]\n    alerts: [filestore]\nrun: [webaudit]\n",
        keys.join(", ")
    ));
    sb.file("web.yaml", &yaml);
    let run = sb.run_now(&["web.yaml"]);
    // app-noconfig's configuration is refused: counted, the others are read.
    assert_eq!(run.status, Some(1), "{}", run.output());
    let read = records(&sb, "webaudit_azwebapp.json");
    let apps = of_type(&read, "web_app_config");
    assert_eq!(apps.len(), 2, "both pages; app-noconfig has no record");
    let insecure = apps
        .iter()
        .find(|a| a["raw"]["name"] == "app-insecure")
        .unwrap();
    assert_eq!(insecure["ext"]["https_only"], false);
    assert_eq!(insecure["ext"]["min_tls_version"], "1.0");
    assert_eq!(insecure["ext"]["ftps_state"], "AllAllowed");
    assert_eq!(
        insecure["raw"]["config"]["properties"]["http20Enabled"], false,
        "the configuration is in raw, as upstream"
    );
    let summary = &of_type(&read, "collection_summary")[0]["ext"];
    let failed = summary["failed"]["web_app_config"].as_str().unwrap();
    assert!(
        failed.contains("web app app-noconfig") && failed.contains("403"),
        "{failed}"
    );
    for (module, _, record_type) in events {
        let raised = records(&sb, &format!("webaudit_{module}.json"));
        assert_eq!(raised.len(), 1, "{module}: only app-insecure: {raised:?}");
        assert_eq!(raised[0]["com"]["record_type"], record_type);
        assert!(raised[0]["com"]["reference"]
            .as_str()
            .unwrap()
            .ends_with("/sites/app-insecure"));
    }
}

#[test]
fn postgres_servers_with_their_parameters_and_the_checks() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    let url = clouds.url();
    let signin = clouds.azure_sign_in();
    let azure = format!("{{tenant: tenant-1, client: client-id, secret: {SECRET}, {signin}, resource_manager: \"{url}\", timeout: 10, max_retries: 0}}");
    let events = [
        (
            "azpostgreslogcheckpointsevent",
            "AzPostgresLogCheckpointsEvent",
            "postgres_log_checkpoints_event",
        ),
        (
            "azpostgreslogconnectionsevent",
            "AzPostgresLogConnectionsEvent",
            "postgres_log_connections_event",
        ),
        (
            "azpostgreslogdisconnectionsevent",
            "AzPostgresLogDisconnectionsEvent",
            "postgres_log_disconnections_event",
        ),
        (
            "azpostgreslogdurationevent",
            "AzPostgresLogDurationEvent",
            "postgres_log_duration_event",
        ),
        (
            "azpostgresconnectionthrottlingevent",
            "AzPostgresConnectionThrottlingEvent",
            "postgres_connection_throttling_event",
        ),
        (
            "azpostgreslogretentiondaysevent",
            "AzPostgresLogRetentionDaysEvent",
            "postgres_log_retention_days_event",
        ),
        (
            "rdbmsenforcetlsevent",
            "RDBMSEnforceTLSEvent",
            "rdbms_enforce_tls_event",
        ),
    ];
    let mut yaml = format!("plugins:\n  azpostgres:\n    plugin: cloudmarker.clouds.azpostgres.AzPostgres\n    params: {azure}\n");
    for (module, class, _) in events {
        yaml.push_str(&format!(
            "  {module}:\n    plugin: cloudmarker.events.{module}.{class}\n"
        ));
    }
    let keys: Vec<&str> = events.iter().map(|(m, _, _)| *m).collect();
    yaml.push_str(&format!(
        "audits:\n  pgaudit:\n    clouds: [azpostgres]\n    stores: [filestore]\n    events: [{}]\n    alerts: [filestore]\nrun: [pgaudit]\n",
        keys.join(", ")
    ));
    sb.file("pg.yaml", &yaml);
    let run = sb.run_now(&["pg.yaml"]);
    // pg-flex-denied's parameters are refused: counted, the others are read.
    assert_eq!(run.status, Some(1), "{}", run.output());
    let read = records(&sb, "pgaudit_azpostgres.json");
    let servers = of_type(&read, "postgresql_server");
    assert_eq!(servers.len(), 2, "{servers:?}");
    let single = servers
        .iter()
        .find(|s| s["raw"]["name"] == "pg-single-insecure")
        .unwrap();
    assert_eq!(single["com"]["record_type"], "rdbms");
    assert_eq!(single["com"]["tls_enforced"], false);
    assert_eq!(
        single["ext"]["log_retention_days"], 1,
        "both pages of parameters"
    );
    assert_eq!(single["ext"]["server_kind"], "single");
    let flexible = servers
        .iter()
        .find(|s| s["raw"]["name"] == "pg-flex-secure")
        .unwrap();
    assert_eq!(
        flexible["com"]["tls_enforced"], true,
        "read from require_secure_transport"
    );
    assert_eq!(flexible["ext"]["connection_throttling_enabled"], true);
    assert_eq!(flexible["ext"]["log_retention_days"], 7);
    let summary = &of_type(&read, "collection_summary")[0]["ext"];
    let failed = summary["failed"]["postgresql_flexible_server"]
        .as_str()
        .unwrap();
    assert!(
        failed.contains("server pg-flex-denied") && failed.contains("403"),
        "{failed}"
    );
    for (module, _, record_type) in events {
        let raised = records(&sb, &format!("pgaudit_{module}.json"));
        assert_eq!(
            raised.len(),
            1,
            "{module}: only pg-single-insecure: {raised:?}"
        );
        assert_eq!(raised[0]["com"]["record_type"], record_type);
        assert!(raised[0]["com"]["reference"]
            .as_str()
            .unwrap()
            .ends_with("/servers/pg-single-insecure"));
    }
}

#[test]
fn sql_servers_databases_and_their_firewall_open_to_the_world() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    let url = clouds.url();
    let signin = clouds.azure_sign_in();
    let azure = format!("{{tenant: tenant-1, client: client-id, secret: {SECRET}, {signin}, resource_manager: \"{url}\", timeout: 10, max_retries: 0}}");
    sb.file(
        "sql.yaml",
        &format!("plugins:\n  azsql:\n    plugin: cloudmarker.clouds.azsql.AzSQL\n    params: {azure}\n  azsqldatabasetdeevent:\n    plugin: cloudmarker.events.azsqldatabasetdeevent.AzSQLDatabaseTDEEvent\n  azsqlserverauditingevent:\n    plugin: azsqlserverauditingevent\naudits:\n  sqlaudit:\n    clouds: [azsql]\n    stores: [filestore]\n    events: [azsqldatabasetdeevent, azsqlserverauditingevent, firewallruleevent]\n    alerts: [filestore]\nrun: [sqlaudit]\n"),
    );
    let run = sb.run_now(&["sql.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    let read = records(&sb, "sqlaudit_azsql.json");
    assert_eq!(of_type(&read, "sql_server").len(), 2);
    let dbs = of_type(&read, "sql_db");
    assert_eq!(dbs.len(), 3, "master is not a user database: {dbs:?}");
    assert_eq!(of_type(&read, "sql_firewall_rule").len(), 3);
    let summary = &of_type(&read, "collection_summary")[0]["ext"];
    assert_eq!(summary["complete"], true, "{summary}");

    let tde = records(&sb, "sqlaudit_azsqldatabasetdeevent.json");
    assert_eq!(tde.len(), 1);
    assert!(tde[0]["com"]["reference"]
        .as_str()
        .unwrap()
        .ends_with("/databases/db-plain"));
    let auditing = records(&sb, "sqlaudit_azsqlserverauditingevent.json");
    assert_eq!(auditing.len(), 1);
    assert!(auditing[0]["com"]["reference"]
        .as_str()
        .unwrap()
        .ends_with("/servers/sql-open"));
    // Only AllowAll opens 1433 to the Internet; Azure services and the
    // office range do not.
    let open = records(&sb, "sqlaudit_firewallruleevent.json");
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(open[0]["com"]["reference"]
        .as_str()
        .unwrap()
        .ends_with("/firewallRules/AllowAll"));
}

#[test]
fn log_profiles_diagnostic_settings_and_their_absence() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    let url = clouds.url();
    let signin = clouds.azure_sign_in();
    let azure = format!("{{tenant: tenant-1, client: client-id, secret: {SECRET}, {signin}, resource_manager: \"{url}\", timeout: 10}}");
    let events = [
        ("azlogprofileevent", "AzLogProfileEvent"),
        (
            "azlogprofilemissingcategoryevent",
            "AzLogProfileMissingCategoryEvent",
        ),
        (
            "azlogprofilemissinglocationevent",
            "AzLogProfileMissingLocationEvent",
        ),
        ("azlogprofileretentionevent", "AzLogProfileRetentionEvent"),
        ("azdiagnosticsettingevent", "AzDiagnosticSettingEvent"),
    ];
    let mut yaml = format!("plugins:\n  azmonitor:\n    plugin: cloudmarker.clouds.azmonitor.AzMonitor\n    params: {azure}\n");
    for (module, class) in events {
        yaml.push_str(&format!(
            "  {module}:\n    plugin: cloudmarker.events.{module}.{class}\n"
        ));
    }
    let keys: Vec<&str> = events.iter().map(|(m, _)| *m).collect();
    yaml.push_str(&format!(
        "audits:\n  monaudit:\n    clouds: [azmonitor]\n    stores: [filestore]\n    events: [{}]\n    alerts: [filestore]\nrun: [monaudit]\n",
        keys.join(", ")
    ));
    sb.file("monitor.yaml", &yaml);
    let run = sb.run_now(&["monitor.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    let read = records(&sb, "monaudit_azmonitor.json");
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
    let count = |module: &str| records(&sb, &format!("monaudit_{module}.json")).len();
    assert_eq!(count("azlogprofileevent"), 1);
    assert_eq!(count("azlogprofilemissingcategoryevent"), 1);
    let location = &records(&sb, "monaudit_azlogprofilemissinglocationevent.json")[0];
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
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    let url = clouds.url();
    let signin = clouds.azure_sign_in();
    let azure = format!("{{tenant: tenant-1, client: client-id, secret: {SECRET}, {signin}, resource_manager: \"{url}\", timeout: 10}}");
    sb.file(
        "disks.yaml",
        &format!("plugins:\n  azdisk:\n    plugin: cloudmarker.clouds.azdisk.AzDisk\n    params: {azure}\n  azvm:\n    plugin: cloudmarker.clouds.azvm.AzVM\n    params: {azure}\n  azvmextensionevent:\n    plugin: cloudmarker.events.azvmextensionevent.AzVMExtensionEvent\n    params: {{blacklisted: [IaaSAntiMalware-ext0], required: [AzureMonitorLinuxAgent]}}\naudits:\n  diskaudit:\n    clouds: [azdisk, azvm]\n    stores: [filestore]\n    events: [azvmextensionevent]\n    alerts: [filestore]\nrun: [diskaudit]\n"),
    );
    let run = sb.run_now(&["disks.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    let disks = records(&sb, "diskaudit_azdisk.json");
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
    let events = records(&sb, "diskaudit_azvmextensionevent.json");
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["com"]["record_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "vm_blacklisted_extension_event")
            .count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "vm_required_extension_event")
            .count(),
        2,
        "{kinds:?}"
    );
    assert!(
        !kinds.contains(&"vm_unapproved_extension_event"),
        "no whitelist, no unapproved"
    );
}

#[test]
fn gcp_reads_every_active_project_the_service_account_sees() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    audit_config(&sb, &clouds, "[gcpcloud]", "");
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    let read = records(&sb, "cloudaudit_gcpcloud.json");
    let projects: Vec<&str> = of_type(&read, "project")
        .iter()
        .map(|p| p["ext"]["project_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        projects,
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
    let public = buckets
        .iter()
        .find(|b| b["raw"]["name"] == "public-bucket")
        .unwrap();
    assert_eq!(public["ext"]["public_members"], json!(["allUsers"]));
    assert_eq!(public["ext"]["uniform_bucket_level_access"], false);
    let sql = of_type(&read, "sql_instance");
    let tls: Vec<(&str, &Value)> = sql
        .iter()
        .map(|i| {
            (
                i["raw"]["name"].as_str().unwrap(),
                &i["com"]["tls_enforced"],
            )
        })
        .collect();
    assert_eq!(
        tls,
        [("pg-open", &json!(false)), ("mysql-private", &json!(true))]
    );
    let networks = of_type(&read, "sql_authorized_network");
    assert_eq!(networks.len(), 2);
    assert_eq!(networks[0]["com"]["destination_ports"], json!(["5432"]));

    // _max_projects limits the read, as upstream's does.
    sb.file(
        "clouds.yaml",
        &std::fs::read_to_string(sb.path().join("clouds.yaml"))
            .unwrap()
            .replace(
                "sqladmin/v1\", timeout: 10}",
                "sqladmin/v1\", timeout: 10, _max_projects: 1}",
            ),
    );
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    let read = records(&sb, "cloudaudit_gcpcloud.json");
    assert_eq!(of_type(&read, "project").len(), 1);
}

/// Upstream Cloudmarker HEAD's class names and params, unchanged: every
/// cloud and every event of upstream in one audit `headaudit`, written to
/// `head.yaml`. Gives the event plugins' keys.
fn head_config(sb: &Sandbox, clouds: &Clouds) -> Vec<&'static str> {
    let url = clouds.url();
    let key = gcp_key();
    let azure = format!("      tenant: tenant-1\n      client: client-id\n      secret: {SECRET}\n      processes: 4\n      threads: 30\n      _max_subs: 0\n      _max_recs: 0\n      authority_host: {}\n      ca_cert: {}\n      resource_manager: {url}\n", clouds.server.authority(), clouds.server.ca_cert.display());
    let clouds_list = [
        ("azcloud", "clouds.azcloud.AzCloud"),
        ("azvm", "clouds.azvm.AzVM"),
        ("azdisk", "clouds.azdisk.AzDisk"),
        ("azkv", "clouds.azkv.AzKV"),
        ("azmonitor", "clouds.azmonitor.AzMonitor"),
        ("azpostgres", "clouds.azpostgres.AzPostgres"),
        ("azsql", "clouds.azsql.AzSQL"),
        (
            "azstorageaccount",
            "clouds.azstorageaccount.AzStorageAccount",
        ),
        ("azwebapp", "clouds.azwebapp.AzWebApp"),
    ];
    let events = [
        ("firewallruleevent", "events.firewallruleevent.FirewallRuleEvent", ""),
        ("azvmosdiskencryptionevent", "events.azvmosdiskencryptionevent.AzVMOSDiskEncryptionEvent", ""),
        ("azvmdatadiskencryptionevent", "events.azvmdatadiskencryptionevent.AzVMDataDiskEncryptionEvent", ""),
        ("azvmextensionevent", "events.azvmextensionevent.AzVMExtensionEvent", "      blacklisted: [IaaSAntiMalware-ext0]\n"),
        ("azkvkeynoexpiryevent", "events.azkvkeynoexpiryevent.AzKVKeyNoExpiryEvent", ""),
        ("azkvsecretnoexpiryevent", "events.azkvsecretnoexpiryevent.AzKVSecretNoExpiryEvent", ""),
        ("azkvnonrecoverableevent", "events.azkvnonrecoverableevent.AzKVNonRecoverableEvent", ""),
        ("azlogprofileevent", "events.azlogprofileevent.AzLogProfileEvent", ""),
        ("azlogprofilemissingcategoryevent", "events.azlogprofilemissingcategoryevent.AzLogProfileMissingCategoryEvent", ""),
        ("azlogprofilemissinglocationevent", "events.azlogprofilemissinglocationevent.AzLogProfileMissingLocationEvent", ""),
        ("azlogprofileretentionevent", "events.azlogprofileretentionevent.AzLogProfileRetentionEvent", "      _min_retention_days: 365\n"),
        ("azpostgresconnectionthrottlingevent", "events.azpostgresconnectionthrottlingevent.AzPostgresConnectionThrottlingEvent", ""),
        ("azpostgreslogcheckpointsevent", "events.azpostgreslogcheckpointsevent.AzPostgresLogCheckpointsEvent", ""),
        ("azpostgreslogconnectionsevent", "events.azpostgreslogconnectionsevent.AzPostgresLogConnectionsEvent", ""),
        ("azpostgreslogdisconnectionsevent", "events.azpostgreslogdisconnectionsevent.AzPostgresLogDisconnectionsEvent", ""),
        ("azpostgreslogdurationevent", "events.azpostgreslogdurationevent.AzPostgresLogDurationEvent", ""),
        ("azpostgreslogretentiondaysevent", "events.azpostgreslogretentiondaysevent.AzPostgresLogRetentionDaysEvent", "      _min_log_retention_days: 3\n"),
        ("azsqldatabasetdeevent", "events.azsqldatabasetdeevent.AzSQLDatabaseTDEEvent", ""),
        ("azstorageaccountallowtrustedservicesevent", "events.azstorageaccountallowtrustedservicesevent.AzStorageAccountAllowTrustedServicesEvent", ""),
        ("azstorageaccountdefaultnetworkaccessevent", "events.azstorageaccountdefaultnetworkaccessevent.AzStorageAccountDefaultNetworkAccessEvent", ""),
        ("azstorageaccountsecuretransferevent", "events.azstorageaccountsecuretransferevent.AzStorageAccountSecureTransferEvent", ""),
        ("azwebappclientcertevent", "events.azwebappclientcertevent.AzWebAppClientCertEvent", ""),
        ("azwebapphttp20event", "events.azwebapphttp20event.AzWebAppHttp20Event", ""),
        ("azwebapphttpsevent", "events.azwebapphttpsevent.AzWebAppHttpsEvent", ""),
        ("azwebapptlsevent", "events.azwebapptlsevent.AzWebAppTLSEvent", "      _min_tls_version: 1.2\n"),
        ("rdbmsenforcetlsevent", "events.rdbmsenforcetlsevent.RDBMSEnforceTLSEvent", ""),
    ];
    let mut yaml = String::from("plugins:\n");
    for (key, class) in clouds_list {
        yaml.push_str(&format!(
            "  {key}:\n    plugin: cloudmarker.{class}\n    params:\n{azure}"
        ));
    }
    yaml.push_str(&format!(
        "  gcpcloud:\n    plugin: cloudmarker.clouds.gcpcloud.GCPCloud\n    params:\n      key_file_path: {}\n      processes: 4\n      threads: 10\n      _max_projects: 0\n      compute_url: {url}/compute/v1\n      resource_manager_url: {url}/cloudresourcemanager/v1\n      storage_url: {url}/storage/v1\n      sqladmin_url: {url}/sqladmin/v1\n",
        key.display()
    ));
    for (key, class, params) in events {
        yaml.push_str(&format!("  {key}:\n    plugin: cloudmarker.{class}\n"));
        if !params.is_empty() {
            yaml.push_str(&format!("    params:\n{params}"));
        }
    }
    let cloud_keys: Vec<&str> = clouds_list
        .iter()
        .map(|c| c.0)
        .chain(["gcpcloud"])
        .collect();
    let event_keys: Vec<&'static str> = events.iter().map(|e| e.0).collect();
    yaml.push_str(&format!(
        "audits:\n  headaudit:\n    clouds: [{}]\n    stores: [filestore]\n    events: [{}]\n    alerts: [filestore]\nrun: [headaudit]\n",
        cloud_keys.join(", "),
        event_keys.join(", ")
    ));
    sb.file("head.yaml", &yaml);
    event_keys
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
    assert_eq!(run.status, Some(1), "{}", run.output());
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
fn the_new_azure_plugins_wait_out_throttling() {
    // 429 with Retry-After on a management list, a data plane list and a
    // per-item read: each is retried and the read completes.
    let sb = Sandbox::new();
    let clouds = Clouds::start(
        &sb,
        &[
            "--fail",
            "Microsoft.Storage/storageAccounts=429x2",
            "--fail",
            "/vaults/kv-recoverable/secrets=429x1",
            "--fail",
            "/config/web=429x1",
            "--retry-after",
            "0",
        ],
    );
    let url = clouds.url();
    let signin = clouds.azure_sign_in();
    let azure = format!("{{tenant: tenant-1, client: client-id, secret: {SECRET}, {signin}, resource_manager: \"{url}\", timeout: 10, max_retries: 3}}");
    sb.file(
        "throttled.yaml",
        &format!("plugins:\n  azstorageaccount:\n    params: {azure}\n    plugin: azstorageaccount\n  azkv:\n    plugin: azkv\n    params: {azure}\n  azwebapp:\n    plugin: azwebapp\n    params: {azure}\naudits:\n  throttled:\n    clouds: [azstorageaccount, azkv, azwebapp]\n    stores: [filestore]\nrun: [throttled]\n"),
    );
    let run = sb.run_now(&["throttled.yaml"]);
    let count = |file: &str, record_type: &str| of_type(&records(&sb, file), record_type).len();
    assert_eq!(
        count(
            "throttled_azstorageaccount.json",
            "storage_account_properties"
        ),
        6,
        "{}",
        run.output()
    );
    assert_eq!(count("throttled_azkv.json", "key_vault_secret"), 2);
    assert_eq!(count("throttled_azwebapp.json", "web_app_config"), 2);
    assert_eq!(
        count_requests(&clouds, "Microsoft.Storage/storageAccounts"),
        3 + 1,
        "two 429s, then the list; the other subscription once"
    );
}

#[test]
fn the_other_new_lists_wait_out_throttling_too() {
    // 429 with Retry-After on the monitor, SQL, bucket and Cloud SQL lists:
    // retried, and the read completes.
    let sb = Sandbox::new();
    let clouds = Clouds::start(
        &sb,
        &[
            "--fail",
            "Microsoft.Insights/logprofiles=429x1",
            "--fail",
            "/firewallRules=429x1",
            "--fail",
            "/storage/v1/b=429x1",
            "--fail",
            "/sqladmin/v1/projects/example-project/instances=429x1",
            "--retry-after",
            "0",
        ],
    );
    audit_config(&sb, &clouds, "[gcpcloud]", "");
    let url = clouds.url();
    let signin = clouds.azure_sign_in();
    let azure = format!("{{tenant: tenant-1, client: client-id, secret: {SECRET}, {signin}, resource_manager: \"{url}\", timeout: 10, max_retries: 3}}");
    sb.file(
        "more.yaml",
        &format!("plugins:\n  azmonitor:\n    plugin: azmonitor\n    params: {azure}\n  azsql:\n    plugin: azsql\n    params: {azure}\naudits:\n  cloudaudit:\n    clouds: [gcpcloud, azmonitor, azsql]\n"),
    );
    let run = sb.run_now(&["clouds.yaml", "more.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    let count = |file: &str, record_type: &str| of_type(&records(&sb, file), record_type).len();
    assert_eq!(count("cloudaudit_azmonitor.json", "log_profile"), 1);
    assert_eq!(count("cloudaudit_azsql.json", "sql_firewall_rule"), 3);
    assert_eq!(count("cloudaudit_gcpcloud.json", "bucket"), 2);
    assert_eq!(count("cloudaudit_gcpcloud.json", "sql_instance"), 2);
    assert_eq!(
        count_requests(&clouds, "Microsoft.Insights/logprofiles"),
        2 + 1,
        "a 429, then the list; the other subscription once"
    );
}

#[test]
fn requests_stay_within_max_concurrency() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &["--latency-ms", "100"]);
    audit_config(&sb, &clouds, "[azcloud]", ", max_concurrency: 3");
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    let requests: Vec<(String, f64, f64)> = clouds
        .requests()
        .into_iter()
        .filter(|r| r.0.contains("/providers/") || r.0.ends_with("resourcegroups"))
        .collect();
    assert_eq!(
        requests.len(),
        2 * 10 + 3,
        "10 listed types in 2 subscriptions, three of them with 2 pages"
    );
    let peak = requests
        .iter()
        .map(|(_, start, _)| {
            requests
                .iter()
                .filter(|(_, s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap();
    assert!(peak <= 3, "at most 3 requests at once, saw {peak}");
    assert!(peak >= 2, "requests do run in parallel, saw {peak}");
}

#[test]
fn an_unreachable_cloud_fails_without_hanging() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    audit_config(&sb, &clouds, "[azvm]", ", max_retries: 1");
    let text = std::fs::read_to_string(sb.path().join("clouds.yaml")).unwrap();
    let dead = free_port();
    let text = text
        .replace(&clouds.url(), &format!("http://127.0.0.1:{dead}"))
        .replace(
            &clouds.server.authority(),
            &format!("https://127.0.0.1:{dead}"),
        );
    sb.file("clouds.yaml", &text);
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(1), "{}", run.output());
    run.assert_says("azvm: cannot list subscriptions: signing in with client_secret failed:");
    run.assert_says("Connection refused");
}

#[test]
fn max_subs_and_max_recs_limit_the_read_and_a_zone_reads_one_zone() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    audit_config(
        &sb,
        &clouds,
        "[azcloud, gcpcloud]",
        ", _max_subs: 1, _max_recs: 1",
    );
    let text = std::fs::read_to_string(sb.path().join("clouds.yaml")).unwrap();
    sb.file(
        "clouds.yaml",
        &text.replace("compute_url:", "zone: us-central1-a, compute_url:"),
    );
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    let azcloud = records(&sb, "cloudaudit_azcloud.json");
    let summaries = of_type(&azcloud, "collection_summary");
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0]["ext"]["collected"]["storage_account"], 1);
    assert!(clouds
        .requests()
        .iter()
        .any(|r| r.0 == "/compute/v1/projects/example-project/zones/us-central1-a/instances"));
}

/// The `ext.failed` map of the first collection summary in `file`.
fn failed_in(sb: &Sandbox, file: &str) -> Value {
    let all = records(sb, file);
    of_type(&all, "collection_summary")[0]["ext"]["failed"].clone()
}

fn count_requests(clouds: &Clouds, part: &str) -> usize {
    clouds
        .requests()
        .iter()
        .filter(|r| r.0.contains(part))
        .count()
}

#[test]
fn a_paging_loop_is_cut_and_reported_in_the_summary() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(
        &sb,
        &["--cycle", "networkSecurityGroups", "--stuck-page-token"],
    );
    audit_config(&sb, &clouds, "[azcloud, gcpcloud]", "");
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(1), "{}", run.output());
    let loop_text = "the server sent a page link or token it had sent before (a paging loop)";
    let azure = failed_in(&sb, "cloudaudit_azcloud.json");
    let nsg = azure["nsg"].as_str().unwrap_or_default();
    assert!(
        nsg.contains(&format!("stopped after 3 page(s): {loop_text}")),
        "{azure}"
    );
    assert_eq!(
        count_requests(&clouds, "networkSecurityGroups"),
        3 + 1,
        "pages 0, 1 and 0 again in the looping subscription, one in the other"
    );
    let google = failed_in(&sb, "cloudaudit_gcpcloud.json");
    assert!(
        google["firewall"]
            .as_str()
            .unwrap_or_default()
            .contains(loop_text),
        "{google}"
    );
    assert_eq!(
        count_requests(&clouds, "/projects/example-project/global/firewalls"),
        2,
        "the repeat is never fetched"
    );
}

#[test]
fn max_pages_cuts_a_long_listing_and_says_so() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &["--subscriptions-per-page", "2"]);
    audit_config(&sb, &clouds, "[azcloud]", ", max_pages: 1");
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(1), "{}", run.output());
    let failed = failed_in(&sb, "cloudaudit_azcloud.json");
    for record_type in ["nsg", "virtual_machine"] {
        assert!(
            failed[record_type]
                .as_str()
                .unwrap_or_default()
                .contains("stopped after 1 page(s), the limit (max_pages); the list is longer"),
            "{failed}"
        );
    }
    assert!(
        failed.get("storage_account").is_none(),
        "one-page lists are whole"
    );
}

#[test]
fn an_oversized_answer_is_refused_and_reported() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &["--huge", "virtualMachines"]);
    audit_config(&sb, &clouds, "[azcloud]", ", max_response_bytes: 1048576");
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(1), "{}", run.output());
    let failed = failed_in(&sb, "cloudaudit_azcloud.json");
    assert!(
        failed["virtual_machine"]
            .as_str()
            .unwrap_or_default()
            .contains(
                "the answer is larger than 1048576 bytes (max_response_bytes); it was not read"
            ),
        "{failed}"
    );
    assert!(failed.get("nsg").is_none(), "{failed}");
}

#[test]
fn a_token_endpoint_that_echoes_the_request_never_leaks_the_secret() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &["--secret", "the-real-secret", "--echo-token-errors"]);
    audit_config(&sb, &clouds, "[azcloud]", "");
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(1), "{}", run.output());
    run.assert_says(
        "AADSTS900144: Malformed request: client_id=client-id&client_secret=***&grant_type=",
    );
    for text in [run.output(), sb.log()] {
        assert!(!text.contains(SECRET), "{text}");
    }
}

#[test]
fn configs_written_for_upstream_head_run_unchanged() {
    // threads is upstream's max_concurrency; processes and _max_projects are
    // accepted (one notice for processes).
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &["--latency-ms", "50"]);
    audit_config(
        &sb,
        &clouds,
        "[azcloud, gcpcloud]",
        ", threads: 1, processes: 4",
    );
    let text = std::fs::read_to_string(sb.path().join("clouds.yaml")).unwrap();
    sb.file(
        "clouds.yaml",
        &text.replace(
            "compute_url:",
            "threads: 2, processes: 2, _max_projects: 1, compute_url:",
        ),
    );
    let run = sb.run_now(&["clouds.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    run.assert_says("The processes param has no effect in cloudmarker");
    let azure: Vec<(String, f64, f64)> = clouds
        .requests()
        .into_iter()
        .filter(|r| r.0.contains("/providers/") || r.0.ends_with("resourcegroups"))
        .collect();
    let overlapping = azure.iter().any(|(_, start, _)| {
        azure
            .iter()
            .filter(|(_, s, e)| s <= start && start < e)
            .count()
            > 1
    });
    assert!(!overlapping, "threads: 1 means one Azure request at a time");
}

/// Every file of `sb`'s output as sorted record texts, without the run's
/// `audit_version`, with `clouds`' address as `SERVER` and the sandbox as
/// `SANDBOX`, for comparing two runs of the same audit.
fn outputs(sb: &Sandbox, clouds: &Clouds) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut files = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(sb.out()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let mut texts: Vec<String> = records(sb, path.file_name().unwrap().to_str().unwrap())
            .into_iter()
            .map(|mut r| {
                if let Some(com) = r["com"].as_object_mut() {
                    // When the run happened, not what it read; the finding
                    // ids hash references that hold the server's address.
                    for key in ["audit_version", "first_seen", "last_seen", "finding_id"] {
                        com.remove(key);
                    }
                }
                r.to_string()
                    .replace(&clouds.url(), "SERVER")
                    .replace(&sb.path().display().to_string(), "SANDBOX")
            })
            .collect();
        texts.sort();
        files.insert(
            path.file_name().unwrap().to_string_lossy().into_owned(),
            texts,
        );
    }
    files
}

#[test]
fn every_list_reads_the_same_one_item_a_page() {
    // The server re-pages every Azure list (also those a real service
    // answers in one page: SQL firewall rules and databases, locations,
    // monitor settings) and the bucket and Cloud SQL lists at one item
    // a page; every plugin must read exactly what it reads in one page.
    let whole = Sandbox::new();
    let clouds = Clouds::start(&whole, &[]);
    head_config(&whole, &clouds);
    assert_eq!(whole.run_now(&["head.yaml"]).status, Some(1));

    let paged = Sandbox::new();
    let one_a_page = Clouds::start(&paged, &["--page-size", "1"]);
    head_config(&paged, &one_a_page);
    let run = paged.run_now(&["head.yaml"]);
    assert_eq!(run.status, Some(1), "{}", run.output());

    let (expected, got) = (outputs(&whole, &clouds), outputs(&paged, &one_a_page));
    assert!(expected.len() > 30, "{:?}", expected.keys());
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (file, records) in &expected {
        let missing: Vec<_> = records.iter().filter(|r| !got[file].contains(r)).collect();
        let extra: Vec<_> = got[file].iter().filter(|r| !records.contains(r)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{file}: missing {missing:#?}, extra {extra:#?}"
        );
    }
    for list in [
        "/firewallRules",
        "/databases",
        "/locations",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Compute/disks",
        "/storage/v1/b",
        "/sqladmin/v1/projects/example-project/instances",
    ] {
        assert!(
            count_requests(&one_a_page, list) > count_requests(&clouds, list),
            "{list} was read in more pages"
        );
    }
}

#[test]
fn gcp_shards_divide_the_projects() {
    use cloudmarker_plugin_api::sdk::shard::Shard;
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    audit_config(&sb, &clouds, "[gcpcloud]", "");
    let mut union = Vec::new();
    for index in 0..2u32 {
        let shard = format!("{index}/2");
        let run = sb.run(&["-n", "--shard", &shard, "-c", "sandbox.yaml", "clouds.yaml"]);
        assert_eq!(run.status, Some(0), "{}", run.output());
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
            records(&sb, "cloudaudit_gcpcloud.json")
        };
        let projects: Vec<&str> = of_type(&read, "project")
            .iter()
            .map(|p| p["ext"]["project_id"].as_str().unwrap())
            .collect();
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
