//! Throughput and memory of the mock audit (mockcloud -> filestore +
//! mockevent -> filestore), through the plugin libraries (FFI), with the
//! same plugins compiled into this binary (in-process), with every
//! plugin instance in a process of its own (isolated: `isolation: process`;
//! its CPU time includes the plugin processes', its peak RSS is the host's),
//! through the libraries without the findings lifecycle
//! (ffi-stateless: `state: {enabled: false}`, the data path alone), and,
//! side by side, the original Python cloudmarker running its own mock audit
//! (upstream: PyPI `cloudmarker==0.1.0`, which has no findings lifecycle,
//! so it compares with ffi-stateless; installed by this bench into
//! `target/bench-upstream-venv`, `BENCH_UPSTREAM=0` leaves it out).
//!
//! `cargo bench -p cloudmarker --bench pipeline` runs 10^5, 10^6 and 10^7
//! records; `-- 100000 1000000` picks sizes. Each measurement runs in a fresh
//! child process so that its peak RSS is its own; each is repeated
//! (`BENCH_RUNS`, default 3) and the median time is reported. The output goes
//! to disk (the target directory, fsync'd as filestore always does) and to
//! tmpfs (`/dev/shm`), to separate the pipeline's own speed from the disk's.
//! Besides the wall time it reports CPU time per record (user + system of
//! the child, over the records) and, for the same bytes, the time of
//! `dd if=/dev/zero conv=fsync` on the same file system, measured in the
//! same run.

#[allow(dead_code)]
#[path = "../../tests/common/python.rs"]
mod python;
#[path = "common/rusage.rs"]
mod rusage;
#[allow(dead_code)]
#[path = "../../tests/common/tls.rs"]
mod tls;

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
#[path = "../../plugins/filestore/src/formats.rs"]
mod formats;
#[allow(dead_code, unused_imports)]
#[path = "../../plugins/mockcloud/src/mockcloud.rs"]
mod mockcloud_impl;
#[allow(dead_code, unused_imports)]
#[path = "../../plugins/mockevent/src/mockevent.rs"]
mod mockevent_impl;
#[allow(dead_code, unused_imports)]
#[path = "../../plugins/filestore/src/outdir.rs"]
mod outdir;

/// The bundled plugins' code, compiled into this binary, with root modules
/// that are not exported (see `plugin_module!`).
mod in_process {
    pub mod cloud {
        cloudmarker_plugin_api::plugin_module!(cloud: crate::mockcloud_impl::MockCloud);
    }
    pub mod event {
        cloudmarker_plugin_api::plugin_module!(event: crate::mockevent_impl::MockEvent);
    }
    pub mod store {
        cloudmarker_plugin_api::plugin_module!(sink: crate::filestore_impl::FileStore);
    }
}

/// `ffi-stateless`: the FFI mode with `state: {enabled: false}`, the data
/// path without the findings lifecycle. `ffi-rules`: `ffi-stateless` with
/// the rules engine (`rulesevent`) and [`RULES`] rules loaded, ten of them
/// applying to each of the ten record types the mock cloud produces;
/// `ffi-rules-idle`: the same rules on record types the cloud does not
/// produce (what rules cost a record they do not apply to). All modes read
/// the same records (ten record types). `BENCH_MODES` (comma-separated)
/// runs some of them only.
const MODES: [&str; 6] = [
    "ffi",
    "in-process",
    "isolated",
    "ffi-stateless",
    "ffi-rules",
    "ffi-rules-idle",
];

/// Rules loaded in the rules modes.
const RULES: usize = 100;

/// Record types of the mock records (each has `RULES / RECORD_TYPES` rules).
const RECORD_TYPES: usize = 10;

/// The original Python cloudmarker's mode, measured up to [`UPSTREAM_MAX`]
/// records (it reads about 15,000 a second here: 10^7 would take over ten
/// minutes a run).
const UPSTREAM: &str = "upstream";
const UPSTREAM_MAX: u64 = 1_000_000;

