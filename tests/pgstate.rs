//! The findings state in PostgreSQL (`state: {url: ...}`): the lifecycle
//! the SQLite tests check, shards writing into one database at once, the
//! schema version, and the password kept out of every message. A real
//! server (Debian's binaries, started per test on a free port, with TLS
//! verified against a throwaway CA); without the binaries each test says
//! SKIPPED and passes.

mod common;

use common::pg::{self, Postgres};
use common::python::{self, CloudServer};
use common::{Run, Sandbox};
use serde_json::Value;
use std::collections::BTreeMap;

/// The sandbox's settings without `history.path` (the history is the
/// state's), and the state in `server`.
fn sandbox(server: &Postgres) -> Sandbox {
    let sb = Sandbox::new();
    // The CA in the sandbox, so that it outlives a server a test stops.
    let ca = sb.path().join("ca.pem");
    std::fs::copy(&server.ca, &ca).unwrap();
    sb.file(
        "sandbox.yaml",
        &format!(
            "plugins:\n  filestore:\n    params:\n      path: {}\nlogger:\n  handlers:\n    file:\n      filename: {}\n{}",
            sb.out().display(),
            sb.log_path().display(),
            server.state_config(&ca)
        ),
    );
    sb
}

fn env() -> [(&'static str, &'static str); 1] {
    [("PGPASSWORD", pg::PASSWORD)]
}

fn cloudmarker(sb: &Sandbox, args: &[&str]) -> Run {
    let run = sb.run_with(args, &env());
    assert!(
        !run.output().contains(pg::PASSWORD) && !sb.log().contains(pg::PASSWORD),
        "the password never shows: {}",
        run.output()
    );
    run
}

/// The mock audit reading `records` records (events for 0, 3, 6, 9).
fn mock_run(sb: &Sandbox, records: u64) -> Run {
    sb.file(
        "mock.yaml",
        &format!("plugins:\n  mockcloud:\n    params:\n      record_count: {records}\n"),
    );
    let run = cloudmarker(sb, &["-n", "-c", "sandbox.yaml", "mock.yaml"]);
    run.assert_status(0);
    run
}

/// `mock data -> status` of the last run's events.
fn statuses(sb: &Sandbox) -> BTreeMap<i64, String> {
    common::records_at(&sb.out().join("mockaudit_mockevent.json"))
        .iter()
        .map(|e| {
            (
                e["ext"]["data"].as_i64().unwrap(),
                e["com"]["status"].as_str().unwrap_or("none").to_string(),
            )
        })
        .collect()
}

