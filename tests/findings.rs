//! Findings across runs: the state database, statuses, what each alert
//! receives, mutes, severity overrides and the `findings` command, over
//! changing mock inventories (mockevent raises one event per multiple of 3
//! that mockcloud reads: 0, 3, 6, 9 of ten records).

mod common;

use common::{Run, Sandbox};
use serde_json::Value;
use std::collections::BTreeMap;

/// A config with the mock audit reading `records` records, the base
/// filestore as an alert (every event) and `changes`, a filestore alert
/// with `notify: [new, regressed, resolved]` writing to `changes/`; `extra`
/// is appended (top-level keys).
fn config(sb: &Sandbox, records: u64, extra: &str) {
    sb.file(
        "findings.yaml",
        &format!(
            "plugins:\n  mockcloud:\n    params:\n      record_count: {records}\n  changes:\n    plugin: filestore\n    notify: [new, regressed, resolved]\n    params:\n      path: {}\naudits:\n  mockaudit:\n    alerts: [filestore, changes]\n{extra}",
            sb.path().join("changes").display()
        ),
    );
}

/// Runs the audit with a fresh `changes/` directory.
fn run(sb: &Sandbox) -> Run {
    let _ = std::fs::remove_dir_all(sb.path().join("changes"));
    let run = sb.run_now(&["findings.yaml"]);
    run.assert_status(0);
    run
}

/// `mock data -> status` of the events in `file` (none when absent; an
/// event without a status says `none`).
fn statuses(path: &std::path::Path) -> BTreeMap<i64, String> {
    common::records_at(path)
        .iter()
        .map(|e| {
            (
                e["ext"]["data"].as_i64().unwrap(),
                e["com"]["status"].as_str().unwrap_or("none").to_string(),
            )
        })
        .collect()
}

fn every_event(sb: &Sandbox) -> BTreeMap<i64, String> {
    statuses(&sb.out().join("mockaudit_mockevent.json"))
}

fn changes(sb: &Sandbox) -> BTreeMap<i64, String> {
    statuses(&sb.path().join("changes/mockaudit_mockevent.json"))
}

fn map(entries: &[(i64, &str)]) -> BTreeMap<i64, String> {
    entries.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

#[test]
fn findings_are_new_then_open_then_resolved_then_regressed() {
    let sb = Sandbox::new();
    config(&sb, 10, "");
    run(&sb);
    let new = map(&[(0, "new"), (3, "new"), (6, "new"), (9, "new")]);
    assert_eq!(every_event(&sb), new);
    assert_eq!(changes(&sb), new);
    let first: Value = sb.read_json("mockaudit_mockevent.json");
    let id_of_6 = first[2]["com"]["finding_id"].as_str().unwrap().to_string();
    assert_eq!(first[2]["com"]["occurrences"], 1);
    assert_eq!(first[2]["com"]["severity"], "medium");

    // The same inventory: the findings stay open; nothing changed.
    run(&sb);
    assert_eq!(
        every_event(&sb),
        map(&[(0, "open"), (3, "open"), (6, "open"), (9, "open")])
    );
    assert_eq!(changes(&sb), map(&[]), "no change, no alert");
    let second: Value = sb.read_json("mockaudit_mockevent.json");
    assert_eq!(second[2]["com"]["finding_id"], id_of_6.as_str(), "stable");
    assert_eq!(second[2]["com"]["occurrences"], 2);
    assert_eq!(
        second[2]["com"]["first_seen"],
        first[2]["com"]["first_seen"]
    );

    // Five records: 6 and 9 are gone, resolved once.
    config(&sb, 5, "");
    run(&sb);
    assert_eq!(
        every_event(&sb),
        map(&[(0, "open"), (3, "open"), (6, "resolved"), (9, "resolved")])
    );
    assert_eq!(changes(&sb), map(&[(6, "resolved"), (9, "resolved")]));
    run(&sb);
    assert_eq!(changes(&sb), map(&[]), "resolved once");

    // Back: regressed.
    config(&sb, 10, "");
    run(&sb);
    assert_eq!(changes(&sb), map(&[(6, "regressed"), (9, "regressed")]));

    let findings = sb.run(&["findings", "--status", "regressed", "-c", "sandbox.yaml"]);
    assert_eq!(findings.status, Some(0), "{}", findings.output());
    assert_eq!(findings.stdout.lines().count(), 3, "{}", findings.stdout);
    assert!(
        findings.stdout.starts_with("finding_id"),
        "{}",
        findings.stdout
    );
    assert!(findings.stdout.contains(&id_of_6), "{}", findings.stdout);

    let json = sb.run(&["findings", "--format", "json", "-c", "sandbox.yaml"]);
    let listed: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 4);
    let six = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["finding_id"] == id_of_6.as_str())
        .unwrap();
    assert_eq!(six["status"], "regressed");
    assert_eq!(six["occurrences"], 3, "seen in three of the runs");

    let csv = sb.run(&[
        "findings",
        "--format",
        "csv",
        "--severity",
        "medium",
        "-c",
        "sandbox.yaml",
    ]);
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "finding_id,status,severity,audit,record_type,reference,first_seen,last_seen,occurrences"
    );
    assert_eq!(lines.len(), 5, "{}", csv.stdout);
    let none = sb.run(&["findings", "--severity", "critical", "-c", "sandbox.yaml"]);
    assert_eq!(none.stdout, "No findings.\n");

    let show = sb.run(&["findings", "show", &id_of_6, "-c", "sandbox.yaml"]);
    assert_eq!(show.status, Some(0), "{}", show.output());
    let statuses: Vec<&str> = show
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|w| ["new", "open", "resolved", "regressed"].contains(w))
        .collect();
    // Its status line, then one line per run: new, open, resolved, (the
    // fourth run did not see it), regressed.
    assert_eq!(
        statuses,
        ["regressed", "new", "open", "resolved", "regressed"],
        "{}",
        show.stdout
    );
    let missing = sb.run(&["findings", "show", "0123", "-c", "sandbox.yaml"]);
    assert_eq!(missing.status, Some(1));
    missing.assert_says("no finding 0123 in ");
}

