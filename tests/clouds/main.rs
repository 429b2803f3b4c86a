//! The cloud plugins against a local server that replays Microsoft's and
//! Google's published API examples (tests/support/cloud_server.py), with the
//! event plugins: the exact events a real audit would raise.
//!
//! Every test starts its own server ([`Clouds`]) with the faults it wants
//! and writes its audit with one builder, [`AuditYaml`], most through
//! [`run_audit`] (sandbox, server, config and run in one call). The Azure
//! and Google params that reach the server come from
//! [`Clouds::azure_params`] and [`Clouds::gcp_params`]; [`cloud_audit`] is
//! the audit most tests share (azcloud, azvm and gcpcloud with the firewall
//! and VM disk encryption checks).
//!
//! - [`azure`]: what each Azure plugin reads and what its checks raise.
//! - [`gcp`]: what gcpcloud reads, and its shards.
//! - [`signin`]: signing in, `validate --connect`, and the secret kept out
//!   of every output.
//! - [`limits`]: throttling, retries, paging, max_pages, oversized answers,
//!   concurrency and an unreachable cloud.
//! - [`upstream`]: configs written for upstream Cloudmarker HEAD.

mod azure;
#[path = "../common/mod.rs"]
mod common;
mod gcp;
mod limits;
mod signin;
mod upstream;

use common::python::{self, root, CloudServer};
use common::{most_at_once, of_type, Run, Sandbox};
use serde_json::Value;
use std::path::PathBuf;

/// The client secret the Azure plugins sign in with.
const SECRET: &str = "client-secret";

/// The cloud test server of one test, and the log of what it answered.
type Clouds = common::Logged<CloudServer>;

impl Clouds {
    /// Starts the server with `extra` options (faults, paging, latency).
    fn start(sb: &Sandbox, extra: &[&str]) -> Self {
        Self::with_log(sb, |log| python::cloud_server(log, extra))
    }

    fn url(&self) -> String {
        self.server.url()
    }

    /// The params of an Azure plugin that signs in here with the client
    /// secret and reads here, with `extra` (`", max_retries: 0"`) appended.
    fn azure_params(&self, extra: &str) -> String {
        self.server.azure_params(extra)
    }

    /// The params of gcpcloud with the [`gcp_key`] that reads every API
    /// here.
    fn gcp_params(&self) -> String {
        let url = self.url();
        format!(
            "{{key_file_path: \"{}\", compute_url: \"{url}/compute/v1\", resource_manager_url: \"{url}/cloudresourcemanager/v1\", storage_url: \"{url}/storage/v1\", sqladmin_url: \"{url}/sqladmin/v1\", {}, timeout: 10}}",
            gcp_key().display(),
            gcp_api_urls(&url)
        )
    }

    /// The requests the server answered: (path, start, end).
    fn requests(&self) -> Vec<(String, f64, f64)> {
        common::timed_requests(&self.log, "path")
    }
}

/// A config of one audit into filestore, built plugin by plugin: each
/// `cloud` and `event` declares its plugin and lists it in the audit.
///
/// ```ignore
/// let (sb, clouds, run) = run_audit(&[], "kv.yaml", |clouds| {
///     AuditYaml::new("kvaudit")
///         .upstream_cloud("AzKV", &clouds.azure_params(", max_retries: 0"))
///         .upstream_events(["AzKVKeyNoExpiryEvent", "AzKVNonRecoverableEvent"])
/// });
/// ```
struct AuditYaml {
    name: String,
    /// The declared plugins: (key, plugin, params).
    plugins: Vec<(String, String, String)>,
    clouds: Vec<String>,
    events: Vec<String>,
}

