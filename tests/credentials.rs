//! Every way of signing in to Azure and Google Cloud, end to end against the
//! local cloud server (tests/support/cloud_server.py, which speaks the
//! identity protocols: Entra ID's token endpoint over TLS, the App Service
//! managed identity endpoint, the GCE metadata server, Google's STS and
//! IAM Credentials): each lists the crafted resources, and each failure
//! names the credential type and never shows a secret.

mod common;

use common::python::{self, free_port, root, CloudServer};
use common::{Run, Sandbox};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The tests' cloud server with `extra` options; the request log path.
fn start_server(sb: &Sandbox, extra: &[&str]) -> (CloudServer, PathBuf) {
    let log = sb.path().join("requests.jsonl");
    (python::cloud_server(&log, extra), log)
}

/// The logged requests to paths containing `path`.
fn requests(log: &Path, path: &str) -> Vec<Value> {
    common::json_lines(log)
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap().contains(path))
        .collect()
}

/// Writes `clouds.yaml`: an audit of `plugin` (azcloud or gcpcloud) with
/// `params`, into filestore.
fn config(sb: &Sandbox, plugin: &str, params: &str) {
    sb.file(
        "clouds.yaml",
        &format!(
            "plugins:\n  {plugin}:\n    plugin: {plugin}\n    params: {{{params}}}\naudits:\n  cloudaudit:\n    clouds: [{plugin}]\n    stores: [filestore]\n    events: []\n    alerts: []\nrun: [cloudaudit]\n"
        ),
    );
}

/// Azure params for the server: `credential` and the endpoints.
fn azure(server: &CloudServer, rest: &str) -> String {
    format!(
        "{rest}, authority_host: \"{}\", ca_cert: \"{}\", resource_manager: \"{}\", timeout: 10, max_retries: 1",
        server.authority(),
        server.ca_cert.display(),
        server.url()
    )
}

/// Google params for the server.
fn google(server: &CloudServer, rest: &str) -> String {
    let url = server.url();
    format!("{rest}{}compute_url: \"{url}/compute/v1\", resource_manager_url: \"{url}/cloudresourcemanager/v1\", storage_url: \"{url}/storage/v1\", sqladmin_url: \"{url}/sqladmin/v1\", dns_url: \"{url}/dns/v1\", iam_url: \"{url}/iam/v1\", apikeys_url: \"{url}/apikeys/v2\", serviceusage_url: \"{url}/serviceusage/v1\", logging_url: \"{url}/logging/v2\", monitoring_url: \"{url}/monitoring/v3\", cloudkms_url: \"{url}/cloudkms/v1\", bigquery_url: \"{url}/bigquery/v2\", dataproc_url: \"{url}/dataproc/v1\", essentialcontacts_url: \"{url}/essentialcontacts/v1\", iam_credentials_url: \"{url}\", timeout: 10, max_retries: 1",
        if rest.is_empty() { "" } else { ", " })
}

/// Asserts that azcloud read the crafted subscriptions' resources.
fn assert_azure_listed(sb: &Sandbox, run: &Run) {
    run.assert_status(0);
    let records = sb.read_json("cloudaudit_azcloud.json");
    let summary = records
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["com"]["record_type"] == "collection_summary")
        .expect("a collection summary");
    assert_eq!(summary["ext"]["complete"], true, "{summary}");
    assert_eq!(
        summary["ext"]["collected"]["virtual_machine"], 2,
        "{summary}"
    );
    assert_eq!(
        summary["ext"]["collected"]["storage_account"], 6,
        "{summary}"
    );
}

/// Asserts that gcpcloud read the crafted project's resources.
fn assert_google_listed(run: &Run) {
    run.assert_status(0);
    run.assert_says("Reading 2 project(s).");
    run.assert_says(
        "Project example-project: read 2 api_key, 3 backend_service, 2 bigquery_dataset, 3 bigquery_table, 2 bucket, 1 compute, 1 compute_project, 4 dataproc_cluster, 2 dns_managed_zone, 1 enabled_services, 1 essential_contacts, 4 firewall, 1 iam_policy, 3 kms_crypto_key, 1 log_metrics, 4 log_sink, 1 log_sinks, 2 network, 1 service_account, 2 service_account_key, 2 sql_instance, 37 subnetwork.",
    );
}

/// The OAuth scopes gcpcloud asks tokens for: read-only for every API
/// that takes it, cloud-platform for the IAM API (which does not), sorted.
const GCPCLOUD_SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/cloud-platform.read-only",
];

