//! How long `azcloud` takes to read many subscriptions from a slow API:
//! 100 subscriptions x 8 resource types, every answer delayed by 50 ms, from
//! the local API server of the tests. Read one request at a time this would
//! take 100 x 8 x 50 ms = 40 s; with bounded concurrency it should take a
//! small multiple of 8 x 50 ms = 0.4 s (the pages of one subscription).
//!
//! Then the CPU cost per resource: `azcloud` reads one subscription with
//! 100,000 virtual machines (copies of the published example, 1,000 a page,
//! no delay) into filestore; the CPU time of the `cloudmarker` process (user
//! + system) over the records it read.
//!
//! Then every Azure cloud plugin at once (`azcloud`, `azvm`, `azdisk`,
//! `azkv`, `azmonitor`, `azpostgres`, `azsql`, `azstorageaccount`,
//! `azwebapp`) over the same 100 slow subscriptions, each bounded to 64
//! requests in flight, then those with the plugins that read for the CIS
//! Azure 6.0.0 rules ([`CIS_READS`]), side by side.
//!
//! `cargo bench -p cloudmarker --bench clouds`

#[allow(dead_code)]
#[path = "../../tests/common/python.rs"]
mod python;
#[path = "common/rusage.rs"]
mod rusage;
#[allow(dead_code)]
#[path = "../../tests/common/tls.rs"]
mod tls;

use std::process::Command;
use std::time::Instant;

const SUBSCRIPTIONS: usize = 100;
const LATENCY_MS: u64 = 50;

/// The virtual machines of the CPU measurement.
const SCALED_VMS: usize = 100_000;

/// Every Azure cloud plugin.
const AZURE_PLUGINS: [&str; 9] = [
    "azcloud",
    "azvm",
    "azdisk",
    "azkv",
    "azmonitor",
    "azpostgres",
    "azsql",
    "azstorageaccount",
    "azwebapp",
];

/// The Azure cloud plugins that read what the CIS Azure 6.0.0 rules need
/// beyond the nine above (Defender, activity log alerts, networking, role
/// assignments, Databricks, Application Insights, blob and file services).
const CIS_READS: [&str; 7] = [
    "azdefender",
    "azactivitylogalerts",
    "aznetwork",
    "azauthorization",
    "azdatabricks",
    "azappinsights",
    "azstorageservices",
];

fn main() {
    concurrency();
    every_azure_plugin();
    cpu_per_resource();
}

/// A config for `azcloud` against `server`, into filestore under `dir`.
fn config(
    dir: &std::path::Path,
    server: &python::CloudServer,
    concurrency: usize,
) -> std::path::PathBuf {
    config_of(dir, server, concurrency, &["azcloud"])
}

/// A config for the Azure cloud plugins `clouds` against `server`, into
/// filestore under `dir`.
fn config_of(
    dir: &std::path::Path,
    server: &python::CloudServer,
    concurrency: usize,
    clouds: &[&str],
) -> std::path::PathBuf {
    let config = dir.join("bench.yaml");
    let (url, sign_in) = (server.url(), server.azure_sign_in());
    let mut plugins = String::new();
    for cloud in clouds {
        plugins.push_str(&format!(
            "  {cloud}:\n    plugin: {cloud}\n    params: {{tenant: t, client: client-id, secret: client-secret, {sign_in}, resource_manager: \"{url}\", max_concurrency: {concurrency}}}\n"
        ));
    }
    std::fs::write(
        &config,
        format!(
            "plugins:\n{plugins}  filestore:\n    params: {{path: \"{}\"}}\naudits:\n  bench:\n    clouds: [{}]\n    stores: [filestore]\nrun: [bench]\nlogger:\n  level: WARNING\n  handlers:\n    file:\n      filename: \"{}\"\nhistory:\n  path: \"{}\"\n",
            dir.join("out").display(),
            clouds.join(", "),
            dir.join("bench.log").display(),
            dir.join("history.jsonl").display()
        ),
    )
    .unwrap();
    config
}

/// The plugin libraries beside this bench.
fn plugins() -> std::path::PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs `cloudmarker -n -c config`; returns its wall and CPU seconds.
fn run(config: &std::path::Path) -> (f64, f64) {
    let (seconds, cpu, code) = run_with_status(config);
    assert_eq!(code, Some(0), "cloudmarker failed");
    (seconds, cpu)
}