#[test]
fn a_run_whose_cloud_fails_resolves_nothing() {
    let sb = Sandbox::new();
    config(&sb, 10, "");
    run(&sb);
    // A failing cloud joins the audit (a second config file adds it).
    sb.file(
        "broken.yaml",
        "plugins:\n  broken:\n    plugin: faultycloud\n    params: {fail_in: read}\naudits:\n  mockaudit:\n    clouds: [mockcloud, broken]\n",
    );
    config(&sb, 5, "");
    let _ = std::fs::remove_dir_all(sb.path().join("changes"));
    let failed = sb.run_now(&["findings.yaml", "broken.yaml"]);
    assert_eq!(failed.status, Some(1), "{}", failed.output());
    failed.assert_says("The collection was not complete: no finding is resolved in this run.");
    assert_eq!(changes(&sb), map(&[]));
    assert_eq!(every_event(&sb), map(&[(0, "open"), (3, "open")]));
    let resolved = sb.run(&["findings", "--status", "resolved", "-c", "sandbox.yaml"]);
    assert_eq!(resolved.stdout, "No findings.\n");
    // 6 and 9, not seen by this run, keep the status of the last run that saw them.
    let new = sb.run(&["findings", "--status", "new", "-c", "sandbox.yaml"]);
    assert_eq!(new.stdout.lines().count(), 3, "{}", new.stdout);
}

#[test]
fn with_state_disabled_every_alert_gets_every_event_and_nothing_is_kept() {
    let sb = Sandbox::new();
    config(&sb, 10, "state:\n  enabled: false\n");
    for _ in 0..2 {
        let run = run(&sb);
        for unsaid in [
            "Recorded the findings",
            "findings database",
            "finding is resolved",
        ] {
            assert!(!run.output().contains(unsaid), "{}", run.output());
        }
        // No status, and the plugin that asked for changes gets them all.
        let expected = map(&[(0, "none"), (3, "none"), (6, "none"), (9, "none")]);
        assert_eq!(every_event(&sb), expected);
        assert_eq!(changes(&sb), expected);
    }
    assert!(!sb
        .path()
        .join(".local/state/cloudmarker/findings.db")
        .exists());
}

