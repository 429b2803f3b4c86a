//! Store plugins end to end: the real `cloudmarker` binary runs the mock
//! audit into filestore and a store plugin, and the test reads the records
//! back from the server and compares them with filestore's output.
//!
//! Servers, started by the tests: osmem-server for Elasticsearch (or a real
//! cluster at `CLOUDMARKER_TEST_ES_URL`), nx-27017 for MongoDB (or a real
//! server at `CLOUDMARKER_TEST_MONGODB_URI`) and a local Splunk HTTP Event
//! Collector, `splunk_hec_server.py` (or a real one at
//! `CLOUDMARKER_TEST_SPLUNK_URI` with `CLOUDMARKER_TEST_SPLUNK_TOKEN`). Tests
//! that steer or stop the server skip, saying so, against real ones.
//!
//! Every store runs the same compliance suite ([`compliance`]) through its
//! [`compliance::StoreServer`] harness; each store's own module adds what is
//! particular to it (its protocol's errors, TLS, credentials).

#[path = "../common/mod.rs"]
mod common;
mod compliance;
mod elasticsearch;
mod mongodb_store;
mod splunk;

use elasticsearch::Es;
use mongodb_store::Mongo;
use splunk::Hec;

use common::python::{free_port, Server};
use common::{tls, Run, Sandbox};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A run must end within this, failures and retries included.
const NO_HANG: Duration = Duration::from_secs(30);

