//! `cloudmarker report`: the HTML page over a findings database made by
//! real runs (the `jsoncloud` fixture's records changing between runs:
//! findings new, resolved, regressed; mutes, one expiring; a collection
//! that failed with HTTP 403), its numbers checked in the JSON island and
//! in the HTML text against `findings --format json` and `compliance
//! --format json`; then the page in headless Chromium, and its size and
//! render time at 100,000 open findings.

mod common;

use common::Sandbox;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const NSG: &str =
    "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups/testnsg";
const FRAMEWORK: &str = "cis_azure_6.0.0";

/// An Azure network security rule as azcloud normalises it (as in
/// tests/compliance.rs): `sources` open to `ports`.
fn azure_rule(name: &str, ports: &[&str]) -> Value {
    let id = format!("{NSG}/securityRules/{name}");
    json!({
        "raw": {"name": name, "id": id, "properties": {"protocol": "Tcp", "access": "Allow",
                "direction": "Inbound", "sourceAddressPrefix": "0.0.0.0/0", "destinationPortRanges": ports}},
        "ext": {"cloud_type": "azure", "record_type": "security_rule", "subscription_id": "subid"},
        "com": {"cloud_type": "azure", "record_type": "firewall_rule", "reference": id,
                "enabled": true, "direction": "in", "access": "allow", "protocol": "tcp",
                "source_addresses": ["0.0.0.0/0"], "destination_ports": ports}
    })
}

/// A scope's collection summary: complete, or `failed` one record type.
fn collection(subscription: &str, failed: Option<(&str, &str)>) -> Value {
    let failed = failed.map_or(json!({}), |(k, why)| json!({ k: why }));
    json!({
        "raw": {"subscriptionId": subscription},
        "ext": {"cloud_type": "azure", "record_type": "collection_summary",
                "subscription_id": subscription, "collected": {}, "failed": failed,
                "complete": failed.as_object().unwrap().is_empty()},
        "com": {"cloud_type": "azure", "record_type": "collection_summary",
                "reference": format!("/subscriptions/{subscription}")}
    })
}

/// The records of one run: the rules named, subid read completely, sub2's
/// security rules refused (403).
fn records(rules: &[(&str, &[&str])]) -> Value {
    let mut records: Vec<Value> = rules.iter().map(|(n, p)| azure_rule(n, p)).collect();
    records.push(collection("subid", None));
    records.push(collection(
        "sub2",
        Some(("security_rule", "HTTP 403: AuthorizationFailed")),
    ));
    Value::from(records)
}