/// The scopes the token requests of `grant` asked for, sorted.
fn scopes_asked(log: &Path, grant: &str) -> Vec<String> {
    let mut scopes: Vec<String> = common::json_lines(log)
        .iter()
        .filter(|r| r["grant"] == grant)
        .flat_map(|r| r["scopes"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    scopes.sort();
    scopes
}

/// The grants the token endpoints gave, in order.
fn grants(log: &Path) -> Vec<String> {
    common::json_lines(log)
        .iter()
        .filter_map(|r| r["grant"].as_str().map(str::to_string))
        .collect()
}

/// The kinds of bearer tokens the Google APIs saw.
fn bearers(log: &Path) -> std::collections::BTreeSet<String> {
    common::json_lines(log)
        .iter()
        .filter_map(|r| r["bearer"].as_str().map(str::to_string))
        .collect()
}

/// A JWT-shaped token (unsigned, as the test server needs no signature
/// for federated tokens) that expires at `exp`.
fn jwt(exp: u64) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2lnbmF0dXJl",
        part(json!({"alg": "RS256", "kid": "cluster"})),
        part(
            json!({"iss": "https://oidc.example/cluster", "sub": "system:serviceaccount:audit:cloudmarker", "aud": "api://AzureADTokenExchange", "exp": exp})
        )
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Makes the client certificate files in `dir` (see make_client_cert.py).
fn client_certificate(dir: &Path, password: &str) {
    let status = std::process::Command::new(python::python())
        .arg(root().join("tests/support/make_client_cert.py"))
        .args(["--dir", dir.to_str().unwrap(), "--password", password])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run make_client_cert.py");
    assert!(status.success());
}

#[test]
fn a_client_certificate_signs_in_from_pem_and_from_pkcs12() {
    let sb = Sandbox::new();
    client_certificate(sb.path(), "pfx-password-9f2");
    let registered = sb.path().join("client-cert.pem");
    let (server, log) = start_server(&sb, &["--client-cert", registered.to_str().unwrap()]);

    config(&sb, "azcloud", &azure(&server, "credential: client_certificate, tenant: tenant-1, client: client-id, certificate: client.pem"));
    let run = sb.run_now(&["clouds.yaml"]);
    assert_azure_listed(&sb, &run);
    assert_eq!(grants(&log), ["client_certificate"]);

    // PKCS#12, chosen by `certificate` alone (no `credential`).
    config(&sb, "azcloud", &azure(&server, "tenant: tenant-1, client: client-id, certificate: client.pfx, certificate_password: pfx-password-9f2"));
    let run = sb.run_now(&["clouds.yaml"]);
    assert_azure_listed(&sb, &run);
    assert_eq!(grants(&log), ["client_certificate", "client_certificate"]);

    config(&sb, "azcloud", &azure(&server, "tenant: tenant-1, client: client-id, certificate: client.pfx, certificate_password: wrong-password-3c1"));
    let run = sb.run_now(&["clouds.yaml"]);
    run.assert_status(1);
    run.assert_says("azcloud: client_certificate: certificate client.pfx: not a PKCS#12 file, or certificate_password does not open it");
    assert!(!run.output().contains("wrong-password-3c1"));
}

#[test]
fn a_certificate_the_application_did_not_register_is_refused_by_entra_id() {
    let sb = Sandbox::new();
    client_certificate(sb.path(), "pw-unused");
    let other = sb.dir("other");
    client_certificate(&other, "pw-unused");
    let registered = other.join("client-cert.pem");
    let (server, _log) = start_server(&sb, &["--client-cert", registered.to_str().unwrap()]);
    config(&sb, "azcloud", &azure(&server, "credential: client_certificate, tenant: tenant-1, client: client-id, certificate: client.pem"));
    let run = sb.run_now(&["clouds.yaml"]);
    run.assert_status(1);
    run.assert_says("signing in with client_certificate failed:");
    run.assert_says("AADSTS700027");
}

#[test]
fn workload_identity_signs_in_with_what_aks_injects_and_an_expired_token_says_so() {
    let sb = Sandbox::new();
    let token = jwt(now() + 3600);
    let token_file = sb.file("azure-identity-token", &token);
    let (server, log) = start_server(&sb, &["--federated-token", &token]);
    let env = [
        ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
        ("AZURE_CLIENT_ID", "client-id"),
        ("AZURE_TENANT_ID", "tenant-1"),
    ];
    config(
        &sb,
        "azcloud",
        &azure(&server, "credential: workload_identity"),
    );
    let run = sb.run_with(&["-n", "-c", "sandbox.yaml", "clouds.yaml"], &env);
    assert_azure_listed(&sb, &run);
    assert_eq!(grants(&log), ["federated"]);

    let expired = jwt(now() - 60);
    std::fs::write(&token_file, &expired).unwrap();
    let run = sb.run_with(&["-n", "-c", "sandbox.yaml", "clouds.yaml"], &env);
    run.assert_status(1);
    run.assert_says(
        "azcloud: cannot list subscriptions: signing in with workload_identity failed:",
    );
    run.assert_says("AADSTS700024: Client assertion is not within its valid time range.");
    assert!(!run.output().contains(&expired) && !run.output().contains(&token));
}

#[test]
fn a_managed_identity_signs_in_through_its_endpoint_and_a_missing_one_says_so() {
    let sb = Sandbox::new();
    let (server, log) = start_server(&sb, &["--identity-header", "identity-header-7d1"]);
    let endpoint = format!("{}/msi/token", server.url());
    let env = [
        ("IDENTITY_ENDPOINT", endpoint.as_str()),
        ("IDENTITY_HEADER", "identity-header-7d1"),
    ];
    config(
        &sb,
        "azcloud",
        &azure(
            &server,
            "credential: managed_identity, client: user-assigned-id",
        ),
    );
    let run = sb.run_with(&["-n", "-c", "sandbox.yaml", "clouds.yaml"], &env);
    assert_azure_listed(&sb, &run);
    let asked = requests(&log, "/msi/token");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0]["client_id"], "user-assigned-id");

    let dead = format!("http://127.0.0.1:{}/msi/token", free_port());
    let env = [
        ("IDENTITY_ENDPOINT", dead.as_str()),
        ("IDENTITY_HEADER", "identity-header-7d1"),
    ];
    let run = sb.run_with(&["-n", "-c", "sandbox.yaml", "clouds.yaml"], &env);
    run.assert_status(1);
    run.assert_says("signing in with managed_identity failed:");
    run.assert_says("Connection refused");
    assert!(!run.output().contains("identity-header-7d1"));
}