/// Starts a slow mock audit (`slow.yaml`) into a store configured by
/// `config`, stops the store's server once `started_writing`, and expects
/// the run to end with the store's error naming `message` and the records
/// lost, within [`NO_HANG`].
fn assert_store_fails_when_its_server_goes_away<S>(
    sb: &Sandbox,
    config: &str,
    server: &mut S,
    started_writing: impl Fn(&S) -> bool,
    stop_server: impl FnOnce(&mut S),
    plugin: &str,
    message: &str,
) {
    let started = Instant::now();
    let mut child = sb.spawn(&["-n", "-c", "sandbox.yaml", config, "slow.yaml"]);
    while !started_writing(server) {
        assert!(started.elapsed() < NO_HANG, "{plugin} wrote nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    stop_server(server);
    let status = common::exit_within(&mut child, NO_HANG.as_secs());
    let output = std::fs::read_to_string(sb.path().join("stdout.txt")).unwrap();
    assert_eq!(status, Some(1), "{output}");
    assert!(
        output.contains(&format!("ERROR mockaudit_{plugin}")),
        "{output}"
    );
    assert!(output.contains(message), "{output}");
    assert!(output.contains("records lost)"), "{output}");
}

/// The records and events filestore wrote, with the audit markers, as one
/// list per target type (`store`, `alert`), sorted, without the target fields
/// that differ between two stores.
fn filestore_output(sb: &Sandbox, target_type: &str) -> Vec<Value> {
    let mut records = Vec::new();
    let files: &[&str] = match target_type {
        "store" => &[
            "mockaudit_mockcloud.json",
            "audit_markers/mockaudit_filestore_store.json",
        ],
        _ => &[
            "mockaudit_mockevent.json",
            "audit_markers/mockaudit_filestore_alert.json",
        ],
    };
    for file in files {
        records.extend(sb.read_json(file).as_array().unwrap().iter().cloned());
    }
    normalized(records)
}

/// `records` without the `com.target_*` fields that name the store, sorted.
fn normalized(records: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut records: Vec<Value> = records
        .into_iter()
        .map(|mut r| {
            let com = r["com"].as_object_mut().expect("com is an object");
            for key in ["target_key", "target_class", "target_worker"] {
                com.remove(key);
            }
            r
        })
        .collect();
    records.sort_by_key(|r| r.to_string());
    records
}

/// Records of `records` whose `com.target_type` is `target_type`.
fn of_type(records: &[Value], target_type: &str) -> Vec<Value> {
    records
        .iter()
        .filter(|r| r["com"]["target_type"] == target_type)
        .cloned()
        .collect()
}

/// Asserts the store got exactly what filestore got, per target type, and
/// that the store's own target fields name it.
fn assert_same_as_filestore(sb: &Sandbox, stored: &[Value], store: &str) {
    for target_type in ["store", "alert"] {
        let mine = of_type(stored, target_type);
        for record in &mine {
            assert_eq!(record["com"]["target_worker"], format!("mockaudit_{store}"));
            assert_eq!(record["com"]["target_key"], store);
        }
        assert_eq!(
            normalized(mine),
            filestore_output(sb, target_type),
            "{target_type} records"
        );
    }
    // 10 records and 4 events, each with a begin and an end marker.
    assert_eq!(stored.len(), 18);
}

/// Runs `configs` and checks the run ended in time.
fn run_timed(sb: &Sandbox, configs: &[&str]) -> Run {
    let started = Instant::now();
    let run = sb.run_now(configs);
    assert!(
        started.elapsed() < NO_HANG,
        "the run took {:?}",
        started.elapsed()
    );
    run
}

/// Asserts a run failed in `worker` with `message`, and the summary counts
/// `failures` failures and `lost` records lost.
fn assert_store_failed(run: &Run, worker: &str, message: &str, failures: u32, lost: u64) {
    run.assert_status(1);
    run.assert_says(&format!("ERROR {worker}"));
    run.assert_says(message);
    run.assert_says(&format!("{failures} failures ({lost} records lost)"));
}

// ----------------------------------------------------------------- Benchmark

/// Records per second of the mock audit into filestore alone and into
/// filestore plus each store, with the release build and the test servers
/// on loopback. Run with `cargo build --release --workspace` first, then
/// `cargo test -p cloudmarker --test stores -- --ignored --nocapture store_throughput`
/// (`CLOUDMARKER_BENCH_RECORDS` sets the record count, 20000 by default).
#[test]
#[ignore = "a benchmark; needs the release build"]
fn store_throughput() {
    let root = common::python::root();
    let exe = root.join("target/release/cloudmarker");
    assert!(
        exe.is_file(),
        "build the release first: cargo build --release --workspace"
    );
    let records: u64 = std::env::var("CLOUDMARKER_BENCH_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20000);
    let sb = Sandbox::new();
    let hec = Hec::local(&sb, &[], None).unwrap();
    let mongo = Mongo::local(&sb).unwrap();
    let es = Es::local(&sb).unwrap();
    let stores = [
        ("filestore only", String::new(), ""),
        (
            "splunkhecstore",
            format!("  splunkhecstore:\n    plugin: splunkhecstore\n    params: {{uri: \"{}\", token: {}}}\n", hec.uri, hec.token),
            "splunkhecstore",
        ),
        (
            "mongodbstore",
            format!("  mongodbstore:\n    params: {{uri: \"{}\", db: {}}}\n", mongo.uri, mongo.db),
            "mongodbstore",
        ),
        (
            "esstore",
            format!("  esstore:\n    params: {{url: \"{}\", index: {}}}\n", es.url, es.index),
            "esstore",
        ),
    ];
    println!(
        "| stores | records | seconds | records/s | cloudmarker CPU s |\n|---|---:|---:|---:|---:|"
    );
    for (name, plugin, key) in stores {
        let store_list = if key.is_empty() {
            "[filestore]".to_string()
        } else {
            format!("[filestore, {key}]")
        };
        sb.file(
            "bench.yaml",
            &format!(
                "plugins:\n  mockcloud:\n    params: {{record_count: {records}}}\n{plugin}audits:\n  mockaudit:\n    stores: {store_list}\n    events: []\n    alerts: []\nlogger:\n  console: false\n"
            ),
        );
        // GNU time, when there, tells how much CPU cloudmarker itself used:
        // the rest of the wall time is spent waiting for the server.
        let cpu_file = sb.path().join("cpu.txt");
        let gnu_time = std::path::Path::new("/usr/bin/time");
        let mut command = if gnu_time.is_file() {
            let mut c = std::process::Command::new(gnu_time);
            c.args(["-f", "%U %S", "-o"]).arg(&cpu_file).arg(&exe);
            c
        } else {
            std::process::Command::new(&exe)
        };
        let started = Instant::now();
        let status = command
            .args([
                "--plugin-dir",
                root.join("target/release").to_str().unwrap(),
            ])
            .args(["-n", "-c", "sandbox.yaml", "bench.yaml"])
            .current_dir(sb.path())
            .env("HOME", sb.path())
            .status()
            .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        assert!(status.success(), "{name}: {status}\n{}", sb.log());
        let cpu: f64 = std::fs::read_to_string(&cpu_file)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|t| t.parse::<f64>().ok())
            .sum();
        let stores = if key.is_empty() {
            "filestore".to_string()
        } else {
            format!("filestore + {name}")
        };
        println!(
            "| {stores} | {records} | {seconds:.2} | {:.0} | {cpu:.2} |",
            records as f64 / seconds
        );
    }
}
