//! Throughput and memory of the mock audit (mockcloud -> filestore +
//! mockevent -> filestore), through the plugin libraries (FFI) and with the
//! same plugins compiled into this binary (in-process).
//!
//! `cargo bench -p cloudmarker --bench pipeline` runs 10^5, 10^6 and 10^7
//! records; `-- 100000 1000000` picks sizes. Each measurement runs in a fresh
//! child process so that its peak RSS is its own; each is repeated
//! (`BENCH_RUNS`, default 3) and the median time is reported. The output goes
//! to disk (the target directory, fsync'd as filestore always does) and to
//! tmpfs (`/dev/shm`), to separate the pipeline's own speed from the disk's.

use cloudmarker::audit::{run_audits, EngineOptions, NoHooks, StopFlag};
use cloudmarker::config::{load, Config};
use cloudmarker::plugins::{Registry, SearchPath};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

// The plugin modules' own unit tests are compiled here too, unused.
#[allow(dead_code, unused_imports)]
#[path = "../../plugins/filestore/src/filestore.rs"]
mod filestore_impl;

#[allow(dead_code, unused_imports)]
#[path = "../../plugins/mockcloud/src/mockcloud.rs"]
mod mockcloud_impl;
#[allow(dead_code, unused_imports)]
#[path = "../../plugins/mockevent/src/mockevent.rs"]
mod mockevent_impl;
#[path = "../../plugins/filestore/src/outdir.rs"]
mod outdir;

/// The bundled plugins' code, compiled into this binary, with root modules
/// that are not exported (see `plugin_module!`).
mod in_process {
    pub mod mockcloud {
        cloudmarker_plugin_api::plugin_module!(cloud: crate::mockcloud_impl::MockCloud);
    }
    pub mod mockevent {
        cloudmarker_plugin_api::plugin_module!(event: crate::mockevent_impl::MockEvent);
    }
    pub mod filestore {
        cloudmarker_plugin_api::plugin_module!(sink: crate::filestore_impl::FileStore);
    }
}

const MODES: [&str; 2] = ["ffi", "in-process"];

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--child") {
        child(
            &args[1],
            args[2].parse().expect("record count"),
            Path::new(&args[3]),
        );
        return;
    }
    let sizes: Vec<u64> = if args.is_empty() {
        vec![100_000, 1_000_000, 10_000_000]
    } else {
        args.iter()
            .map(|a| a.parse().expect("record counts"))
            .collect()
    };
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let storages = [("disk", target_dir()), ("tmpfs", PathBuf::from("/dev/shm"))];
    println!("| records | output on | mode | seconds (median of {runs}) | records/s | peak RSS |");
    println!("|---:|---|---|---:|---:|---:|");
    for size in sizes {
        for (storage, dir) in storages.iter().filter(|(_, d)| d.is_dir()) {
            let mut results: Vec<Vec<(f64, f64)>> = vec![Vec::new(); MODES.len()];
            // Interleave the modes so that both see the same disk state.
            for _ in 0..runs {
                for (mode, result) in MODES.iter().zip(&mut results) {
                    result.push(measure(mode, size, dir));
                }
            }
            for (mode, mut result) in MODES.iter().zip(results) {
                result.sort_by(|a, b| a.0.total_cmp(&b.0));
                let seconds = result[result.len() / 2].0;
                let rss_mb = result.iter().map(|r| r.1).fold(0.0, f64::max);
                println!(
                    "| {size} | {storage} | {mode} | {seconds:.2} | {:.0} | {rss_mb:.1} MB |",
                    size as f64 / seconds
                );
            }
        }
    }
}

/// Runs one child; returns its seconds and peak RSS in MB.
fn measure(mode: &str, records: u64, dir: &Path) -> (f64, f64) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--child", mode, &records.to_string()])
        .arg(dir)
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut fields = stdout
        .split_whitespace()
        .map(|f| f.parse::<f64>().expect("child output"));
    (fields.next().unwrap(), fields.next().unwrap())
}

/// Runs one mock audit of `records` records writing under `out`, and prints
/// its seconds and peak RSS in MB.
fn child(mode: &str, records: u64, out: &Path) {
    let dir = tempfile::tempdir_in(out).expect("temp dir");
    let config_file = dir.path().join("bench.yaml");
    std::fs::write(
        &config_file,
        format!(
            "plugins:\n  mockcloud:\n    params: {{record_count: {records}}}\n  filestore:\n    params: {{path: {}}}\n",
            dir.path().join("out").display()
        ),
    )
    .unwrap();
    let config = Config::from_loaded(&load(&[config_file], |_| {}).unwrap()).unwrap();
    let registry = match mode {
        "ffi" => Registry::new(SearchPath::new(&[plugin_dir()], None, None)),
        _ => Registry::new(SearchPath::default())
            .with_builtin(in_process::mockcloud::plugin_module())
            .with_builtin(in_process::mockevent::plugin_module())
            .with_builtin(in_process::filestore::plugin_module()),
    };
    let started = Instant::now();
    let report = run_audits(
        &config,
        &registry,
        EngineOptions::default(),
        &StopFlag::new(),
        &NoHooks,
    );
    let seconds = started.elapsed().as_secs_f64();
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(report.audits[0].records_read(), records);
    println!("{seconds} {}", peak_rss_kb() as f64 / 1024.0);
}

/// Where cargo put the plugin libraries (beside this bench executable).
fn plugin_dir() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The target directory, so the output files stay on the build disk.
fn target_dir() -> PathBuf {
    plugin_dir()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .to_path_buf()
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