/// A fake `az` in `dir` that prints the CLI's token answer and counts its
/// calls in `az-calls`.
fn fake_azure_cli(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("az");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> {calls}\ncase \"$*\" in *vault.azure.net*) t=vault-token-789;; *) t=azure-token-123;; esac\nprintf '{{\"accessToken\": \"%s\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": 4070908800, \"subscription\": \"x\", \"tenant\": \"tenant-1\", \"tokenType\": \"Bearer\"}}\\n' \"$t\"\n",
            calls = dir.join("az-calls").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn the_azure_cli_login_is_used_once_per_scope() {
    let sb = Sandbox::new();
    let bin = sb.dir("bin");
    fake_azure_cli(&bin);
    let (server, log) = start_server(&sb, &[]);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    config(&sb, "azcloud", &azure(&server, "credential: azure_cli"));
    let run = sb.run_with(
        &["-n", "-c", "sandbox.yaml", "clouds.yaml"],
        &[("PATH", &path)],
    );
    assert_azure_listed(&sb, &run);
    let calls = std::fs::read_to_string(bin.join("az-calls")).unwrap();
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        [format!(
            "account get-access-token -o json --scope {}/.default",
            server.url()
        )],
        "one CLI call, kept until it nears expiry"
    );
    assert!(grants(&log).is_empty(), "the CLI signs in, not the plugin");
}

#[test]
fn the_default_chain_says_which_way_worked_and_why_each_other_did_not() {
    let sb = Sandbox::new();
    let token = jwt(now() + 3600);
    let token_file = sb.file("azure-identity-token", &token);
    let (server, log) = start_server(&sb, &["--federated-token", &token]);
    config(&sb, "azcloud", &azure(&server, "credential: default"));
    let env = [
        ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
        ("AZURE_CLIENT_ID", "client-id"),
        ("AZURE_TENANT_ID", "tenant-1"),
    ];
    let run = sb.run_with(&["-n", "-c", "sandbox.yaml", "clouds.yaml"], &env);
    assert_azure_listed(&sb, &run);
    run.assert_says("Signed in to Azure with workload_identity (credential: default).");
    assert_eq!(grants(&log), ["federated"]);

    // Nothing configured (and no `az` on the PATH): every member's reason.
    let empty = sb.dir("empty-bin");
    let run = sb.run_with(
        &["-n", "-c", "sandbox.yaml", "clouds.yaml"],
        &[("PATH", empty.to_str().unwrap())],
    );
    run.assert_status(1);
    run.assert_says("signing in with default failed:");
    run.assert_says("environment: AZURE_TENANT_ID and AZURE_CLIENT_ID are not set");
    run.assert_says("workload_identity: AZURE_FEDERATED_TOKEN_FILE is not set");
    run.assert_says("managed_identity:");
    run.assert_says("azure_cli:");
}