/// A sandbox whose audit `cmp` runs firewallruleevent and the bundled
/// firewall rules on the records of `records.json`, with two mutes: one of
/// rule `db` (60 days left) and one of rule `legacy` (5 days left).
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    let path = sb.path().join("records.json");
    let today = chrono::Utc::now().date_naive();
    let day = |n: i64| (today + chrono::Duration::days(n)).to_string();
    sb.cmp_audit(
        &path,
        "  firewall:
    plugin: rulesevent
    params: {include: [\"firewall_*\"]}
",
        &["firewallruleevent", "firewall"],
        &format!(
            "mutes:
  - match: {{reference: \"*/securityRules/db\"}}
    reason: accepted until the migration
    owner: team-db
    expires: {far}
  - match: {{reference: \"*/securityRules/legacy\"}}
    reason: the legacy jump host goes away this month
    expires: {soon}
",
            far = day(60),
            soon = day(5),
        ),
    );
    sb
}

fn run_with(sb: &Sandbox, records: Value) {
    std::fs::write(sb.path().join("records.json"), records.to_string()).unwrap();
    sb.run_now(&["cmp.yaml"]).assert_status(0);
}

/// Three runs: `web`, `legacy` and `db` open; then `web` gone (resolved)
/// and `ssh2` new; then `web` back (regressed) and `fresh` new.
fn fixture() -> Sandbox {
    let sb = sandbox();
    let runs: [&[(&str, &[&str])]; 3] = [
        &[
            ("web", &["22", "3389"]),
            ("legacy", &["22"]),
            ("db", &["3389"]),
        ],
        &[("legacy", &["22"]), ("db", &["3389"]), ("ssh2", &["22"])],
        &[
            ("web", &["22", "3389"]),
            ("legacy", &["22"]),
            ("db", &["3389"]),
            ("ssh2", &["22"]),
            ("fresh", &["3389"]),
        ],
    ];
    for rules in runs {
        run_with(&sb, records(rules));
    }
    sb
}

/// `cloudmarker report -o NAME args...`, exit 0; the page.
fn report(sb: &Sandbox, name: &str, args: &[&str]) -> String {
    let mut all = vec!["report", "-o", name];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-c", "sandbox.yaml", "cmp.yaml"]);
    let run = sb.run(&all);
    run.assert_status(0);
    std::fs::read_to_string(sb.path().join(name)).unwrap()
}

/// The page's JSON island.
fn island(page: &str) -> Value {
    let start = r#"<script type="application/json" id="report-data">"#;
    let from = page.find(start).expect("the JSON island") + start.len();
    let to = from + page[from..].find("</script>").unwrap();
    serde_json::from_str(&page[from..to]).unwrap()
}

/// Every `data-n="key">value<` of the page's HTML.
fn shown(page: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for part in page.split(r#"data-n=""#).skip(1) {
        let (key, rest) = part.split_once('"').unwrap();
        let value = rest[1..].split('<').next().unwrap();
        out.insert(key.to_string(), value.to_string());
    }
    out
}

/// The rows of the findings table (`<tr data-sev=...>`).
fn table_rows(page: &str) -> Vec<&str> {
    page.lines()
        .filter(|l| l.starts_with("<tr data-sev="))
        .collect()
}

/// `findings --format json` of the sandbox's state.
fn findings_json(sb: &Sandbox) -> Value {
    sb.run(&[
        "findings",
        "--format",
        "json",
        "-c",
        "sandbox.yaml",
        "cmp.yaml",
    ])
    .json()
}

#[test]
fn the_report_holds_the_numbers_of_findings_and_compliance() {
    let sb = fixture();
    let page = report(&sb, "report.html", &["--since", "2000-01-01"]);
    let data = island(&page);
    let html = shown(&page);
    let findings = findings_json(&sb);
    let findings = findings.as_array().unwrap();
    let active: Vec<&Value> = findings
        .iter()
        .filter(|f| f["status"] != "resolved")
        .collect();
    let count = |status: &str| findings.iter().filter(|f| f["status"] == status).count() as u64;
    assert!(count("regressed") > 0 && count("new") > 0, "{findings:?}");

    // Open findings by severity, in the island and on the page.
    let summary = &data["summary"];
    assert_eq!(summary["open_total"], active.len() as u64);
    assert_eq!(html["summary.open_total"], active.len().to_string());
    for severity in ["critical", "high", "medium", "low", "informational"] {
        let n = active.iter().filter(|f| f["severity"] == severity).count() as u64;
        assert_eq!(summary["open"][severity], n, "{severity}");
        assert_eq!(html[&format!("summary.open.{severity}")], n.to_string());
    }
    // Muted: the findings of rules db and legacy.
    let muted = active.iter().filter(|f| f["muted"] == true).count() as u64;
    let muted_refs = active
        .iter()
        .filter(|f| {
            let r = f["reference"].as_str().unwrap_or("");
            r.ends_with("/db") || r.ends_with("/legacy")
        })
        .count() as u64;
    assert!(muted > 0);
    assert_eq!(muted, muted_refs);
    assert_eq!(summary["muted"], muted);
    assert_eq!(html["summary.muted"], muted.to_string());
    // One mute expires within 14 days.
    assert_eq!(summary["mutes"], 2);
    let expiring = summary["mutes_expiring"].as_array().unwrap();
    assert_eq!(expiring.len(), 1, "{expiring:?}");
    assert_eq!(expiring[0]["days_left"], 5);
    assert_eq!(html["summary.mutes_expiring"], "1");
    assert!(page.contains("the legacy jump host goes away this month"));

    // The latest run: the regressed web findings, nothing new or resolved.
    // Since 2000: every finding was new once; web's were resolved and
    // regressed once each.
    let latest = &summary["latest"];
    assert_eq!(latest["new"], count("new"));
    assert_eq!(latest["regressed"], count("regressed"));
    assert_eq!(latest["resolved"], count("resolved"));
    let since = &summary["since"];
    assert_eq!(since["new"], findings.len() as u64);
    assert_eq!(since["resolved"], count("regressed"));
    assert_eq!(since["regressed"], count("regressed"));
    for (key, value) in [("latest", latest), ("since", since)] {
        for change in ["new", "regressed", "resolved"] {
            assert_eq!(
                html[&format!("summary.{key}.{change}")],
                value[change].to_string()
            );
        }
    }

    // The trend: three runs; the second resolved web's findings and found
    // ssh2's; after the last, every active finding is open.
    let trend = data["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 3, "{trend:?}");
    assert_eq!(trend[1]["changes"]["resolved"], count("regressed"));
    assert_eq!(trend[2]["changes"]["regressed"], count("regressed"));
    let total = |p: &Value| -> u64 {
        p["open"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum()
    };
    assert_eq!(total(&trend[2]), active.len() as u64);
    assert_eq!(
        total(&trend[1]),
        total(&trend[2]) - count("regressed") - count("new")
    );
    assert_eq!(page.matches("<svg").count(), 2);
    for title in [
        "Open findings by severity, per run",
        "New, regressed and resolved findings, per run",
    ] {
        assert!(page.contains(&format!(">{title}</title>")), "{title}");
    }

    // Compliance: what `cloudmarker compliance` says.
    let compliance = sb.compliance_json(FRAMEWORK, &["sandbox.yaml", "cmp.yaml"]);
    let framework = data["compliance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == FRAMEWORK)
        .expect("the Azure framework, the cloud of the findings");
    assert_eq!(framework["totals"], compliance["totals"]);
    for key in ["pass", "fail", "not_evaluated", "manual"] {
        assert_eq!(
            html[&format!("compliance.{FRAMEWORK}.{key}")],
            compliance["totals"][key].to_string()
        );
    }
    let score = compliance["totals"]["score"].as_f64().unwrap();
    assert_eq!(
        html[&format!("compliance.{FRAMEWORK}.score")],
        format!("{:.0}%", score * 100.0)
    );
    let failing: Vec<(String, u64)> = compliance["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail")
        .map(|r| {
            (
                r["id"].as_str().unwrap().into(),
                r["open_findings"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(!failing.is_empty());
    let in_report: Vec<(String, u64)> = framework["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().into(),
                r["open_findings"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(in_report, failing);
    for (id, n) in &failing {
        assert_eq!(
            html[&format!("compliance.{FRAMEWORK}.failing.{id}")],
            n.to_string()
        );
    }
    // 7.1 (RDP): its findings are named under it.
    let rdp = &framework["failing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "7.1")
        .unwrap()["findings"];
    assert!(
        rdp.as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("/securityRules/web (")),
        "{rdp}"
    );

    // The blind spot: sub2's security rules, refused.
    let blind = data["blind_spots"].as_array().unwrap();
    let sub2 = blind.iter().find(|b| b["scope"] == "sub2").expect("sub2");
    assert_eq!(sub2["what"], "security_rule");
    assert_eq!(sub2["permission"], true);
    assert!(page.contains(r#"id="blind-banner""#));
    assert!(page.contains("HTTP 403: AuthorizationFailed"));

    // The table: every open finding (fewer than the cap), most severe
    // first, with the counts the page states.
    let rows = table_rows(&page);
    assert_eq!(rows.len() as u64, active.len() as u64);
    assert_eq!(data["table"]["shown"], rows.len() as u64);
    assert_eq!(data["table"]["not_shown"], 0);
    assert_eq!(html["table.shown"], rows.len().to_string());
    let rank = |row: &str| {
        "critical high medium low informational unspecified"
            .split(' ')
            .position(|s| row.starts_with(&format!("<tr data-sev=\"{s}\"")))
            .unwrap()
    };
    assert!(rows.windows(2).all(|w| rank(w[0]) <= rank(w[1])));
    for f in &active {
        let id = f["finding_id"].as_str().unwrap();
        assert!(
            rows.iter().any(|r| r.contains(&format!("id=\"f-{id}\""))),
            "{id}"
        );
    }

    // Worst scopes: subid has every open finding.
    assert_eq!(data["worst_scopes"][0]["name"], "azure subid");
    assert_eq!(data["worst_scopes"][0]["total"], active.len() as u64);
    // And one service: the network security groups.
    assert_eq!(
        data["worst_services"],
        json!([{"name": "azure Microsoft.Network/networkSecurityGroups",
                "total": active.len(), "open": data["summary"]["open"]}])
    );

    // Self-contained: nothing from the network.
    for remote in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!page.contains(remote), "{remote}");
    }
}

#[test]
fn a_report_without_a_database_says_so_and_an_unknown_framework_is_exit_2() {
    let sb = sandbox();
    let page = report(&sb, "empty.html", &[]);
    let data = island(&page);
    assert_eq!(data["summary"]["open_total"], 0);
    assert!(
        data["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("No findings recorded in")),
        "{data}"
    );
    assert!(page.contains("No findings recorded in"));
    let run = sb.run(&[
        "report",
        "--framework",
        "nope",
        "-o",
        "x.html",
        "-c",
        "sandbox.yaml",
        "cmp.yaml",
    ]);
    run.assert_status(2);
    run.assert_says("no framework \"nope\"");
    let run = sb.run(&["report", "--since", "last week", "-c", "sandbox.yaml"]);
    run.assert_status(2);
}

/// The browser: Debian's chromium, installed by
/// tests/support/install_chromium.sh; none when it cannot be installed
/// (said loudly).
fn chromium() -> Option<PathBuf> {
    let script = common::python::root().join("tests/support/install_chromium.sh");
    let out = Command::new("sh").arg(&script).output().ok()?;
    if !out.status.success() {
        eprintln!(
            "SKIPPED: the browser test needs chromium, which {} could not install: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// What headless chromium made of `page`: the DOM after its scripts ran,
/// its log (console messages included), and the wall time; a screenshot of
/// the first screen goes to `screenshot`. The network is off (a network
/// namespace of its own when it can have one; the page's
/// Content-Security-Policy forbids every fetch in any case).
fn browse(browser: &Path, page: &Path, screenshot: &Path) -> (String, String, f64) {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.display());
    let args = |what: &str| -> Vec<String> {
        [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,900",
            what,
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([
            format!("--user-data-dir={}", profile.path().display()),
            url.clone(),
        ])
        .collect()
    };
    let command = |what: &str| {
        let offline = Command::new("unshare")
            .args(["--net", "true"])
            .status()
            .is_ok_and(|s| s.success());
        let mut command = if offline {
            let mut c = Command::new("unshare");
            c.arg("--net").arg(browser);
            c
        } else {
            Command::new(browser)
        };
        command.args(args(what));
        command
    };
    let started = Instant::now();
    let out = command("--dump-dom").output().expect("run chromium");
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shot = command(&format!("--screenshot={}", screenshot.display()))
        .output()
        .expect("run chromium");
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&shot.stderr),
        seconds,
    )
}

/// Where screenshots are kept: target/test-artifacts.
fn artifacts() -> PathBuf {
    let dir = common::python::root().join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Console errors in chromium's log.
fn console_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Refused to"))
        .collect()
}

#[test]
fn the_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let sb = fixture();
    let page = report(&sb, "report.html", &[]);
    let shot = artifacts().join("report.png");
    let (dom, log, seconds) = browse(&browser, &sb.path().join("report.html"), &shot);
    eprintln!("chromium: {seconds:.2} s; screenshot {}", shot.display());
    assert!(console_errors(&log).is_empty(), "{log}");
    // The script ran to its end, the rows and both charts are in the DOM.
    assert!(dom.contains(r#"data-ready="1""#), "{dom}");
    assert_eq!(
        dom.matches("<tr data-sev=").count(),
        table_rows(&page).len()
    );
    assert_eq!(dom.matches("<svg").count(), 2);
    assert!(dom.contains("Open findings by severity, per run"));
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real screenshot"
    );
}

/// `n` open findings of `checks` checks in `scopes` subscriptions, one run.
fn big_state(path: &Path, n: usize) {
    use cloudmarker::findings::state::{Seen, State};
    let severities = ["critical", "high", "medium", "low", "informational"];
    let seen: Vec<Seen> = (0..n)
        .map(|i| {
            let scope = format!("sub-{:03}", i % 150);
            let check = format!("azure_check_{:03}", i % 300);
            let reference = format!(
                "/subscriptions/{scope}/resourceGroups/rg-{}/providers/Microsoft.Storage/storageAccounts/account{i:06}",
                i % 40
            );
            let severity = severities[(i * 7) % 5].to_string();
            let event = json!({
                "ext": {"subscription_id": scope, "record_type": "storage_account_properties"},
                "com": {"check": check, "severity": severity, "reference": reference,
                        "cloud_type": "azure", "record_type": check}
            });
            Seen {
                finding_id: format!("{i:032x}"),
                severity: Some(severity),
                record_type: Some(check.clone()),
                reference: Some(reference),
                cloud_type: Some("azure".into()),
                description: Some(format!("Storage account account{i:06} allows public blob access and more words to look like a real description.")),
                muted: false,
                event: event.to_string(),
            }
        })
        .collect();
    let mut state = State::open(path).unwrap();
    let now = chrono::Utc::now().to_rfc3339();
    state.commit("big", "v1", &now, &seen, &[]).unwrap();
}

#[test]
fn at_100000_findings_the_page_stays_under_5_mb_and_renders_quickly() {
    const N: usize = 100_000;
    let sb = Sandbox::new();
    let db = sb.path().join("big.db");
    big_state(&db, N);
    sb.file("big.yaml", &format!("state: {{path: {}}}\n", db.display()));
    let started = Instant::now();
    let run = sb.run(&["report", "-o", "big.html", "-c", "sandbox.yaml", "big.yaml"]);
    run.assert_status(0);
    let made = started.elapsed().as_secs_f64();
    let page = std::fs::read_to_string(sb.path().join("big.html")).unwrap();
    let data = island(&page);
    assert_eq!(data["summary"]["open_total"], N as u64);
    let shown = data["table"]["shown"].as_u64().unwrap();
    assert_eq!(table_rows(&page).len() as u64, shown);
    assert_eq!(data["table"]["not_shown"], N as u64 - shown);
    assert!(page.contains("cloudmarker findings --format csv"));
    // The most severe first: every row shown is critical (a fifth are).
    assert!(table_rows(&page)
        .iter()
        .all(|r| r.starts_with("<tr data-sev=\"critical\"")));
    let size = page.len();
    eprintln!("{N} findings: {size} bytes, made in {made:.2} s (debug build)");
    assert!(size < 5_000_000, "{size} bytes");

    let Some(browser) = chromium() else { return };
    let shot = artifacts().join("report-100k.png");
    let (dom, log, seconds) = browse(&browser, &sb.path().join("big.html"), &shot);
    assert!(console_errors(&log).is_empty(), "{log}");
    assert!(dom.contains(r#"data-ready="1""#));
    let parsed_ms: f64 = dom
        .split(r#"data-parse-ms=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .expect("data-parse-ms");
    eprintln!("{N} findings: chromium parsed the page in {parsed_ms:.0} ms; --dump-dom took {seconds:.2} s in all (browser start included)");
    assert!(parsed_ms < 2000.0, "{parsed_ms} ms");
}

#[test]
fn a_filestore_with_report_true_gets_the_run_s_report_beside_its_outputs() {
    let sb = sandbox();
    run_with(&sb, records(&[("web", &["22"])]));
    assert!(
        !sb.out().join("report.html").exists(),
        "no report unless asked"
    );
    sb.file(
        "with_report.yaml",
        "plugins:\n  filestore:\n    params:\n      report: true\n",
    );
    std::fs::write(
        sb.path().join("records.json"),
        records(&[("web", &["22"]), ("db", &["3389"])]).to_string(),
    )
    .unwrap();
    sb.run_now(&["cmp.yaml", "with_report.yaml"])
        .assert_status(0);
    let page = std::fs::read_to_string(sb.out().join("report.html")).expect("out/report.html");
    let data = island(&page);
    let findings = findings_json(&sb);
    let active = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] != "resolved")
        .count() as u64;
    assert_eq!(data["summary"]["open_total"], active);
    let trend = data["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 2, "both runs, the one that wrote it included");
    assert_eq!(data["runs"].as_array().unwrap().len(), 2);
}
