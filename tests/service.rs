//! Running as a service: schedules, `--once`, signals, the grace period and
//! the run history, with the real binary.

mod common;

use common::{exit_within, signal, Sandbox};
use std::time::{Duration, Instant};

/// A config file `sched.yaml` with `yaml` in the sandbox.
fn schedule_config(sb: &Sandbox, yaml: &str) {
    sb.file("sched.yaml", yaml);
}

fn run_count(sb: &Sandbox) -> usize {
    sb.history().len()
}

#[test]
fn a_schedule_every_second_runs_again_and_again() {
    let sb = Sandbox::new();
    schedule_config(&sb, "schedule: \"* * * * * *\"\n");
    let mut child = sb.spawn(&["-c", "sandbox.yaml", "sched.yaml"]);
    sb.wait_for("two scheduled runs", 20, |sb| run_count(sb) >= 2);
    signal(&child, "TERM");
    let status = exit_within(&mut child, 10);
    // The signal may land while idle (0) or during a 10 ms run (143).
    assert!(matches!(status, Some(0) | Some(143)), "{status:?}");

    let runs = sb.history();
    let versions: Vec<&str> = runs
        .iter()
        .map(|r| r["audit_version"].as_str().unwrap())
        .collect();
    assert_ne!(
        versions[0], versions[1],
        "each run has its own audit version"
    );
    assert_eq!(runs[0]["status"], 0);
    assert_eq!(runs[0]["audits"][0]["records_read"], 10);
    let stored = sb.read_json("mockaudit_mockcloud.json");
    let stored_version = stored[0]["com"]["audit_version"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        versions.contains(&stored_version.as_str()),
        "{stored_version} in {versions:?}"
    );
    let log = sb.log();
    assert!(
        log.contains("Running on schedule \"* * * * * *\" (local time)."),
        "{log}"
    );
    assert!(log.matches("Next run at ").count() >= 2, "{log}");
}

#[test]
fn a_slow_run_is_not_overlapped_and_skipped_runs_are_logged() {
    let sb = Sandbox::new();
    schedule_config(
        &sb,
        "schedule: \"* * * * * *\"\nplugins:\n  mockcloud:\n    params: {delay_ms: 1600}\n",
    );
    let mut child = sb.spawn(&["-c", "sandbox.yaml", "sched.yaml"]);
    sb.wait_for("two slow runs", 30, |sb| run_count(sb) >= 2);
    signal(&child, "TERM");
    exit_within(&mut child, 10);

    let runs = sb.history();
    let time = |run: &serde_json::Value, key: &str| {
        chrono::DateTime::parse_from_rfc3339(run[key].as_str().unwrap()).unwrap()
    };
    for pair in runs.windows(2) {
        assert!(
            time(&pair[1], "started") >= time(&pair[0], "ended"),
            "runs overlap: {pair:?}"
        );
    }
    assert!(
        sb.log()
            .contains("Skipped 1 scheduled run(s) that came due while this run was going"),
        "{}",
        sb.log()
    );
}

#[test]
fn once_waits_for_the_schedule_runs_once_and_exits() {
    let sb = Sandbox::new();
    schedule_config(&sb, "schedule: \"* * * * * *\"\n");
    let run = sb.run(&["--once", "-c", "sandbox.yaml", "sched.yaml"]);
    run.assert_status(0);
    assert_eq!(run_count(&sb), 1);
    run.assert_says("Next run at ");
}

#[test]
fn sigterm_while_idle_exits_zero_at_once() {
    let sb = Sandbox::new();
    schedule_config(&sb, "schedule: \"0 0 0 1 1 *\"\ntimezone: UTC\n");
    let mut child = sb.spawn(&["-c", "sandbox.yaml", "sched.yaml"]);
    sb.wait_for("the next run time in the log", 20, |sb| {
        sb.log().contains("Next run at ")
    });
    let sent = Instant::now();
    signal(&child, "TERM");
    assert_eq!(exit_within(&mut child, 10), Some(0));
    assert!(sent.elapsed() < Duration::from_secs(5));
    assert!(
        sb.log().contains("Received SIGTERM while idle; exiting."),
        "{}",
        sb.log()
    );
    assert_eq!(run_count(&sb), 0);
}

#[test]
fn sigterm_during_a_run_flushes_keeps_the_previous_json_and_exits_143() {
    let sb = Sandbox::new();
    assert_eq!(sb.run_now(&[]).status, Some(0));
    let good = std::fs::read_to_string(sb.out().join("mockaudit_mockcloud.json")).unwrap();
    schedule_config(
        &sb,
        "plugins:\n  mockcloud:\n    params: {record_count: 1000000, delay_ms: 100}\n",
    );
    let mut child = sb.spawn(&["-n", "-c", "sandbox.yaml", "sched.yaml"]);
    sb.wait_for("the run to start writing", 30, |sb| {
        sb.temporary("mockaudit_mockcloud").is_some()
    });
    let tmp = sb.temporary("mockaudit_mockcloud").unwrap();
    signal(&child, "TERM");
    assert_eq!(exit_within(&mut child, 30), Some(143));

    let after = std::fs::read_to_string(sb.out().join("mockaudit_mockcloud.json")).unwrap();
    assert_eq!(good, after, "the previous complete output is untouched");
    let partial = std::fs::read_to_string(&tmp).unwrap();
    assert!(
        partial.contains("\"origin_worker\":\"mockaudit_mockcloud\""),
        "what was read was flushed"
    );
    let log = sb.log();
    assert!(log.contains("Received SIGTERM during a run"), "{log}");
    assert!(
        log.contains("Cloud worker stops reading: cloudmarker is shutting down."),
        "{log}"
    );
    assert!(
        log.contains("this output is incomplete, so it stays in "),
        "{log}"
    );
    assert!(
        log.contains("Stopped store worker"),
        "done ran on the store: {log}"
    );
    let runs = sb.history();
    let last = runs.last().unwrap();
    assert_eq!(last["interrupted"], true);
    assert_eq!(last["status"], 143);
}