/// An azcloud audit signing in with the client secret, against a server
/// started with `extra`; it must list everything. The sandbox and the
/// server's request log.
fn client_secret_run(extra: &[&str]) -> (Sandbox, PathBuf) {
    let sb = Sandbox::new();
    let (server, log) = start_server(&sb, extra);
    config(
        &sb,
        "azcloud",
        &azure(
            &server,
            "tenant: tenant-1, client: client-id, secret: client-secret",
        ),
    );
    let run = sb.run_now(&["clouds.yaml"]);
    assert_azure_listed(&sb, &run);
    (sb, log)
}

#[test]
fn a_token_is_fetched_again_only_when_it_nears_expiry() {
    // Tokens that live 60 minutes: one sign-in for the whole run.
    let (_sb, log) = client_secret_run(&[]);
    assert_eq!(grants(&log), ["client_secret"]);

    // Tokens that live 4 minutes are inside the 5-minute refresh margin:
    // fetched again before each use.
    let (_sb, log) = client_secret_run(&["--token-lifetime", "240"]);
    let listed = requests(&log, "/subscriptions").len();
    assert!(
        grants(&log).len() >= listed,
        "{} sign-ins for {listed} listings",
        grants(&log).len()
    );
}

fn google_key() -> PathBuf {
    root().join("tests/data/gcp/service_account_key.pkcs8.derived.json")
}

#[test]
fn application_default_credentials_from_each_place_they_are_found() {
    // 1. The metadata server (GCE, GKE, Cloud Run).
    let sb = Sandbox::new();
    let (server, log) = start_server(&sb, &[]);
    let metadata = format!("127.0.0.1:{}", server.port);
    config(&sb, "gcpcloud", &google(&server, ""));
    let run = sb.run_with(
        &["-n", "-c", "sandbox.yaml", "clouds.yaml"],
        &[("GCE_METADATA_HOST", &metadata)],
    );
    assert_google_listed(&run);
    assert!(grants(&log).contains(&"metadata".to_string()));
    assert_eq!(bearers(&log), ["google".to_string()].into());

    // 2. The file GOOGLE_APPLICATION_CREDENTIALS names (a key file: the
    //    crate signs its own tokens).
    let sb = Sandbox::new();
    let (server, log) = start_server(&sb, &[]);
    config(
        &sb,
        "gcpcloud",
        &google(&server, "credentials: application_default"),
    );
    let run = sb.run_with(
        &["-n", "-c", "sandbox.yaml", "clouds.yaml"],
        &[(
            "GOOGLE_APPLICATION_CREDENTIALS",
            google_key().to_str().unwrap(),
        )],
    );
    assert_google_listed(&run);
    assert_eq!(bearers(&log), ["self_signed".to_string()].into());

    // 3. gcloud's user credentials (`gcloud auth application-default login`).
    let sb = Sandbox::new();
    let (server, log) = start_server(&sb, &["--refresh-token", "refresh-token-5e8"]);
    let gcloud = sb.dir(".config/gcloud");
    std::fs::write(
        gcloud.join("application_default_credentials.json"),
        json!({"type": "authorized_user", "client_id": "gcloud-client", "client_secret": "gcloud-secret-b41", "refresh_token": "refresh-token-5e8", "token_uri": format!("{}/token", server.url())}).to_string(),
    )
    .unwrap();
    config(&sb, "gcpcloud", &google(&server, ""));
    let run = sb.run_now(&["clouds.yaml"]);
    assert_google_listed(&run);
    // One token for each scope gcpcloud asks for: cloud-platform.read-only,
    // and cloud-platform for the IAM API.
    assert_eq!(grants(&log), ["refresh_token", "refresh_token"]);
    assert_eq!(bearers(&log), ["google".to_string()].into());
}

