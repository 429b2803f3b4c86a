//! Signing in to each cloud: `validate --connect`, bad credentials, and the
//! client secret kept out of every output.

use crate::common::Sandbox;
use crate::{cloud_audit, run_audit, Clouds, SECRET};

/// The row of the plugin `key` in the health table `stdout`, its columns
/// one space apart.
fn health_row(stdout: &str, key: &str) -> Option<String> {
    let line = stdout.lines().find(|l| l.starts_with(&format!("{key} ")))?;
    Some(line.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[test]
fn bad_credentials_fail_clearly_and_keep_the_secret() {
    let (_sb, _clouds, run) =
        run_audit(&["--secret", "the-real-secret"], "clouds.yaml", |clouds| {
            cloud_audit(clouds, &["azcloud", "gcpcloud"])
        });
    run.assert_status(1);
    run.assert_says("azcloud: cannot list subscriptions: signing in with client_secret failed: ClientSecretCredential authentication failed. AADSTS7000215: Invalid client secret provided.");
    assert!(!run.output().contains(SECRET) && !run.output().contains("the-real-secret"));
    run.assert_says(
        "Project example-project: read 2 api_key, 3 backend_service, 2 bigquery_dataset, 3 bigquery_table, 2 bucket, 1 compute, 1 compute_project, 4 dataproc_cluster, 2 dns_managed_zone, 1 enabled_services, 1 essential_contacts, 4 firewall, 1 iam_policy, 3 kms_crypto_key, 1 log_metrics, 4 log_sink, 1 log_sinks, 2 network, 1 service_account, 2 service_account_key, 2 sql_instance, 37 subnetwork.",
    );
}

#[test]
fn validate_connect_signs_in_to_each_cloud_and_reads_no_resources() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    cloud_audit(&clouds, &["azcloud", "azvm", "gcpcloud"]).write(&sb, "clouds.yaml");
    let run = sb.run(&["validate", "--connect", "-c", "sandbox.yaml", "clouds.yaml"]);
    run.assert_status(0);
    let row = |key: &str| {
        health_row(&run.stdout, key).unwrap_or_else(|| panic!("no row for {key}: {}", run.output()))
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
    cloud_audit(&clouds, &["azcloud"]).write(&sb, "clouds.yaml");
    let run = sb.run(&["validate", "--connect", "-c", "sandbox.yaml", "clouds.yaml"]);
    run.assert_status(1);
    let line = health_row(&run.stdout, "azcloud").unwrap_or_default();
    assert!(
        line.contains(" failed azcloud: ") && line.contains("Invalid client secret provided."),
        "{line}"
    );
    assert!(!run.output().contains(SECRET) && !run.output().contains("the-real-secret"));
}

#[test]
fn a_token_endpoint_that_echoes_the_request_never_leaks_the_secret() {
    let server_args = ["--secret", "the-real-secret", "--echo-token-errors"];
    let (sb, _clouds, run) = run_audit(&server_args, "clouds.yaml", |clouds| {
        cloud_audit(clouds, &["azcloud"])
    });
    run.assert_status(1);
    run.assert_says(
        "AADSTS900144: Malformed request: client_id=client-id&client_secret=***&grant_type=",
    );
    for text in [run.output(), sb.log()] {
        assert!(!text.contains(SECRET), "{text}");
    }
}
