//! Crash isolation: a plugin with `isolation: process` runs in a child
//! process; whatever its native code does (segfault, abort, stack overflow,
//! an endless loop, unbounded allocation, exit), the host reports it with
//! the plugin, the worker and the call, and the rest of the audit finishes.

mod common;

use common::{exit_within, signal, Sandbox};
use std::time::Duration;

/// The mock audit with an extra plugin `bad` (a faulty cloud or sink) with
/// `params` and `entry` (more keys of its plugin entry, e.g. limits).
fn config(sb: &Sandbox, role: &str, params: &str, entry: &str) {
    let (plugin, list) = match role {
        "cloud" => ("faultycloud", "clouds: [mockcloud, bad]"),
        _ => ("faultysink", "stores: [filestore, bad]"),
    };
    sb.file(
        "bad.yaml",
        &format!(
            "plugins:\n  bad:\n    plugin: {plugin}\n    isolation: process\n    params: {params}\n{entry}audits:\n  mockaudit:\n    {list}\n"
        ),
    );
}

/// The healthy plugins of the mock audit did all their work: mockevent
/// raised its 4 events on mockcloud's records, and `extra_events` on the
/// faulty cloud's.
fn assert_mock_audit_complete(sb: &Sandbox, extra_events: usize) {
    let count = |name: &str| sb.read_json(name).as_array().unwrap().len();
    assert_eq!(count("mockaudit_mockcloud.json"), 10);
    assert_eq!(count("mockaudit_mockevent.json"), 4 + extra_events);
}

/// Runs the audit; it must end within `seconds` with exit status 1.
fn run_failing(sb: &Sandbox, seconds: u64) -> common::Run {
    let started = std::time::Instant::now();
    let run = sb.run_now(&["bad.yaml"]);
    assert!(
        started.elapsed() < Duration::from_secs(seconds),
        "took {:?}: {}",
        started.elapsed(),
        run.output()
    );
    run.assert_status(1);
    run
}

#[test]
fn each_way_of_crashing_is_contained_and_reported() {
    for (how, said) in [
        (
            "segv",
            "was killed by signal 11 (SIGSEGV, a segmentation fault) in read",
        ),
        (
            "abort",
            "was killed by signal 6 (SIGABRT, an abort) in read",
        ),
        ("stack", "has overflowed its stack"),
        ("exit", "exited with status 0 in read"),
    ] {
        let sb = Sandbox::new();
        config(
            &sb,
            "cloud",
            &format!("{{records: 3, crash_in: read, crash: {how}}}"),
            "",
        );
        let run = run_failing(&sb, 60);
        run.assert_says("Cloud plugin failed in read, error: plugin faultycloud (worker mockaudit_bad, running in its own process) ");
        run.assert_says(said);
        // Its child's log line reached the host's log under the worker's name.
        run.assert_says(
            "INFO mockaudit_bad faultycloud - faultycloud starts; 3 records before read trips.",
        );
        assert_mock_audit_complete(&sb, 1);
        // What it produced before it crashed is kept aside, not published
        // over a previous good output.
        assert!(!sb.out().join("mockaudit_bad.json").exists());
        let partial = sb
            .temporary("mockaudit_bad")
            .expect("the partial output is kept");
        let partial = std::fs::read_to_string(partial).unwrap();
        assert_eq!(
            partial
                .matches("\"origin_worker\":\"mockaudit_bad\"")
                .count(),
            3
        );
    }
}

#[test]
fn limits_end_a_runaway_plugin() {
    let sb = Sandbox::new();
    config(
        &sb,
        "cloud",
        "{crash_in: read, crash: loop}",
        "    call_timeout: 1\n",
    );
    let run = run_failing(&sb, 30);
    run.assert_says("it exceeded call_timeout (1 s) in read and was killed");
    assert_mock_audit_complete(&sb, 0);

    let sb = Sandbox::new();
    config(
        &sb,
        "cloud",
        "{crash_in: done, crash: loop}",
        "    timeout: 1.5\n",
    );
    let run = run_failing(&sb, 30);
    run.assert_says("it exceeded timeout (1.5 s) in done and was killed");
    assert_mock_audit_complete(&sb, 0);

    let sb = Sandbox::new();
    config(
        &sb,
        "cloud",
        "{crash_in: read, crash: alloc}",
        "    memory_limit: 256MiB\n",
    );
    let run = run_failing(&sb, 60);
    run.assert_says("(worker mockaudit_bad, running in its own process) was killed by signal 6 (SIGABRT, an abort) in read; with memory_limit 256 MiB this is most likely an allocation that failed");
    run.assert_says("memory allocation of");
    assert_mock_audit_complete(&sb, 0);
}