/// How the child of the upstream mode finds the venv's Python.
const UPSTREAM_PYTHON: &str = "BENCH_UPSTREAM_PYTHON";

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    // The isolated mode's plugin processes are this binary run again.
    if args.first().map(String::as_str) == Some(cloudmarker::plugins::isolate::CHILD_COMMAND) {
        let status = cloudmarker::plugins::isolate::run_child(
            Path::new(&args[1]),
            &args[2],
            args[3].parse().unwrap_or(1),
        );
        std::process::exit(i32::from(status));
    }
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
    let upstream = upstream_python();
    let storages = [("disk", target_dir()), ("tmpfs", PathBuf::from("/dev/shm"))];
    println!("| records | output on | mode | seconds (median of {runs}) | records/s | CPU µs/record | peak RSS | bytes written | dd conv=fsync of those bytes, s |");
    println!("|---:|---|---|---:|---:|---:|---:|---:|---:|");
    for size in sizes {
        for (storage, dir) in storages.iter().filter(|(_, d)| d.is_dir()) {
            let mut modes: Vec<&str> = match std::env::var("BENCH_MODES") {
                Ok(list) => MODES
                    .into_iter()
                    .filter(|m| list.split(',').any(|l| l.trim() == *m))
                    .collect(),
                Err(_) => MODES.to_vec(),
            };
            if upstream.is_some() && size <= UPSTREAM_MAX {
                modes.push(UPSTREAM);
            }
            let mut results: Vec<Vec<Measured>> = vec![Vec::new(); modes.len()];
            // Interleave the modes so that all see the same disk state.
            for _ in 0..runs {
                for (mode, result) in modes.iter().zip(&mut results) {
                    result.push(measure(mode, size, dir, upstream.as_deref()));
                }
            }
            for (mode, mut result) in modes.iter().zip(results) {
                result.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
                let median = &result[result.len() / 2];
                let rss_mb = result.iter().map(|r| r.rss_mb).fold(0.0, f64::max);
                let dd = dd_seconds(dir, median.bytes);
                println!(
                    "| {size} | {storage} | {mode} | {:.2} | {:.0} | {:.2} | {rss_mb:.1} MB | {} | {dd:.2} |",
                    median.seconds,
                    size as f64 / median.seconds,
                    median.cpu_seconds * 1e6 / size as f64,
                    median.bytes,
                );
            }
        }
    }
}

/// What one child measured.
#[derive(Debug, Clone)]
struct Measured {
    seconds: f64,
    rss_mb: f64,
    cpu_seconds: f64,
    bytes: u64,
}

/// Seconds `dd` takes to write `bytes` (rounded up to MiB) with an fsync,
/// in `dir`: what the disk itself costs for the same output.
fn dd_seconds(dir: &Path, bytes: u64) -> f64 {
    let file = tempfile::Builder::new()
        .prefix("dd-")
        .tempfile_in(dir)
        .expect("dd file");
    let mib = bytes.div_ceil(1024 * 1024).max(1);
    let started = Instant::now();
    let status = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", file.path().display()))
        .args([
            "bs=1M",
            &format!("count={mib}"),
            "conv=fsync",
            "status=none",
        ])
        .status()
        .expect("run dd");
    assert!(status.success());
    started.elapsed().as_secs_f64()
}

/// The Python of the venv with the original cloudmarker, made from
/// `host/benches/upstream-requirements.txt`; `None` (saying why) when
/// `BENCH_UPSTREAM=0` or when it cannot be installed.
fn upstream_python() -> Option<PathBuf> {
    if std::env::var("BENCH_UPSTREAM").as_deref() == Ok("0") {
        return None;
    }
    let requirements = python::root().join("host/benches/upstream-requirements.txt");
    // Its other pinned dependencies (2019's cryptography, PyYAML 5.1) do
    // not build on this Python; its mock audit imports none of them.
    match python::venv("bench-upstream-venv", &requirements, &["--no-deps"]) {
        Ok(python) => Some(python),
        Err(why) => {
            eprintln!("The original cloudmarker is not measured: {why}");
            None
        }
    }
}

/// Runs one child (with the upstream venv's Python, `upstream`); returns
/// what it measured.
fn measure(mode: &str, records: u64, dir: &Path, upstream: Option<&Path>) -> Measured {
    let mut command = Command::new(std::env::current_exe().unwrap());
    if let Some(python) = upstream {
        command.env(UPSTREAM_PYTHON, python);
    }
    let output = command
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
    let mut next = || fields.next().expect("child output");
    Measured {
        seconds: next(),
        rss_mb: next(),
        cpu_seconds: next(),
        bytes: next() as u64,
    }
}