impl AuditYaml {
    /// An audit `name`, run by the config, storing into filestore; its
    /// events, if it has any, alert into filestore.
    fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            plugins: Vec::new(),
            clouds: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Declares `key` as `plugin`, with `params` unless empty: a YAML
    /// value, in flow style (`{a: 1}`) or as block lines, each starting
    /// with a line break and six spaces.
    fn plugin(mut self, key: &str, plugin: &str, params: &str) -> Self {
        self.plugins
            .push((key.to_string(), plugin.to_string(), params.to_string()));
        self
    }

    /// Declares the cloud plugin `key` (see [`Self::plugin`]) and audits it.
    fn cloud(mut self, key: &str, plugin: &str, params: &str) -> Self {
        self.clouds.push(key.to_string());
        self.plugin(key, plugin, params)
    }

    /// Declares the event plugin `key` (see [`Self::plugin`]) and raises
    /// its events in the audit.
    fn event(mut self, key: &str, plugin: &str, params: &str) -> Self {
        self.events.push(key.to_string());
        self.plugin(key, plugin, params)
    }

    /// Declares upstream's cloud plugin `class` (see [`upstream_key`])
    /// with `params`, and audits it.
    fn upstream_cloud(self, class: &str, params: &str) -> Self {
        let key = upstream_key(class);
        self.cloud(&key, &format!("cloudmarker.clouds.{key}.{class}"), params)
    }

    /// Declares upstream's event plugin `class` (see [`upstream_key`])
    /// with `params`, and raises its events.
    fn upstream_event(self, class: &str, params: &str) -> Self {
        let key = upstream_key(class);
        self.event(&key, &format!("cloudmarker.events.{key}.{class}"), params)
    }

    /// [`Self::upstream_event`] for each of `classes`, without params.
    fn upstream_events<'a>(mut self, classes: impl IntoIterator<Item = &'a str>) -> Self {
        for class in classes {
            self = self.upstream_event(class, "");
        }
        self
    }

    /// Raises the events of the bundled plugins `keys` (known by their key,
    /// not declared).
    fn events(mut self, keys: &[&str]) -> Self {
        self.events.extend(keys.iter().map(|k| k.to_string()));
        self
    }

    /// Adds `extra` (`", max_pages: 1"`) to the flow params of the declared
    /// plugin `key`.
    fn with_params(mut self, key: &str, extra: &str) -> Self {
        let (_, _, params) = self
            .plugins
            .iter_mut()
            .find(|(k, ..)| k == key)
            .unwrap_or_else(|| panic!("{key} is not declared"));
        assert!(
            params.ends_with('}'),
            "{key}'s params are not in flow style"
        );
        params.insert_str(params.len() - 1, extra);
        self
    }

    /// The config's text.
    fn yaml(&self) -> String {
        let mut yaml = String::from("plugins:\n");
        for (key, plugin, params) in &self.plugins {
            yaml.push_str(&format!("  {key}:\n    plugin: {plugin}\n"));
            if !params.is_empty() {
                yaml.push_str(&format!("    params: {params}\n"));
            }
        }
        yaml.push_str(&format!(
            "audits:\n  {}:\n    clouds: [{}]\n    stores: [filestore]\n",
            self.name,
            self.clouds.join(", ")
        ));
        if !self.events.is_empty() {
            yaml.push_str(&format!(
                "    events: [{}]\n    alerts: [filestore]\n",
                self.events.join(", ")
            ));
        }
        yaml.push_str(&format!("run: [{}]\n", self.name));
        yaml
    }

    /// Writes the config to `file` in `sb`.
    fn write(&self, sb: &Sandbox, file: &str) {
        sb.file(file, &self.yaml());
    }

    /// Writes the config to `file` in `sb` and runs it once.
    fn run(&self, sb: &Sandbox, file: &str) -> Run {
        self.write(sb, file);
        sb.run_now(&[file])
    }
}