#[test]
fn a_second_signal_exits_at_once() {
    let sb = Sandbox::new();
    // Each read sleeps 20 s first, so the run cannot wind down soon.
    schedule_config(
        &sb,
        "plugins:\n  mockcloud:\n    params: {delay_ms: 20000}\n",
    );
    let mut child = sb.spawn(&["-n", "-c", "sandbox.yaml", "sched.yaml"]);
    sb.wait_for("the cloud to start", 30, |sb| {
        sb.log().contains("Started cloud worker")
    });
    signal(&child, "TERM");
    sb.wait_for("the first signal to be handled", 10, |sb| {
        sb.log().contains("Received SIGTERM during a run")
    });
    let sent = Instant::now();
    signal(&child, "TERM");
    assert_eq!(exit_within(&mut child, 10), Some(143));
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "took {:?}",
        sent.elapsed()
    );
    assert!(
        sb.log().contains("Received SIGTERM again; exiting now."),
        "{}",
        sb.log()
    );
}

#[test]
fn the_grace_period_bounds_the_wind_down() {
    let sb = Sandbox::new();
    schedule_config(
        &sb,
        "shutdown_grace_period: 1\nplugins:\n  mockcloud:\n    params: {delay_ms: 20000}\n",
    );
    let mut child = sb.spawn(&["-n", "-c", "sandbox.yaml", "sched.yaml"]);
    sb.wait_for("the cloud to start", 30, |sb| {
        sb.log().contains("Started cloud worker")
    });
    let sent = Instant::now();
    signal(&child, "INT");
    assert_eq!(exit_within(&mut child, 15), Some(130));
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "took {waited:?}"
    );
    assert!(
        sb.log()
            .contains("did not wind down within the grace period of 1 s"),
        "{}",
        sb.log()
    );
}

#[test]
fn bad_schedules_and_logger_values_are_config_errors() {
    let sb = Sandbox::new();
    for (yaml, message) in [
        (
            "schedule: \"every day\"\n",
            "sched.yaml:1: schedule: \"every day\" is neither a time of day as HH:MM",
        ),
        (
            "schedule: \"61 * * * *\"\n",
            "sched.yaml:1: schedule: \"61 * * * *\" is not a valid cron expression",
        ),
        (
            "timezone: Mars/Olympus\n",
            "sched.yaml:1: timezone: \"Mars/Olympus\" is not an IANA time zone name",
        ),
        (
            "logger:\n  level: LOUD\n",
            "sched.yaml:2: logger.level: \"LOUD\" is not a log level",
        ),
        (
            "logger:\n  root:\n    handlers: file\n",
            "sched.yaml:3: logger.root.handlers: invalid type: string \"file\", expected a sequence",
        ),
    ] {
        schedule_config(&sb, yaml);
        let run = sb.run(&["-c", "sandbox.yaml", "sched.yaml"]);
        assert_eq!(run.status, Some(2), "{yaml}: {}", run.output());
        run.assert_says(message);
    }
}

#[test]
fn unknown_logger_keys_only_warn() {
    let sb = Sandbox::new();
    schedule_config(&sb, "logger:\n  colour: true\n");
    let run = sb.run_now(&["sched.yaml"]);
    run.assert_status(0);
    run.assert_says("WARN main cloudmarker - Ignoring unknown logger keys: colour.");
}

#[test]
fn history_shows_recent_runs() {
    let sb = Sandbox::new();
    let run = sb.run(&["history", "-c", "sandbox.yaml"]);
    assert_eq!(run.status, Some(0));
    run.assert_says("No runs recorded in ");
    assert_eq!(sb.run_now(&[]).status, Some(0));
    sb.file("bad.yaml", "audits:\n  mockaudit:\n    stores: [filestore, nosuchstore]\nplugins:\n  nosuchstore:\n    plugin: nosuchstore\n");
    assert_eq!(sb.run_now(&["bad.yaml"]).status, Some(1));
    let run = sb.run(&["history", "-c", "sandbox.yaml"]);
    run.assert_status(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(lines[0].starts_with("started"));
    assert!(
        lines[1].contains(" ok ") && lines[1].contains("mockaudit"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("1 failed"), "{}", lines[2]);
    let run = sb.run(&["history", "--limit", "1", "-c", "sandbox.yaml"]);
    assert_eq!(run.stdout.lines().count(), 2);
}

#[test]
fn a_failing_audit_does_not_stop_the_service() {
    let sb = Sandbox::new();
    schedule_config(
        &sb,
        "schedule: \"* * * * * *\"\nplugins:\n  broken:\n    plugin: nosuchplugin\naudits:\n  mockaudit:\n    stores: [filestore, broken]\n",
    );
    let mut child = sb.spawn(&["-c", "sandbox.yaml", "sched.yaml"]);
    sb.wait_for("two failed runs", 20, |sb| run_count(sb) >= 2);
    signal(&child, "TERM");
    exit_within(&mut child, 10);
    let runs = sb.history();
    assert!(runs.iter().take(2).all(|r| r["status"] == 1), "{runs:?}");
    assert_eq!(runs[1]["audits"][0]["failures"], 1);
}