#[test]
fn no_metadata_server_names_application_default_credentials() {
    let sb = Sandbox::new();
    let (server, _log) = start_server(&sb, &[]);
    let dead = format!("127.0.0.1:{}", free_port());
    config(
        &sb,
        "gcpcloud",
        &google(&server, "project: example-project"),
    );
    let run = sb.run_with(
        &["-n", "-c", "sandbox.yaml", "clouds.yaml"],
        &[("GCE_METADATA_HOST", &dead)],
    );
    run.assert_status(1);
    run.assert_says("signing in with application_default failed:");
}

/// An external account (workload identity federation) configuration whose
/// subject token is the file `subject`, exchanged at the server's STS.
fn external_account(
    sb: &Sandbox,
    server: &CloudServer,
    subject: &Path,
    impersonate: bool,
) -> PathBuf {
    let mut config = json!({
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/audit/providers/oidc",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": format!("{}/v1/token", server.url()),
        "credential_source": {"file": subject.display().to_string()},
    });
    if impersonate {
        config["service_account_impersonation_url"] = json!(format!(
            "{}/v1/projects/-/serviceAccounts/scanner@example-project.iam.gserviceaccount.com:generateAccessToken",
            server.url()
        ));
    }
    sb.file("federation.json", &config.to_string())
}

#[test]
fn an_external_account_exchanges_its_subject_token_and_an_expired_one_says_so() {
    let sb = Sandbox::new();
    let subject = jwt(now() + 3600);
    let subject_file = sb.file("oidc-token", &subject);
    let (server, log) = start_server(&sb, &["--subject-token", &subject]);
    external_account(&sb, &server, &subject_file, false);
    config(&sb, "gcpcloud", &google(&server, "credentials: external_account, credentials_file: federation.json, project: example-project"));
    let run = sb.run_now(&["clouds.yaml"]);
    assert_google_listed(&run);
    assert_eq!(grants(&log), ["sts", "sts"], "one token for each scope");
    assert_eq!(scopes_asked(&log, "sts"), GCPCLOUD_SCOPES);
    assert_eq!(bearers(&log), ["federated".to_string()].into());

    // With the configuration's own impersonation URL.
    external_account(&sb, &server, &subject_file, true);
    let run = sb.run_now(&["clouds.yaml"]);
    assert_google_listed(&run);
    assert!(bearers(&log).contains("impersonated"));
    let records = sb.read_json("cloudaudit_gcpcloud.json");
    assert_eq!(
        records[1]["ext"]["client_email"],
        "scanner@example-project.iam.gserviceaccount.com"
    );

    let expired = jwt(now() - 60);
    std::fs::write(&subject_file, &expired).unwrap();
    external_account(&sb, &server, &subject_file, false);
    let run = sb.run_now(&["clouds.yaml"]);
    run.assert_status(1);
    run.assert_says("signing in with external_account failed:");
    assert!(!run.output().contains(&expired));
}