#[test]
fn a_sink_that_crashes_loses_only_its_own_output() {
    for (method, failed_in) in [("new", "construct"), ("write", "write"), ("done", "done")] {
        let sb = Sandbox::new();
        config(
            &sb,
            "sink",
            &format!("{{crash_in: {method}, crash: segv}}"),
            "",
        );
        let run = run_failing(&sb, 60);
        run.assert_says(&format!("Store plugin failed in {failed_in}, error: plugin faultysink (worker mockaudit_bad, running in its own process) was killed by signal 11"));
        run.assert_says("Audit mockaudit finished: 10 records read, 4 events, ");
        assert_mock_audit_complete(&sb, 0);
    }
}

#[test]
fn isolated_plugins_produce_what_in_process_plugins_do() {
    let sb = Sandbox::new();
    let run = sb.run_now(&[]);
    run.assert_status(0);
    let in_process: Vec<serde_json::Value> =
        ["mockaudit_mockcloud.json", "mockaudit_mockevent.json"]
            .iter()
            .map(|f| sb.read_json(f))
            .collect();
    let run = sb.run(&["-n", "-c", "sandbox.yaml", "--isolate-plugins"]);
    run.assert_status(0);
    for plugin in ["mockcloud", "mockevent", "filestore"] {
        run.assert_says(&format!("Started plugin {plugin} in its own process (pid "));
    }
    let isolated: Vec<serde_json::Value> = ["mockaudit_mockcloud.json", "mockaudit_mockevent.json"]
        .iter()
        .map(|f| sb.read_json(f))
        .collect();
    let strip = |records: &serde_json::Value| -> Vec<serde_json::Value> {
        records
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let mut r = r.clone();
                let com = r["com"].as_object_mut().unwrap();
                // The run, and the second run's view of the same findings.
                for key in [
                    "audit_version",
                    "status",
                    "occurrences",
                    "first_seen",
                    "last_seen",
                ] {
                    com.remove(key);
                }
                r
            })
            .collect()
    };
    for (a, b) in in_process.iter().zip(&isolated) {
        assert_eq!(strip(a), strip(b));
    }
}

#[test]
fn sigterm_to_the_host_leaves_no_child_behind() {
    let sb = Sandbox::new();
    sb.file(
        "slow.yaml",
        "plugins:\n  mockcloud:\n    isolation: process\n    params: {record_count: 1000, delay_ms: 100}\n",
    );
    let mut host = sb.spawn(&["-n", "-c", "sandbox.yaml", "slow.yaml"]);
    sb.wait_for("the isolated plugin to start", 30, |sb| {
        sb.log()
            .contains("Started plugin mockcloud in its own process (pid ")
    });
    let log = sb.log();
    let pid: i32 = log
        .split("Started plugin mockcloud in its own process (pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse().ok())
        .expect("the child's pid");
    signal(&host, "TERM");
    assert!(exit_within(&mut host, 60).is_some(), "the host ended");
    let gone = (0..100).any(|_| {
        // SAFETY: signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ");
        if alive {
            std::thread::sleep(Duration::from_millis(50));
        }
        !alive
    });
    assert!(gone, "the isolated plugin's process {pid} is gone");
}

#[test]
fn in_process_a_crash_takes_the_host_down() {
    // What isolation prevents: the same faults in the host's own process
    // end cloudmarker itself, and nothing after them runs.
    for (how, status) in [("segv", None), ("abort", None), ("exit", Some(0))] {
        let sb = Sandbox::new();
        sb.file(
            "bad.yaml",
            &format!("plugins:\n  bad:\n    plugin: faultycloud\n    params: {{records: 3, crash_in: read, crash: {how}}}\naudits:\n  mockaudit:\n    clouds: [mockcloud, bad]\n"),
        );
        let run = sb.run_now(&["bad.yaml"]);
        // A signal (no status), or, for exit(0), a "success" that is a lie.
        assert_eq!(run.status, status, "{how}: {}", run.output());
        assert!(!run.output().contains("Audit mockaudit finished"), "{how}");
        assert!(!sb.out().join("mockaudit_mockcloud.json").exists(), "{how}");
    }
}
