//! How long `azcloud` takes to read many subscriptions from a slow API:
//! 100 subscriptions x 8 resource types, every answer delayed by 50 ms, from
//! the local API server of the tests. Read one request at a time this would
//! take 100 x 8 x 50 ms = 40 s; with bounded concurrency it should take a
//! small multiple of 8 x 50 ms = 0.4 s (the pages of one subscription).
//!
//! `cargo bench -p cloudmarker --bench clouds`

#[allow(dead_code)]
#[path = "../../tests/common/python.rs"]
mod python;

use std::process::Command;
use std::time::Instant;

const SUBSCRIPTIONS: usize = 100;
const LATENCY_MS: u64 = 50;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("requests.jsonl");
    let port = python::free_port();
    let data = python::root().join("tests/data");
    let server = python::Server::start(
        "cloud_server.py",
        port,
        &[
            "--port",
            &port.to_string(),
            "--data",
            &data.display().to_string(),
            "--log",
            &log.display().to_string(),
            "--subscriptions",
            &SUBSCRIPTIONS.to_string(),
            "--subscriptions-per-page",
            "100",
            "--latency-ms",
            &LATENCY_MS.to_string(),
        ],
    );
    let plugins = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    println!("| max_concurrency | requests | seconds | sequential would take |");
    println!("|---:|---:|---:|---:|");
    for concurrency in [8, 32, 64] {
        let _ = std::fs::remove_file(&log);
        let url = format!("http://127.0.0.1:{}", server.port);
        let config = dir.path().join("bench.yaml");
        std::fs::write(
            &config,
            format!(
                "plugins:\n  azcloud:\n    plugin: azcloud\n    params: {{tenant: t, client: client-id, secret: client-secret, authority_host: \"{url}\", resource_manager: \"{url}\", max_concurrency: {concurrency}}}\n  filestore:\n    params: {{path: \"{}\"}}\naudits:\n  bench:\n    clouds: [azcloud]\n    stores: [filestore]\nrun: [bench]\nlogger:\n  level: WARNING\n  handlers:\n    file:\n      filename: \"{}\"\nhistory:\n  path: \"{}\"\n",
                dir.path().join("out").display(),
                dir.path().join("bench.log").display(),
                dir.path().join("history.jsonl").display()
            ),
        )
        .unwrap();
        let started = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_cloudmarker"))
            .args(["--plugin-dir", &plugins.display().to_string(), "-n", "-c"])
            .arg(&config)
            .status()
            .expect("run cloudmarker");
        let seconds = started.elapsed().as_secs_f64();
        assert!(status.success(), "cloudmarker failed: {status}");
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