#[test]
fn a_key_file_can_act_as_another_service_account() {
    let sb = Sandbox::new();
    let (server, log) = start_server(&sb, &[]);
    config(&sb, "gcpcloud", &google(&server, &format!("key_file_path: \"{}\", impersonate_service_account: scanner@example-project.iam.gserviceaccount.com", google_key().display())));
    let run = sb.run_now(&["clouds.yaml"]);
    assert_google_listed(&run);
    let generated = requests(&log, ":generateAccessToken");
    assert_eq!(generated.len(), 2, "one for each scope: {generated:?}");
    let mut asked: Vec<&str> = generated
        .iter()
        .flat_map(|r| r["scopes"].as_array().unwrap())
        .map(|s| s.as_str().unwrap())
        .collect();
    asked.sort();
    assert_eq!(asked, GCPCLOUD_SCOPES);
    assert_eq!(
        generated[0]["target"],
        "scanner@example-project.iam.gserviceaccount.com"
    );
    assert_eq!(
        generated[0]["bearer"], "self_signed",
        "the key file's own token asks"
    );
    let listing: std::collections::BTreeSet<String> = requests(&log, "/compute/v1/")
        .iter()
        .map(|r| r["bearer"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listing, ["impersonated".to_string()].into());
    let run = sb.run(&["validate", "--connect", "-c", "sandbox.yaml", "clouds.yaml"]);
    run.assert_status(0);
    run.assert_says("signed in with key_file as scanner@example-project.iam.gserviceaccount.com");
}

#[test]
fn a_pkcs1_key_file_is_refused_with_how_to_convert_it() {
    let sb = Sandbox::new();
    let (server, _log) = start_server(&sb, &[]);
    let pkcs1 = root().join("tests/data/gcp/service_account_key.google-auth-library-python.json");
    config(
        &sb,
        "gcpcloud",
        &google(&server, &format!("key_file_path: \"{}\"", pkcs1.display())),
    );
    let run = sb.run_now(&["clouds.yaml"]);
    run.assert_status(1);
    run.assert_says("is PKCS#1 (BEGIN RSA PRIVATE KEY); Google issues PKCS#8 keys");
    assert!(
        !run.output().contains("MIIE"),
        "no key material in messages"
    );
}

/// An azcloud audit signing in with the secret `secret` against a token
/// endpoint that answers `answer` (`STATUS:BODY`): the run fails; its
/// output, and the token endpoint.
fn refused_sign_in(answer: &str, secret: &str) -> (String, String) {
    let sb = Sandbox::new();
    let (server, _log) = start_server(&sb, &["--token-error", answer]);
    config(
        &sb,
        "azcloud",
        &azure(
            &server,
            &format!("tenant: tenant-1, client: client-id, secret: \"{secret}\""),
        ),
    );
    let run = sb.run_now(&["clouds.yaml"]);
    run.assert_status(1);
    run.assert_says("azcloud: cannot list subscriptions: signing in with client_secret failed:");
    let said = format!("{}\n{}", run.output(), sb.log());
    assert!(!said.contains(secret), "the secret in: {said}");
    let endpoint = format!("{}/tenant-1/oauth2/v2.0/token", server.authority());
    (run.output(), endpoint)
}

#[test]
fn a_refused_sign_in_names_the_endpoint_the_status_and_the_server_code() {
    let secret = "sign-in-s3cret-42";
    let cases: [(&str, &str); 5] = [
        (
            r#"500:{"error": "server_error", "error_description": "AADSTS50000: There was an error issuing a token.", "error_codes": [50000]}"#,
            "answered HTTP 500 Internal Server Error: server_error, AADSTS50000",
        ),
        (
            r#"400:{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": [7000215]}"#,
            "answered HTTP 400 Bad Request: invalid_client, AADSTS7000215",
        ),
        // The description alone names the AADSTS code; the server echoes
        // the request, secret included.
        (
            &format!(r#"400:{{"error": "invalid_request", "error_description": "AADSTS900144: Malformed request: client_secret={secret}&grant_type="}}"#),
            "answered HTTP 400 Bad Request: invalid_request, AADSTS900144",
        ),
        (
            "401:",
            "answered HTTP 401 Unauthorized, with an empty body instead of the expected JSON",
        ),
        (
            "502:<html><body><h1>502 Bad Gateway</h1></body></html>",
            "answered HTTP 502 Bad Gateway, not with the expected JSON but: <html><body><h1>502 Bad Gateway</h1></body></html>",
        ),
    ];
    for (answer, expected) in cases {
        let (output, endpoint) = refused_sign_in(answer, secret);
        assert!(
            output.contains(&format!("{endpoint} {expected}")),
            "{answer}: {output}"
        );
    }
}

#[test]
fn an_empty_secret_says_that_the_default_chain_signs_in_instead() {
    let sb = Sandbox::new();
    let (server, log) = start_server(&sb, &[]);
    let empty = sb.dir("empty-bin");
    // `secret: ${AZURE_SECRET:-}` with the variable unset.
    config(
        &sb,
        "azcloud",
        &azure(
            &server,
            "tenant: tenant-1, client: client-id, secret: \"${CM_TEST_AZURE_SECRET:-}\"",
        ),
    );
    let run = sb.run_with(
        &["-n", "-c", "sandbox.yaml", "clouds.yaml"],
        &[("PATH", empty.to_str().unwrap())],
    );
    run.assert_status(1);
    run.assert_says("Azure: tenant or client is set but secret and certificate are empty, so the plugin signs in with credential: default");
    run.assert_says("signing in with default failed:");
    assert!(grants(&log).is_empty());

    // Asked for by name, an empty secret is refused before any request.
    config(
        &sb,
        "azcloud",
        &azure(
            &server,
            "credential: client_secret, tenant: tenant-1, client: client-id, secret: \"${CM_TEST_AZURE_SECRET:-}\"",
        ),
    );
    let run = sb.run_now(&["clouds.yaml"]);
    run.assert_status(1);
    run.assert_says("client_secret: secret must be set (it is empty;");
    assert!(requests(&log, "/oauth2/v2.0/token").is_empty());
}
