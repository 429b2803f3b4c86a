//! How `awscloud` reads many AWS accounts: 50 accounts (one role each) x 4
//! regions from moto behind the tests' proxy, every answer delayed by
//! 50 ms, at several `max_concurrency` bounds; then 10 accounts at the
//! same bound, to see whether the peak memory grows with the estate. It
//! prints the requests, the wall and CPU time and the peak RSS of the
//! `cloudmarker` process of each run.
//!
//! moto answers from one Python process on the same two cores, so the
//! wall time of the larger bounds is moto's as much as cloudmarker's.
//!
//! `cargo bench --workspace --bench aws` (as root: each run resolves the
//! accounts' S3 Control host names in a mount namespace of its own, as the
//! AWS tests do).

#[path = "../../tests/common/hosts.rs"]
mod hosts;
#[allow(dead_code)]
#[path = "../../tests/common/python.rs"]
mod python;
#[allow(dead_code)]
#[path = "common/rusage.rs"]
mod rusage;
#[allow(dead_code)]
#[path = "../../tests/common/tls.rs"]
mod tls;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const LATENCY_MS: u64 = 50;

/// The regions of every account.
const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"];

/// The runs: (accounts, max_concurrency).
const RUNS: [(usize, usize); 4] = [(50, 8), (50, 32), (50, 64), (10, 32)];

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("requests.jsonl");
    let server = python::aws_server(&log, &["--latency-ms", &LATENCY_MS.to_string()]);
    let hosts = hosts_file(dir.path(), 50);
    println!();
    println!("| accounts | regions | max_concurrency | requests | seconds | one at a time would take | cloudmarker CPU s | peak RSS MB |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (accounts, concurrency) in RUNS {
        let config = config(dir.path(), server.port, accounts, concurrency);
        let before = requests(&log);
        let measured = run(&config, &hosts, dir.path());
        let requests = requests(&log) - before;
        println!(
            "| {accounts} | {} | {concurrency} | {requests} | {:.2} | {:.1} | {:.2} | {:.1} |",
            REGIONS.len(),
            measured.seconds,
            requests as f64 * LATENCY_MS as f64 / 1000.0,
            measured.cpu,
            measured.peak_rss_kb as f64 / 1024.0
        );
    }
}

/// The account id of the `n`th account (from 1).
fn account(n: usize) -> String {
    format!("{:012}", 100_000_000_000 + n)
}

/// A hosts file that sends `localhost` and each account's
/// `<account>.localhost` (S3 Control's host) to the loopback.
fn hosts_file(dir: &Path, accounts: usize) -> std::path::PathBuf {
    let mut text = String::from("127.0.0.1 localhost\n");
    for n in 1..=accounts {
        text.push_str(&format!("127.0.0.1 {}.localhost\n", account(n)));
    }
    let path = dir.join("hosts");
    std::fs::write(&path, text).unwrap();
    path
}

/// A config auditing `accounts` accounts through roles in [`REGIONS`]
/// into filestore.
fn config(dir: &Path, port: u16, accounts: usize, concurrency: usize) -> std::path::PathBuf {
    let roles: Vec<String> = (1..=accounts)
        .map(|n| format!("\"arn:aws:iam::{}:role/audit\"", account(n)))
        .collect();
    let text = format!(
        "plugins:\n  awscloud:\n    plugin: awscloud\n    params:\n      endpoint_url: http://localhost:{port}\n      regions: [{}]\n      role_arns: [{}]\n      max_concurrency: {concurrency}\n      timeout: 60\n  filestore:\n    params: {{path: \"{}\"}}\naudits:\n  bench:\n    clouds: [awscloud]\n    stores: [filestore]\nrun: [bench]\nlogger:\n  level: WARNING\n  handlers:\n    file:\n      filename: \"{}\"\nhistory:\n  path: \"{}\"\nstate: {{enabled: false}}\n",
        REGIONS.join(", "),
        roles.join(", "),
        dir.join("out").display(),
        dir.join("bench.log").display(),
        dir.join("history.jsonl").display()
    );
    let path = dir.join("aws-bench.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// How many requests the proxy has logged.
fn requests(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .count()
}

/// What one run of `cloudmarker` took.
struct Measured {
    seconds: f64,
    cpu: f64,
    peak_rss_kb: i64,
}

/// Runs `cloudmarker -n -c config` with the tests' credentials, `hosts` as
/// its `/etc/hosts`; waits for it with `wait4` for its own CPU time and
/// peak RSS.
fn run(config: &Path, hosts: &Path, dir: &Path) -> Measured {
    let missing = dir.join("no-such-file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_cloudmarker"));
    let plugins = std::env::current_exe().unwrap();
    command
        .args([
            "--plugin-dir",
            &plugins.parent().unwrap().display().to_string(),
        ])
        .args(["-n", "-c"])
        .arg(config)
        .env("AWS_ACCESS_KEY_ID", "AKIATESTKEYFORMOTO")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env("AWS_CONFIG_FILE", &missing)
        .env("AWS_SHARED_CREDENTIALS_FILE", &missing)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE");
    hosts::with_hosts(&mut command, hosts);
    let started = Instant::now();
    // Reaped by wait4 below, which also gives its rusage.
    #[allow(clippy::zombie_processes)]
    let child = command
        .spawn()
        .expect("cloudmarker (run the bench as root)");
    let mut status = 0;
    // SAFETY: wait4 fills the status and the rusage it is given; the
    // child is reaped here, not by std.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        usage
    };
    let seconds = started.elapsed().as_secs_f64();
    let code = libc::WEXITSTATUS(status);
    assert!(
        libc::WIFEXITED(status) && code == 0,
        "cloudmarker failed ({status}): see {}",
        dir.join("bench.log").display()
    );
    Measured {
        seconds,
        cpu: rusage::cpu_seconds(&usage),
        peak_rss_kb: usage.ru_maxrss,
    }
}