#[test]
fn two_runs_at_once_share_one_state_database() {
    let sb = Sandbox::new();
    sb.file(
        "two.yaml",
        "plugins:\n  other:\n    plugin: mockcloud\n    params: {record_count: 7}\naudits:\n  otheraudit:\n    clouds: [other]\n    events: [mockevent]\n    alerts: [filestore]\n",
    );
    let mut children = Vec::new();
    for run in ["mockaudit", "otheraudit"] {
        // Each run writes its own files (filestore locks its directory).
        sb.file(
            &format!("{run}.yaml"),
            &format!(
                "run: [{run}]\nplugins:\n  filestore:\n    params:\n      path: {}\n",
                sb.path().join(run).display()
            ),
        );
        children.push(sb.spawn(&[
            "-n",
            "-c",
            "sandbox.yaml",
            "two.yaml",
            &format!("{run}.yaml"),
        ]));
    }
    for mut child in children {
        assert_eq!(child.wait().unwrap().code(), Some(0));
    }
    let listed = sb.run(&["findings", "--format", "json", "-c", "sandbox.yaml"]);
    let listed: Value = serde_json::from_str(&listed.stdout).unwrap();
    let mut audits: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["audit"].as_str().unwrap())
        .collect();
    audits.sort();
    // mockaudit: 0, 3, 6, 9 of ten; otheraudit: 0, 3, 6 of seven.
    assert_eq!(
        audits,
        [
            "mockaudit",
            "mockaudit",
            "mockaudit",
            "mockaudit",
            "otheraudit",
            "otheraudit",
            "otheraudit"
        ]
    );
}

#[test]
fn a_mute_holds_back_its_findings_until_it_expires() {
    let sb = Sandbox::new();
    let today = chrono::Local::now().date_naive();
    let mute = |expires: chrono::NaiveDate| {
        format!("mutes:\n  - match: {{record_type: mock_event, reference: \"*\"}}\n    reason: accepted until the mock is fixed\n    owner: platform-team\n    expires: {expires}\n")
    };
    // The mute's reference glob matches every reference, even none.
    config(&sb, 10, &mute(today + chrono::Days::new(1)));
    run(&sb);
    assert_eq!(changes(&sb), map(&[]), "muted: no alert");
    let stored = sb.read_json("mockaudit_mockevent.json");
    assert_eq!(stored.as_array().unwrap().len(), 4, "still recorded");
    assert_eq!(stored[0]["com"]["muted"]["owner"], "platform-team");
    assert_eq!(
        stored[0]["com"]["muted"]["reason"],
        "accepted until the mock is fixed"
    );

    // Expired yesterday: a warning, and the findings alert again.
    config(&sb, 10, &mute(today - chrono::Days::new(1)));
    let run = run(&sb);
    run.assert_says("The mute of mutes[0] (accepted until the mock is fixed) expired on");
    assert_eq!(
        changes(&sb),
        map(&[(0, "open"), (3, "open"), (6, "open"), (9, "open")])
    );
    assert!(sb.read_json("mockaudit_mockevent.json")[0]["com"]
        .get("muted")
        .is_none());
}

#[test]
fn a_mute_needs_a_reason_and_an_expiry() {
    let sb = Sandbox::new();
    config(
        &sb,
        10,
        "mutes:\n  - match: {record_type: mock_event}\n    owner: me\n",
    );
    let run = sb.run_now(&["findings.yaml"]);
    run.assert_status(2);
    run.assert_says("findings.yaml");
    run.assert_says("mutes");
    run.assert_says("missing field `reason`");
    config(
        &sb,
        10,
        "mutes:\n  - match: {}\n    reason: \" \"\n    expires: 2030-01-01\n",
    );
    let run = sb.run_now(&["findings.yaml"]);
    run.assert_status(2);
    run.assert_says("mutes.0.reason: must say why the findings are muted");
    run.assert_says("mutes.0.match: names no field");
}

#[test]
fn severity_on_a_plugin_entry_overrides_its_events() {
    let sb = Sandbox::new();
    config(&sb, 10, "");
    let text = std::fs::read_to_string(sb.path().join("findings.yaml")).unwrap();
    sb.file(
        "findings.yaml",
        &text.replace(
            "plugins:\n",
            "plugins:\n  mockevent:\n    severity: critical\n",
        ),
    );
    run(&sb);
    let events = sb.read_json("mockaudit_mockevent.json");
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["com"]["severity"] == "critical"));
    let listed = sb.run(&["findings", "--severity", "critical", "-c", "sandbox.yaml"]);
    assert_eq!(listed.stdout.lines().count(), 5, "{}", listed.stdout);
}