fn map(entries: &[(i64, &str)]) -> BTreeMap<i64, String> {
    entries.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

/// `finding_id -> (audit, status, occurrences)` of `findings --format json`.
fn listed(sb: &Sandbox, config: &[&str]) -> BTreeMap<String, (String, String, u64)> {
    let mut args = vec!["findings", "--format", "json", "-c"];
    args.extend_from_slice(config);
    let run = cloudmarker(sb, &args);
    run.assert_status(0);
    let listed: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.output()));
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["finding_id"].as_str().unwrap().to_string(),
                (
                    f["audit"].as_str().unwrap().to_string(),
                    f["status"].as_str().unwrap().to_string(),
                    f["occurrences"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

#[test]
fn findings_live_new_open_resolved_regressed_in_postgresql() {
    if !pg::available() {
        return;
    }
    let server = Postgres::start();
    let sb = sandbox(&server);
    mock_run(&sb, 10);
    assert_eq!(
        statuses(&sb),
        map(&[(0, "new"), (3, "new"), (6, "new"), (9, "new")])
    );
    assert!(
        !sb.path()
            .join(".local/state/cloudmarker/findings.db")
            .exists(),
        "no SQLite file beside a PostgreSQL state"
    );
    mock_run(&sb, 10);
    assert_eq!(
        statuses(&sb),
        map(&[(0, "open"), (3, "open"), (6, "open"), (9, "open")])
    );
    mock_run(&sb, 5);
    assert_eq!(
        statuses(&sb),
        map(&[(0, "open"), (3, "open"), (6, "resolved"), (9, "resolved")])
    );
    mock_run(&sb, 10);
    assert_eq!(
        statuses(&sb),
        map(&[(0, "open"), (3, "open"), (6, "regressed"), (9, "regressed")])
    );
    let findings = listed(&sb, &["sandbox.yaml"]);
    assert_eq!(findings.len(), 4);
    let regressed: Vec<&String> = findings
        .iter()
        .filter(|(_, (_, status, _))| status == "regressed")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(regressed.len(), 2);
    let show = cloudmarker(
        &sb,
        &["findings", "show", regressed[0], "-c", "sandbox.yaml"],
    );
    show.assert_status(0);
    let statuses_shown: Vec<&str> = show
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|w| ["new", "resolved", "regressed"].contains(w))
        .collect();
    assert_eq!(
        statuses_shown,
        ["regressed", "new", "resolved", "regressed"],
        "{}",
        show.stdout
    );
    // The history is the state's: four runs.
    let history = cloudmarker(&sb, &["history", "-c", "sandbox.yaml"]);
    history.assert_status(0);
    assert_eq!(history.stdout.lines().count(), 5, "{}", history.stdout);
    assert_eq!(server.psql("cloudmarker", "SELECT count(*) FROM runs"), "4");
    assert_eq!(
        server.psql("cloudmarker", "SELECT version FROM schema_version"),
        "2"
    );
    // The HTML report reads the PostgreSQL state: its open findings and its
    // trend over the four runs are those of the state.
    let report = cloudmarker(&sb, &["report", "-o", "report.html", "-c", "sandbox.yaml"]);
    report.assert_status(0);
    let page = std::fs::read_to_string(sb.path().join("report.html")).unwrap();
    let start = r#"<script type="application/json" id="report-data">"#;
    let from = page.find(start).expect("the JSON island") + start.len();
    let to = from + page[from..].find("</script>").unwrap();
    let data: serde_json::Value = serde_json::from_str(&page[from..to]).unwrap();
    assert_eq!(data["summary"]["open_total"], 4, "{}", data["summary"]);
    assert_eq!(
        data["trend"].as_array().map(Vec::len),
        Some(4),
        "{}",
        data["trend"]
    );
}

#[test]
fn a_newer_schema_is_refused_and_a_wrong_password_is_never_shown() {
    if !pg::available() {
        return;
    }
    let server = Postgres::start();
    let sb = sandbox(&server);
    mock_run(&sb, 10);
    // A wrong password: exit 1, the host named, the password nowhere.
    let wrong = "Wrong-pass-4d2e";
    let run = sb.run_with(
        &["-n", "-c", "sandbox.yaml", "mock.yaml"],
        &[("PGPASSWORD", wrong)],
    );
    run.assert_status(1);
    let log = sb.log();
    assert!(
        log.contains(&format!(
            "findings database postgres://cloudmarker@localhost:{}/cloudmarker: cannot connect",
            server.port
        )),
        "{log}"
    );
    assert!(log.contains("password authentication failed"), "{log}");
    assert!(
        !log.contains(wrong) && !run.output().contains(wrong),
        "{log}"
    );
    let listed = sb.run_with(
        &["findings", "-c", "sandbox.yaml"],
        &[("PGPASSWORD", wrong)],
    );
    listed.assert_status(1);
    assert!(
        listed.stderr.contains("password authentication failed"),
        "{}",
        listed.output()
    );
    assert!(!listed.output().contains(wrong));

    server.psql("cloudmarker", "UPDATE schema_version SET version = 999");
    let run = cloudmarker(&sb, &["-n", "-c", "sandbox.yaml", "mock.yaml"]);
    run.assert_status(2);
    let said = format!("findings database postgres://cloudmarker@localhost:{}/cloudmarker: its schema is version 999, newer than this cloudmarker knows (version 2)", server.port);
    assert!(run.stderr.contains(&said), "{}", run.output());
    let run = cloudmarker(&sb, &["findings", "-c", "sandbox.yaml"]);
    run.assert_status(2);
    assert!(run.stderr.contains(&said), "{}", run.output());
}

#[test]
fn an_unreachable_server_fails_the_run_in_bounded_time() {
    if !pg::available() {
        return;
    }
    let server = Postgres::start();
    let sb = sandbox(&server);
    drop(server);
    sb.file(
        "mock.yaml",
        "plugins:\n  mockcloud:\n    params:\n      record_count: 10\n",
    );
    let started = std::time::Instant::now();
    let run = cloudmarker(&sb, &["-n", "-c", "sandbox.yaml", "mock.yaml"]);
    run.assert_status(1);
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    assert!(sb.log().contains("cannot connect"), "{}", sb.log());
}

/// Runs the four shards at once into the PostgreSQL state.
fn four_shards_at_once(sb: &Sandbox, cloud: &CloudServer, round: u32) {
    let mut children = Vec::new();
    for index in 0..4 {
        let name = format!("shard{index}.yaml");
        sb.azure_audit(
            cloud,
            &name,
            &sb.path().join(format!("round{round}-shard{index}")),
            &["firewallruleevent", "rulesevent"],
            false,
        );
        let shard = format!("{index}/4");
        let child = std::process::Command::new(common::binary())
            .args(["--plugin-dir", common::plugin_dir().to_str().unwrap()])
            .args(["-n", "--shard", &shard, "-c", "sandbox.yaml", &name])
            .current_dir(sb.path())
            .env("HOME", sb.path())
            .env("PGPASSWORD", pg::PASSWORD)
            .env_remove("RUST_LOG")
            .env_remove("XDG_STATE_HOME")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        children.push(child);
    }
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn four_shards_at_once_give_the_findings_of_one_unsharded_run() {
    if !pg::available() {
        return;
    }
    let server = Postgres::start();
    let sb = sandbox(&server);
    let log = sb.path().join("requests.jsonl");
    let cloud = python::cloud_server(
        &log,
        &["--subscriptions", "40", "--subscriptions-per-page", "7"],
    );
    // The unsharded reference: the same audit into a SQLite state.
    sb.file(
        "sqlite.yaml",
        &format!(
            "plugins:\n  filestore:\n    params:\n      path: {}\nstate:\n  path: {}\n",
            sb.path().join("whole").display(),
            sb.path().join("whole.db").display()
        ),
    );
    sb.azure_audit(
        &cloud,
        "whole.yaml",
        &sb.path().join("whole"),
        &["firewallruleevent", "rulesevent"],
        false,
    );
    let whole = sb.run(&["-n", "-c", "whole.yaml", "sqlite.yaml"]);
    whole.assert_status(0);
    let expected = listed(&sb, &["whole.yaml", "sqlite.yaml"]);
    assert!(expected.len() >= 2, "{}", expected.len());
    eprintln!("{} findings in the 40-subscription estate", expected.len());

    four_shards_at_once(&sb, &cloud, 1);
    assert_eq!(listed(&sb, &["sandbox.yaml"]), expected, "nothing lost");
    // The next night: every finding open once more, none resolved by a
    // shard that did not read its subscription.
    four_shards_at_once(&sb, &cloud, 2);
    let again = listed(&sb, &["sandbox.yaml"]);
    assert_eq!(again.len(), expected.len());
    for (id, (_, status, occurrences)) in &again {
        assert_eq!((status.as_str(), *occurrences), ("open", 2), "{id}");
    }
    // Shard 0 alone, its collection complete: it resolves none of the
    // other shards' findings (it did not read their subscriptions; resolving
    // every unseen finding of a complete collection would resolve them all).
    let name = "shard0.yaml";
    sb.azure_audit(
        &cloud,
        name,
        &sb.path().join("round3-shard0"),
        &["firewallruleevent", "rulesevent"],
        false,
    );
    cloudmarker(&sb, &["-n", "--shard", "0/4", "-c", "sandbox.yaml", name]).assert_status(0);
    let after = listed(&sb, &["sandbox.yaml"]);
    assert_eq!(after.len(), expected.len());
    let mut by_occurrences = BTreeMap::new();
    for (id, (_, status, occurrences)) in &after {
        assert_eq!(status, "open", "{id}");
        *by_occurrences.entry(*occurrences).or_insert(0) += 1;
    }
    assert!(
        by_occurrences.contains_key(&2),
        "other shards' findings untouched: {by_occurrences:?}"
    );
    // The history and the compliance report read the whole estate.
    let history = cloudmarker(&sb, &["history", "-c", "sandbox.yaml"]);
    history.assert_status(0);
    for index in 0..4 {
        assert_eq!(
            history
                .stdout
                .matches(&format!(" shard {index}/4 "))
                .count(),
            if index == 0 { 3 } else { 2 },
            "{}",
            history.stdout
        );
    }
    let report = |config: &[&str]| {
        let args = common::compliance_json_args("cis_azure_6.0.0", config);
        let report = cloudmarker(&sb, &args).json();
        report["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].to_string(),
                    r["status"].to_string(),
                    r["open_findings"].to_string() + "/" + &r["evaluated"].to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        report(&["sandbox.yaml"]),
        report(&["whole.yaml", "sqlite.yaml"])
    );
}

#[test]
fn an_export_from_sqlite_imports_into_postgresql_and_exports_the_same() {
    if !pg::available() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let server = Postgres::start();
    let sb = sandbox(&server);
    // SQLite first: the sandbox's settings with a state path instead.
    sb.file("sqlite.yaml", "state:\n  url: null\n  path: sqlite.db\n");
    sb.file(
        "mock.yaml",
        "plugins:\n  mockcloud:\n    params:\n      record_count: 10\n",
    );
    let on_sqlite = ["-c", "sandbox.yaml", "sqlite.yaml"];
    for records in [10, 5] {
        sb.file(
            "mock.yaml",
            &format!("plugins:\n  mockcloud:\n    params:\n      record_count: {records}\n"),
        );
        let mut args = vec!["-n"];
        args.extend_from_slice(&on_sqlite);
        args.push("mock.yaml");
        cloudmarker(&sb, &args).assert_status(0);
    }
    let export = |file: &str, config: &[&str]| {
        let mut args = vec!["state", "export", "-o", file];
        args.extend_from_slice(config);
        let run = cloudmarker(&sb, &args);
        run.assert_status(0);
        (std::fs::read_to_string(sb.path().join(file)).unwrap(), run)
    };
    let (from_sqlite, run) = export("sqlite.jsonl", &on_sqlite);
    run.assert_says("exported 4 finding(s), 8 transition(s), 0 summary(ies), 2 run(s)");
    let mode = std::fs::metadata(sb.path().join("sqlite.jsonl"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        from_sqlite.starts_with("{\"kind\":\"state\",\"format\":1}\n"),
        "{from_sqlite}"
    );
    assert_eq!(
        from_sqlite.matches("\"kind\":\"run\"").count(),
        2,
        "{from_sqlite}"
    );

    let import = cloudmarker(
        &sb,
        &["state", "import", "sqlite.jsonl", "-c", "sandbox.yaml"],
    );
    import.assert_status(0);
    import.assert_says("imported 4 finding(s), 8 transition(s), 0 summary(ies), 2 run(s)");
    assert_eq!(
        export("pg.jsonl", &["-c", "sandbox.yaml"]).0,
        from_sqlite,
        "a round trip"
    );
    assert_eq!(listed(&sb, &["sandbox.yaml"]), listed(&sb, &on_sqlite[1..]));
    // The imported state lives on: 6 and 9 come back as regressed.
    sb.file(
        "mock.yaml",
        "plugins:\n  mockcloud:\n    params:\n      record_count: 10\n",
    );
    cloudmarker(&sb, &["-n", "-c", "sandbox.yaml", "mock.yaml"]).assert_status(0);
    assert_eq!(
        statuses(&sb),
        map(&[(0, "open"), (3, "open"), (6, "regressed"), (9, "regressed")])
    );
    // Into a state that holds findings: refused, nothing written.
    let again = cloudmarker(
        &sb,
        &["state", "import", "sqlite.jsonl", "-c", "sandbox.yaml"],
    );
    again.assert_status(1);
    again.assert_says("import into an empty state");
    // And back: PostgreSQL's export into a new SQLite file.
    export("pg2.jsonl", &["-c", "sandbox.yaml"]);
    sb.file("back.yaml", "state:\n  url: null\n  path: back.db\n");
    let back = cloudmarker(
        &sb,
        &[
            "state",
            "import",
            "pg2.jsonl",
            "-c",
            "sandbox.yaml",
            "back.yaml",
        ],
    );
    back.assert_status(0);
    assert_eq!(
        listed(&sb, &["sandbox.yaml", "back.yaml"]),
        listed(&sb, &["sandbox.yaml"])
    );
}

#[test]
fn a_run_killed_at_its_commit_leaves_all_of_it_or_nothing() {
    if !pg::available() {
        return;
    }
    let server = Postgres::start();
    let sb = sandbox(&server);
    // 30,000 records: 10,000 findings, a commit long enough to be cut.
    sb.file(
        "big.yaml",
        "plugins:\n  mockcloud:\n    params:\n      record_count: 30000\n",
    );
    let mut child = sb.spawn_with(&["-n", "-c", "sandbox.yaml", "big.yaml"], &env());
    // The commit follows the alerts' end.
    sb.wait_for("the alerts to end", 120, |sb| {
        sb.log().contains("Stopped alert worker")
    });
    child.kill().unwrap();
    let _ = child.wait();
    let kept = server.psql("cloudmarker", "SELECT count(*) FROM findings");
    assert!(kept == "0" || kept == "10000", "all or nothing: {kept}");
    eprintln!("killed at its commit: {kept} finding(s) kept");
    let transitions = server.psql("cloudmarker", "SELECT count(*) FROM transitions");
    assert_eq!(transitions, kept, "one transition per finding written");
    // The next run's statuses follow what was kept.
    let run = cloudmarker(&sb, &["-n", "-c", "sandbox.yaml", "big.yaml"]);
    run.assert_status(0);
    let expected = if kept == "0" { "new" } else { "open" };
    let statuses = server.psql(
        "cloudmarker",
        "SELECT status || ':' || count(*) FROM findings GROUP BY status",
    );
    assert_eq!(statuses, format!("{expected}:10000"), "kept {kept}");
}

#[test]
fn a_server_gone_during_a_run_fails_it_and_the_next_run_is_right() {
    if !pg::available() {
        return;
    }
    let server = Postgres::start();
    let sb = sandbox(&server);
    mock_run(&sb, 10);
    // A slow cloud: the server goes away while the run reads.
    sb.file(
        "slow.yaml",
        "plugins:\n  mockcloud:\n    params:\n      record_count: 5\n      delay_ms: 3000\n",
    );
    let mut child = sb.spawn_with(&["-n", "-c", "sandbox.yaml", "slow.yaml"], &env());
    sb.wait_for("the cloud to start", 60, |sb| {
        sb.log().matches("Started cloud worker").count() >= 2
    });
    server.stop();
    let started = std::time::Instant::now();
    let status = common::exit_within(&mut child, 90);
    assert_eq!(status, Some(1), "{}", sb.log());
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    let log = sb.log();
    assert!(
        log.contains("Cannot record this run's findings: findings database postgres://cloudmarker@localhost:"),
        "{log}"
    );
    assert!(!log.contains(pg::PASSWORD));
    // Back: nothing of the cut run was kept; 6 and 9 resolve now.
    server.restart();
    mock_run(&sb, 5);
    assert_eq!(
        statuses(&sb),
        map(&[(0, "open"), (3, "open"), (6, "resolved"), (9, "resolved")])
    );
    let mut occurrences: Vec<u64> = listed(&sb, &["sandbox.yaml"])
        .values()
        .map(|(_, _, n)| *n)
        .collect();
    occurrences.sort();
    assert_eq!(occurrences, [1, 1, 2, 2], "the cut run counted nowhere");
}