/// The audit `cloudaudit` of the cloud plugins `keys` (of azcloud, azvm and
/// gcpcloud) reading `clouds`, with the firewall and the two VM disk
/// encryption checks. [`AuditYaml::with_params`] adds to their params.
fn cloud_audit(clouds: &Clouds, keys: &[&str]) -> AuditYaml {
    let mut audit = AuditYaml::new("cloudaudit");
    for key in keys {
        audit = match *key {
            "azcloud" => audit.upstream_cloud("AzCloud", &clouds.azure_params("")),
            "azvm" => audit.upstream_cloud("AzVM", &clouds.azure_params("")),
            "gcpcloud" => audit.upstream_cloud("GCPCloud", &clouds.gcp_params()),
            other => panic!("{other} is not a cloud of cloudaudit"),
        };
    }
    audit.events(&[
        "firewallruleevent",
        "azvmosdiskencryptionevent",
        "azvmdatadiskencryptionevent",
    ])
}

/// Starts a sandbox and a cloud server with `server_args` (faults, paging,
/// latency), writes the audit that `audit` builds for that server to
/// `file` and runs it once.
fn run_audit(
    server_args: &[&str],
    file: &str,
    audit: impl FnOnce(&Clouds) -> AuditYaml,
) -> (Sandbox, Clouds, Run) {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, server_args);
    let run = audit(&clouds).run(&sb, file);
    (sb, clouds, run)
}

/// The plugin key and module of upstream's plugin `class`: upstream names
/// each module after its class, in lower case (`azkvkeynoexpiryevent` for
/// `AzKVKeyNoExpiryEvent`).
fn upstream_key(class: &str) -> String {
    class.to_lowercase()
}

/// The params that point gcpcloud's other Google APIs (those served from
/// tests/support/gcp_api.py's table) at the server at `url`, in flow style
/// without braces.
fn gcp_api_urls(url: &str) -> String {
    format!("dns_url: \"{url}/dns/v1\", iam_url: \"{url}/iam/v1\", apikeys_url: \"{url}/apikeys/v2\", serviceusage_url: \"{url}/serviceusage/v1\", logging_url: \"{url}/logging/v2\", monitoring_url: \"{url}/monitoring/v3\", cloudkms_url: \"{url}/cloudkms/v1\", bigquery_url: \"{url}/bigquery/v2\", dataproc_url: \"{url}/dataproc/v1\", essentialcontacts_url: \"{url}/essentialcontacts/v1\"")
}

/// The service-account key file: the published example's key, as PKCS#8
/// (the form Google issues); the server accepts its self-signed tokens.
fn gcp_key() -> PathBuf {
    root().join("tests/data/gcp/service_account_key.pkcs8.derived.json")
}

/// The record of `records` whose `raw.name` is `name`.
fn named<'a>(records: &[&'a Value], name: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["raw"]["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

/// `(raw.name, com.tls_enforced)` of each database record of `records`.
fn tls_enforced<'a>(records: &[&'a Value]) -> Vec<(&'a str, &'a Value)> {
    records
        .iter()
        .map(|r| {
            (
                r["raw"]["name"].as_str().unwrap(),
                &r["com"]["tls_enforced"],
            )
        })
        .collect()
}

/// A record's `com.reference`.
fn reference(record: &Value) -> &str {
    record["com"]["reference"].as_str().unwrap()
}

/// The `ext.failed` map of the first collection summary in `file`.
fn failed_in(sb: &Sandbox, file: &str) -> Value {
    let all = sb.records(file);
    of_type(&all, "collection_summary")[0]["ext"]["failed"].clone()
}

/// How many requests the server answered whose path contains `part`.
fn count_requests(clouds: &Clouds, part: &str) -> usize {
    clouds
        .requests()
        .iter()
        .filter(|r| r.0.contains(part))
        .count()
}

/// The Azure list requests the server answered (resources and resource
/// groups; not sign-in or subscriptions): (path, start, end).
fn azure_list_requests(clouds: &Clouds) -> Vec<(String, f64, f64)> {
    clouds
        .requests()
        .into_iter()
        .filter(|r| r.0.contains("/providers/") || r.0.ends_with("resourcegroups"))
        .collect()
}