#[test]
fn a_saved_inventory_is_evaluated_again_without_a_cloud() {
    let sb = Sandbox::new();
    config(&sb, 10, "");
    run(&sb);
    let saved = sb.out().join("mockaudit_mockcloud.json");
    assert!(saved.exists());
    // Upstream Cloudmarker's filestore writes indented records.
    let upstream = sb.file(
        "upstream.json",
        "[\n  {\n    \"raw\": {\"data\": 12},\n    \"ext\": {\"cloud_type\": \"mock\", \"record_type\": \"foo\"},\n    \"com\": {\"record_type\": \"mock\", \"origin_worker\": \"mockaudit_mockcloud\"}\n  },\n  {\"com\": {\"record_type\": \"end_audit\"}}\n]\n",
    );
    sb.file(
        "again.yaml",
        &format!(
            "plugins:\n  saved:\n    plugin: filecloud\n    params: {{path: {}}}\n  upstream:\n    plugin: filecloud\n    params: {{path: {}}}\n  again:\n    plugin: filestore\n    params: {{path: {}}}\naudits:\n  againaudit:\n    clouds: [saved, upstream]\n    events: [mockevent]\n    alerts: [again]\nrun: [againaudit]\n",
            saved.display(),
            upstream.display(),
            sb.path().join("again").display()
        ),
    );
    let run = sb.run_now(&["again.yaml"]);
    run.assert_status(0);
    run.assert_says("Read 10 record(s) from");
    run.assert_says("Read 1 record(s) from");
    run.assert_says("(left out 1 marker(s) and event(s))");
    let events: Value = serde_json::from_str(
        &std::fs::read_to_string(sb.path().join("again/againaudit_mockevent.json")).unwrap(),
    )
    .unwrap();
    let mut data: Vec<i64> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ext"]["data"].as_i64().unwrap())
        .collect();
    data.sort();
    assert_eq!(data, [0, 3, 6, 9, 12], "both clouds run at once");

    sb.file("broken.json", "[{\"com\": {}}, ");
    sb.file(
        "broken.yaml",
        &format!(
            "plugins:\n  saved:\n    plugin: filecloud\n    params: {{path: {}}}\naudits:\n  againaudit:\n    clouds: [saved]\n    events: []\n    alerts: []\nrun: [againaudit]\n",
            sb.path().join("broken.json").display()
        ),
    );
    let run = sb.run_now(&["broken.yaml"]);
    run.assert_status(1);
    run.assert_says("broken.json is not a filestore JSON array of records");
}

/// An open SSH rule of subscription `subscription` (a firewall_rule record).
fn open_rule(subscription: &str) -> Value {
    serde_json::json!({
        "ext": {"cloud_type": "azure", "record_type": "security_rule", "subscription_id": subscription},
        "com": {"cloud_type": "azure", "record_type": "firewall_rule",
                "reference": format!("/subscriptions/{subscription}/nsg/ssh"), "enabled": true,
                "direction": "in", "access": "allow", "protocol": "tcp",
                "source_addresses": ["0.0.0.0/0"], "destination_ports": ["22"]}
    })
}

/// A collection summary of `subscription`.
fn summary(subscription: &str, complete: bool) -> Value {
    serde_json::json!({
        "ext": {"cloud_type": "azure", "record_type": "collection_summary", "subscription_id": subscription, "complete": complete},
        "com": {"cloud_type": "azure", "record_type": "collection_summary"}
    })
}

#[test]
fn a_partial_collection_resolves_only_in_subscriptions_read_completely() {
    let sb = Sandbox::new();
    let write = |records: Value, problem: &str| {
        let path = sb.file("records.json", &records.to_string());
        sb.file(
            "rules.yaml",
            &format!(
                "plugins:\n  rules:\n    plugin: jsoncloud\n    params: {{path: {}{problem}}}\naudits:\n  ruleaudit:\n    clouds: [rules]\n    events: [firewallruleevent]\n    alerts: [filestore]\nrun: [ruleaudit]\n",
                path.display()
            ),
        );
    };
    write(
        serde_json::json!([
            open_rule("s1"),
            open_rule("s2"),
            summary("s1", true),
            summary("s2", true)
        ]),
        "",
    );
    assert_eq!(sb.run_now(&["rules.yaml"]).status, Some(0));
    // Both rules closed; s2 could not be read completely this time.
    write(
        serde_json::json!([summary("s1", true), summary("s2", false)]),
        ", problem: \"s2: network security groups could not be listed\"",
    );
    let run = sb.run_now(&["rules.yaml"]);
    run.assert_status(1);
    run.assert_says(
        "only the findings of subscriptions, projects and accounts read completely can be resolved",
    );
    let events = sb.read_json("ruleaudit_firewallruleevent.json");
    let resolved: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ext"]["subscription_id"].as_str().unwrap())
        .collect();
    assert_eq!(resolved, ["s1"], "s2's finding stays open");
    assert_eq!(events[0]["com"]["status"], "resolved");
    let open = sb.run(&[
        "findings",
        "--status",
        "new",
        "--format",
        "json",
        "-c",
        "sandbox.yaml",
    ]);
    let open: Value = serde_json::from_str(&open.stdout).unwrap();
    assert_eq!(open.as_array().unwrap().len(), 1);
    assert_eq!(open[0]["reference"], "/subscriptions/s2/nsg/ssh");
}