/// Runs one mock audit of `records` records writing under `out`, and prints
/// its seconds, peak RSS in MB, CPU seconds and bytes written.
fn child(mode: &str, records: u64, out: &Path) {
    if mode == UPSTREAM {
        return upstream_child(records, out);
    }
    let dir = tempfile::tempdir_in(out).expect("temp dir");
    let config_file = dir.path().join("bench.yaml");
    let types: Vec<String> = (0..RECORD_TYPES).map(|t| format!("t{t}")).collect();
    let rules = match mode {
        "ffi-rules" => Some(rules_file(dir.path(), "t")),
        "ffi-rules-idle" => Some(rules_file(dir.path(), "absent")),
        _ => None,
    };
    let rules_config = rules.map_or_else(String::new, |file| {
        format!(
            "  rules:\n    plugin: rulesevent\n    params: {{paths: [{}]}}\naudits:\n  mockaudit:\n    events: [mockevent, rules]\n",
            file.display()
        )
    });
    std::fs::write(
        &config_file,
        format!(
            "plugins:\n  mockcloud:\n    params: {{record_count: {records}, record_types: [{}]}}\n  filestore:\n    params: {{path: {}}}\n{rules_config}state:\n  path: {}\n  enabled: {}\n{}",
            types.join(", "),
            dir.path().join("out").display(),
            dir.path().join("findings.db").display(),
            !mode.starts_with("ffi-stateless") && !mode.starts_with("ffi-rules"),
            if mode == "isolated" { "isolation: process\n" } else { "" }
        ),
    )
    .unwrap();
    let config = Config::from_loaded(&load(&[config_file], |_| {}).unwrap()).unwrap();
    let registry = match mode {
        "ffi" | "isolated" | "ffi-stateless" | "ffi-rules" | "ffi-rules-idle" => {
            Registry::new(SearchPath::new(&[plugin_dir()], None, None))
        }
        _ => Registry::new(SearchPath::default())
            .with_builtin(in_process::cloud::plugin_module())
            .with_builtin(in_process::event::plugin_module())
            .with_builtin(in_process::store::plugin_module()),
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
    let bytes = dir_bytes(&dir.path().join("out"));
    println!(
        "{seconds} {} {} {bytes}",
        peak_rss_kb() as f64 / 1024.0,
        cpu_seconds()
    );
}

/// Writes [`RULES`] rules into `dir` and returns the file: rule `i` reads
/// records of type `<prefix><i % RECORD_TYPES>` and fails about one record
/// in a thousand; the expressions vary (arithmetic, comparisons, `has`,
/// strings) as real rules do.
fn rules_file(dir: &Path, prefix: &str) -> PathBuf {
    let mut text = String::from("rules:\n");
    for i in 0..RULES {
        let fail = match i % 4 {
            0 => format!("raw.data % 1000 == {}", i % 1000),
            1 => format!(
                "has(raw.data) && raw.data % 997 == {} && raw.data >= 0",
                i % 997
            ),
            2 => format!(
                "string(raw.data).endsWith('{:03}') && raw.data > 10",
                i % 1000
            ),
            _ => format!(
                "raw.?data.orValue(0) % 1009 == {} || raw.?missing.orValue(false) == true",
                i % 1009
            ),
        };
        text.push_str(&format!(
            "  - id: bench_rule_{i}\n    title: Bench rule {i}\n    severity: low\n    cloud_type: mock\n    record_type: {prefix}{}\n    fail: \"{fail}\"\n    description: \"Record {{{{ raw.data }}}} fails rule {i}.\"\n    remediation: {{text: Nothing to do}}\n",
            i % RECORD_TYPES
        ));
    }
    let file = dir.join("bench-rules.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

/// Runs the original cloudmarker's mock audit (its mockcloud -> filestore +
/// mockevent -> filestore, as in its base config) of `records` records
/// writing under `out`, and prints what [`child`] prints: the wall time of
/// the whole `python -m cloudmarker -n` (interpreter start included), the
/// largest peak RSS of its processes, the CPU time of all of them.
fn upstream_child(records: u64, out: &Path) {
    let python = std::env::var_os(UPSTREAM_PYTHON).expect("the upstream venv's Python");
    let dir = tempfile::tempdir_in(out).expect("temp dir");
    let config_file = dir.path().join("upstream.yaml");
    let out_dir = dir.path().join("out");
    std::fs::write(
        &config_file,
        format!(
            "plugins:\n  mockcloud:\n    params: {{record_count: {records}}}\n  filestore:\n    params: {{path: {}}}\nlogger:\n  handlers:\n    file:\n      filename: {}\n",
            out_dir.display(),
            dir.path().join("cloudmarker.log").display(),
        ),
    )
    .unwrap();
    let started = Instant::now();
    let output = Command::new(python)
        .args(["-m", "cloudmarker", "-n", "-c"])
        .arg(&config_file)
        .current_dir(dir.path())
        .output()
        .expect("run the original cloudmarker");
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Each record of its JSON array has one `"raw":` line.
    let cloud_output = out_dir.join("mockaudit_mockcloud.json");
    let text = std::fs::File::open(&cloud_output).expect("the original's output");
    let written = std::io::BufRead::lines(std::io::BufReader::new(text))
        .map_while(Result::ok)
        .filter(|line| line.trim_start().starts_with("\"raw\":"))
        .count() as u64;
    assert_eq!(written, records, "{}", cloud_output.display());
    println!(
        "{seconds} {} {cpu} {}",
        children_peak_rss_kb() as f64 / 1024.0,
        dir_bytes(&out_dir)
    );
}

/// User plus system CPU seconds of this process so far, and of its ended
/// children (the isolated mode's plugin processes, the original's
/// interpreter and its workers).
fn cpu_seconds() -> f64 {
    rusage::cpu_seconds(&rusage::of(libc::RUSAGE_SELF))
        + rusage::cpu_seconds(&rusage::of(libc::RUSAGE_CHILDREN))
}

/// The bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
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

/// The largest peak RSS of the ended child processes (and theirs), in kB.
fn children_peak_rss_kb() -> u64 {
    u64::try_from(rusage::of(libc::RUSAGE_CHILDREN).ru_maxrss).unwrap_or(0)
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