/// Runs `cloudmarker -n -c config`; returns its wall and CPU seconds and
/// its exit status.
fn run_with_status(config: &std::path::Path) -> (f64, f64, Option<i32>) {
    let before = children_cpu();
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_cloudmarker"))
        .args(["--plugin-dir", &plugins().display().to_string(), "-n", "-c"])
        .arg(config)
        .status()
        .expect("run cloudmarker");
    let seconds = started.elapsed().as_secs_f64();
    (seconds, children_cpu() - before, status.code())
}

/// The tests' API server with [`SUBSCRIPTIONS`] subscriptions, every answer
/// [`LATENCY_MS`] late.
fn slow_server(log: &std::path::Path) -> python::CloudServer {
    python::cloud_server(
        log,
        &[
            "--subscriptions",
            &SUBSCRIPTIONS.to_string(),
            "--subscriptions-per-page",
            "100",
            "--latency-ms",
            &LATENCY_MS.to_string(),
        ],
    )
}

/// Every Azure cloud plugin at once over 100 slow subscriptions.
fn every_azure_plugin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("requests.jsonl");
    let server = slow_server(&log);
    let with_cis: Vec<&str> = AZURE_PLUGINS.iter().chain(&CIS_READS).copied().collect();
    println!();
    println!("| plugins | subscriptions | requests | seconds | sequential would take | cloudmarker CPU s |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (what, clouds) in [
        (
            "every Azure cloud plugin of 2026-12-03",
            AZURE_PLUGINS.to_vec(),
        ),
        ("with the CIS Azure 6.0.0 reads", with_cis),
    ] {
        let before = requests(&log);
        let config = config_of(dir.path(), &server, 64, &clouds);
        // The fixtures deny a vault, an app and a server on purpose: exit 1.
        let (seconds, cpu, code) = run_with_status(&config);
        assert!(matches!(code, Some(0 | 1)), "cloudmarker failed: {code:?}");
        let requests = requests(&log) - before;
        println!(
            "| {what} ({}) | {SUBSCRIPTIONS} | {requests} | {seconds:.2} | {:.1} | {cpu:.2} |",
            clouds.len(),
            requests as f64 * LATENCY_MS as f64 / 1000.0
        );
    }
}

/// How many requests the server has logged.
fn requests(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .count()
}

/// User plus system CPU seconds of the waited-for children so far.
fn children_cpu() -> f64 {
    rusage::cpu_seconds(&rusage::of(libc::RUSAGE_CHILDREN))
}

/// `azcloud` over one subscription with [`SCALED_VMS`] virtual machines.
fn cpu_per_resource() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("requests.jsonl");
    let server = python::cloud_server(
        &log,
        &[
            "--subscriptions",
            "1",
            "--scale-vms",
            &SCALED_VMS.to_string(),
        ],
    );
    let config = config(dir.path(), &server, 8);
    // The median of 5 runs: the Python server shares the two cores.
    let mut runs: Vec<(f64, f64)> = (0..5).map(|_| run(&config)).collect();
    runs.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (seconds, cpu) = runs[runs.len() / 2];
    let written = std::fs::read_to_string(dir.path().join("out/bench_azcloud.json")).unwrap();
    let records = written.lines().count().saturating_sub(2);
    println!();
    println!(
        "| resources read | seconds | cloudmarker CPU s (median of 5) | CPU µs per resource |"
    );
    println!("|---:|---:|---:|---:|");
    println!(
        "| {records} | {seconds:.2} | {cpu:.2} | {:.1} |",
        cpu * 1e6 / records as f64
    );
}

/// `azcloud` over 100 slow subscriptions at several concurrency bounds.
fn concurrency() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("requests.jsonl");
    let server = slow_server(&log);
    println!("| max_concurrency | requests | seconds | sequential would take |");
    println!("|---:|---:|---:|---:|");
    for concurrency in [8, 32, 64] {
        let _ = std::fs::remove_file(&log);
        let config = config(dir.path(), &server, concurrency);
        let (seconds, _) = run(&config);
        let requests = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count();
        println!(
            "| {concurrency} | {requests} | {seconds:.2} | {:.1} |",
            requests as f64 * LATENCY_MS as f64 / 1000.0
        );
    }
}