#[test]
fn a_link_planted_at_the_state_path_is_refused_and_not_followed() {
    let sb = Sandbox::new();
    let state = sb.path().join(".local/state/cloudmarker");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(sb.path().join(".local"), {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(0o700)
    })
    .unwrap();
    let target = sb.path().join("victim.db");
    // Dangling: SQLite would create the database at the target.
    std::os::unix::fs::symlink(&target, state.join("findings.db")).unwrap();
    config(&sb, 10, "");
    let run = sb.run_now(&["findings.yaml"]);
    run.assert_status(1);
    let said = format!(
        "{} is a symbolic link (planted?); refusing to follow it",
        state.join("findings.db").display()
    );
    assert!(sb.log().contains(&said), "{said:?} in {}", sb.log());
    assert!(!target.exists(), "nothing created at the link's target");
    let findings = sb.run(&["findings", "-c", "sandbox.yaml"]);
    findings.assert_status(1);
    assert!(findings.stderr.contains(&said), "{}", findings.output());
    assert!(!target.exists());
}

#[test]
fn the_state_directory_is_private_and_the_history_lives_in_it_by_default() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    // The sandbox's history.path removed: the default applies.
    sb.file(
        "sandbox.yaml",
        &format!(
            "plugins:\n  filestore:\n    params:\n      path: {}\nlogger:\n  handlers:\n    file:\n      filename: {}\n",
            sb.out().display(),
            sb.log_path().display()
        ),
    );
    config(&sb, 10, "");
    let run = sb.run_with_umask(0o022, &["-n", "-c", "sandbox.yaml", "findings.yaml"]);
    run.assert_status(0);
    let state = sb.path().join(".local/state/cloudmarker");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&sb.path().join(".local/state")), 0o700);
    assert_eq!(mode(&state.join("findings.db")), 0o600);
    let history = common::json_lines(&state.join("history.jsonl"));
    assert_eq!(history.len(), 1);
    assert_eq!(mode(&state.join("history.jsonl")), 0o600);
    let listed = sb.run(&["history", "-c", "sandbox.yaml"]);
    listed.assert_status(0);
    assert_eq!(listed.stdout.lines().count(), 2, "{}", listed.stdout);
}

#[test]
fn a_state_of_a_newer_schema_version_is_refused_with_exit_2() {
    let sb = Sandbox::new();
    config(&sb, 10, "");
    run(&sb);
    let path = sb.path().join(".local/state/cloudmarker/findings.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    let version: u32 = db
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert!(version >= 1);
    db.execute("UPDATE schema_version SET version = 999", [])
        .unwrap();
    drop(db);
    let said = format!(
        "findings database {}: its schema is version 999, newer than this cloudmarker knows (version {version})",
        path.display()
    );
    let refused = sb.run_now(&["findings.yaml"]);
    refused.assert_status(2);
    assert!(refused.stderr.contains(&said), "{}", refused.output());
    assert_eq!(
        sb.log().matches("Recorded the findings").count(),
        1,
        "the refused run ran nothing: {}",
        sb.log()
    );
    for args in [
        &["findings", "-c", "sandbox.yaml"][..],
        &[
            "compliance",
            "--framework",
            "cis_azure_6.0.0",
            "-c",
            "sandbox.yaml",
        ][..],
    ] {
        let listed = sb.run(args);
        listed.assert_status(2);
        assert!(listed.stderr.contains(&said), "{}", listed.output());
    }
}
