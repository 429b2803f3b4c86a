//! Alert plugins against real servers: emailalert with aiosmtpd (plain,
//! STARTTLS, implicit TLS, AUTH), and the audit notification emails.

mod common;

use common::python::{free_port, python, root, Server};
use common::{tls, Sandbox};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const PASSWORD: &str = "s3cret-Pa55";

/// An SMTP server for one test, saving mail under the sandbox.
struct Smtp {
    server: Server,
    maildir: PathBuf,
}

impl Smtp {
    fn start(sb: &Sandbox, mode: &str, pki: Option<&tls::TestPki>, auth: bool) -> Self {
        let maildir = sb.path().join("maildir");
        let port = free_port();
        let mut args = vec![
            "--port".to_string(),
            port.to_string(),
            "--maildir".into(),
            maildir.display().to_string(),
        ];
        args.extend(["--mode".into(), mode.into()]);
        if let Some(pki) = pki {
            args.extend(pki.server_args());
        }
        if auth {
            args.extend([
                "--user".into(),
                "alice".into(),
                "--password".into(),
                PASSWORD.into(),
            ]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Self {
            server: Server::start("smtp_server.py", port, &args),
            maildir,
        }
    }

    /// The messages received, parsed.
    fn messages(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.maildir)
            .map(|d| {
                d.map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files.iter().map(|f| read_mail(f)).collect()
    }
}

fn read_mail(path: &Path) -> Value {
    let output = Command::new(python())
        .arg(root().join("tests/support/read_mail.py"))
        .arg(path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `emailalert` params for a server on `port`, plus `extra` YAML lines.
fn email_config(sb: &Sandbox, port: u16, extra: &str) {
    sb.file(
        "email.yaml",
        &format!(
            "plugins:\n  emailalert:\n    plugin: cloudmarker.alerts.emailalert.EmailAlert\n    params:\n      from_addr: Cloudmarker <cloudmarker@example.com>\n      to_addrs: [user1@example.com, user2@example.com]\n      subject: Cloudmarker Alert\n      host: 127.0.0.1\n      port: {port}\n      timeout: 5\n{extra}audits:\n  mockaudit:\n    alerts: [filestore, emailalert]\n"
        ),
    );
}

/// `email.yaml` for a server in TLS `mode` (`starttls`, or `ssl`, the
/// default) that logs in as alice with `password` and trusts `pki`'s CA.
fn login_config(sb: &Sandbox, smtp: &Smtp, mode: &str, password: &str, pki: &tls::TestPki) {
    let ssl_mode = match mode {
        "ssl" => String::new(),
        other => format!("      ssl_mode: {other}\n"),
    };
    let extra = format!(
        "{ssl_mode}      username: alice\n      password: {password}\n      ca_cert: {}\n",
        pki.ca_cert.display()
    );
    email_config(sb, smtp.server.port, &extra);
}

/// A mail server in TLS `mode` that asks for a login, with its test PKI.
fn tls_smtp(sb: &Sandbox, mode: &str) -> (Smtp, tls::TestPki) {
    let pki = tls::generate(sb.path());
    let smtp = Smtp::start(sb, mode, Some(&pki), true);
    (smtp, pki)
}

/// The one email of a mock audit: 4 events, named in the text and attached.
/// The events of an attachment (JSON text), which must be the mock audit's
/// four events (data 0, 3, 6 and 9).
fn attached_mock_events(attachment: &Value) -> Vec<Value> {
    let events: Vec<Value> = serde_json::from_str(attachment.as_str().unwrap()).unwrap();
    let data: Vec<&Value> = events.iter().map(|e| &e["ext"]["data"]).collect();
    assert_eq!(data, [0, 3, 6, 9]);
    events
}

fn assert_mock_events_email(message: &Value) {
    assert_eq!(message["subject"], "Cloudmarker Alert");
    assert_eq!(message["from"], "Cloudmarker <cloudmarker@example.com>");
    assert_eq!(message["to"], "user1@example.com, user2@example.com");
    let text = message["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "Cloudmarker found 4 event(s).\n\nAudit mockaudit (4 event(s)):\nNew (4):\n"
        ),
        "{text}"
    );
    for n in [0, 3, 6, 9] {
        assert!(text.contains(&format!("- [medium] {n} is a multiple of 3.\n  Recommendation: Divide {n} by 3 and confirm that the remainder is 0.\n")), "{text}");
    }
    let events = attached_mock_events(&message["attachments"]["events.json"]);
    assert_eq!(events[0]["com"]["target_worker"], "mockaudit_emailalert");
}

#[test]
fn emailalert_sends_one_email_with_the_events_over_plain_smtp() {
    let sb = Sandbox::new();
    let smtp = Smtp::start(&sb, "plain", None, false);
    email_config(&sb, smtp.server.port, "      ssl_mode: disable\n");
    let run = sb.run_now(&["email.yaml"]);
    run.assert_status(0);
    run.assert_says("Sent 4 event(s) by email to user1@example.com, user2@example.com.");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert_mock_events_email(&messages[0]);
}

#[test]
fn emailalert_uses_starttls_with_a_private_ca_and_logs_in() {
    let sb = Sandbox::new();
    let (smtp, pki) = tls_smtp(&sb, "starttls");
    login_config(&sb, &smtp, "starttls", PASSWORD, &pki);
    let run = sb.run_now(&["email.yaml"]);
    run.assert_status(0);
    assert_mock_events_email(&smtp.messages()[0]);
    assert!(
        !run.output().contains(PASSWORD) && !sb.log().contains(PASSWORD),
        "the password is never logged"
    );
}

#[test]
fn emailalert_uses_implicit_tls() {
    let sb = Sandbox::new();
    let (smtp, pki) = tls_smtp(&sb, "ssl");
    login_config(&sb, &smtp, "ssl", PASSWORD, &pki);
    let run = sb.run_now(&["email.yaml"]);
    run.assert_status(0);
    assert_eq!(smtp.messages().len(), 1);
}

#[test]
fn no_events_no_email() {
    let sb = Sandbox::new();
    let smtp = Smtp::start(&sb, "plain", None, false);
    email_config(&sb, smtp.server.port, "      ssl_mode: disable\n");
    sb.file(
        "none.yaml",
        "plugins:\n  mockcloud:\n    params: {record_count: 0}\n",
    );
    let run = sb.run_now(&["email.yaml", "none.yaml"]);
    run.assert_status(0);
    run.assert_says("No events; no email sent.");
    assert!(smtp.messages().is_empty());
}

/// Runs the mock audit with emailalert and expects it to fail with `message`.
fn assert_email_fails(sb: &Sandbox, message: &str) -> common::Run {
    let started = std::time::Instant::now();
    let run = sb.run_now(&["email.yaml"]);
    run.assert_status(1);
    run.assert_says("ERROR mockaudit_emailalert");
    run.assert_says(message);
    run.assert_says("Audit mockaudit finished: 10 records read, 4 events, ");
    assert!(started.elapsed().as_secs() < 30, "no hang");
    assert!(!run.output().contains(PASSWORD));
    assert_eq!(
        sb.record_count("mockaudit_mockevent.json"),
        4,
        "the other alert still got the events"
    );
    run
}

#[test]
fn smtp_server_down_is_a_clear_failure() {
    let sb = Sandbox::new();
    email_config(&sb, free_port(), "      ssl_mode: disable\n");
    let run = assert_email_fails(&sb, "cannot send email: 127.0.0.1:");
    run.assert_says(
        "(ssl_mode disable) refused the connection (is the server running on that port?)",
    );
}

#[test]
fn an_smtp_server_that_never_answers_times_out_with_a_sentence() {
    let sb = Sandbox::new();
    // The kernel accepts the connection; nobody ever says hello.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    email_config(&sb, port, "      ssl_mode: disable\n");
    assert_email_fails(
        &sb,
        &format!("cannot send email: timed out waiting for 127.0.0.1:{port} (ssl_mode disable)"),
    );
    drop(silent);
}

#[test]
fn tls_to_a_plain_text_smtp_port_says_so() {
    let sb = Sandbox::new();
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = plain.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in plain.incoming().flatten() {
            use std::io::Write;
            let mut stream = stream;
            let _ = stream.write_all(b"220 plain.example ESMTP ready\r\n");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    });
    email_config(&sb, port, "      ssl_mode: ssl\n");
    assert_email_fails(
        &sb,
        &format!("the TLS handshake with 127.0.0.1:{port} (ssl_mode ssl) failed: the server did not answer with TLS (a plain-text port? check the scheme, tls or ssl_mode)"),
    );
}

#[test]
fn a_wrong_password_is_a_clear_failure() {
    let sb = Sandbox::new();
    let (smtp, pki) = tls_smtp(&sb, "ssl");
    login_config(&sb, &smtp, "ssl", &format!("wrong-{PASSWORD}"), &pki);
    assert_email_fails(&sb, "535");
    assert!(smtp.messages().is_empty());
}

#[test]
fn validate_connect_logs_in_to_the_smtp_server_and_sends_nothing() {
    let sb = Sandbox::new();
    let (smtp, pki) = tls_smtp(&sb, "starttls");
    let row = |password: &str| {
        login_config(&sb, &smtp, "starttls", password, &pki);
        let run = sb.run(&["validate", "--connect", "-c", "sandbox.yaml", "email.yaml"]);
        assert!(
            !run.output().contains(PASSWORD),
            "the password is never shown"
        );
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with("emailalert "))
            .map(str::to_string);
        (
            run.status,
            line.unwrap_or_else(|| panic!("no health row: {}", run.output())),
        )
    };
    let (status, line) = row(PASSWORD);
    assert_eq!(status, Some(0), "{line}");
    assert!(
        line.contains(" ok ") && line.contains("logged in to"),
        "{line}"
    );
    let (status, line) = row(&format!("wrong-{PASSWORD}"));
    assert_eq!(status, Some(1), "{line}");
    assert!(line.contains(" failed ") && line.contains("535"), "{line}");
    assert!(smtp.messages().is_empty(), "a health check sends no email");
}

#[test]
fn tls_mismatches_are_clear_failures() {
    // Implicit TLS against a plain server.
    let sb = Sandbox::new();
    let smtp = Smtp::start(&sb, "plain", None, false);
    email_config(&sb, smtp.server.port, "");
    assert_email_fails(&sb, "(ssl_mode ssl)");

    // A certificate from a CA the client does not trust.
    let sb = Sandbox::new();
    let pki = tls::generate(sb.path());
    let smtp = Smtp::start(&sb, "starttls", Some(&pki), false);
    email_config(&sb, smtp.server.port, "      ssl_mode: starttls\n");
    assert_email_fails(&sb, "certificate");
}

/// A Slack Web API server for one test, with two users.
struct Slack {
    server: Server,
    log: PathBuf,
}

impl Slack {
    fn start(sb: &Sandbox, extra: &[&str]) -> Self {
        let port = free_port();
        let log = sb.path().join("slack.jsonl");
        let port_text = port.to_string();
        let log_text = log.display().to_string();
        let mut args = vec!["--port", &port_text, "--log", &log_text];
        args.extend([
            "--user",
            "alice@example.com=U0001",
            "--user",
            "bob@example.com=U0002",
        ]);
        args.extend_from_slice(extra);
        Self {
            server: Server::start("slack_server.py", port, &args),
            log,
        }
    }

    fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}/api", self.server.port)
    }

    /// What the server delivered.
    fn delivered(&self) -> Vec<Value> {
        common::json_lines(&self.log)
    }
}

/// `slackalert` posting to `slack`'s incoming webhook, with the text
/// `Cloudmarker found problems`.
fn webhook_config(sb: &Sandbox, slack: &Slack) {
    let url = format!(
        "http://127.0.0.1:{}/services/T000/B000/XXXX",
        slack.server.port
    );
    slack_config(
        sb,
        &format!("      webhook_url: {url}\n      text: Cloudmarker found problems\n"),
    );
}

/// `slackalert` with `params` (YAML mapping lines) as the audit's alert.
fn slack_config(sb: &Sandbox, params: &str) {
    sb.file(
        "slack.yaml",
        &format!(
            "plugins:\n  slackalert:\n    plugin: cloudmarker.alerts.slackalert.SlackAlert\n    params:\n{params}audits:\n  mockaudit:\n    alerts: [filestore, slackalert]\n"
        ),
    );
}

fn bot_params(api_url: &str, to: &str, extra: &str) -> String {
    format!("      bot_user_token: xoxb-test-token\n      to: {to}\n      text: Attention - Cloudmarker Alert\n      api_url: {api_url}\n      timeout: 5\n{extra}")
}

#[test]
fn slackalert_sends_each_user_the_events_as_a_file() {
    let sb = Sandbox::new();
    let slack = Slack::start(&sb, &[]);
    slack_config(
        &sb,
        &bot_params(&slack.api_url(), "[alice@example.com, bob@example.com]", ""),
    );
    let run = sb.run_now(&["slack.yaml"]);
    run.assert_status(0);
    let delivered = slack.delivered();
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    for (message, user) in delivered.iter().zip(["U0001", "U0002"]) {
        assert_eq!(message["user"], user);
        assert_eq!(message["channel"], format!("D{user}"));
        assert_eq!(message["comment"], "Attention - Cloudmarker Alert");
        assert_eq!(message["files"][0]["title"], "cloudmarker-events.json");
        attached_mock_events(&message["files"][0]["content"]);
    }
    assert!(!run.output().contains("xoxb-test-token") && !sb.log().contains("xoxb-test-token"));
}

#[test]
fn validate_connect_checks_the_slack_token_and_recipients() {
    let sb = Sandbox::new();
    let slack = Slack::start(&sb, &[]);
    let health = |to: &str| {
        slack_config(&sb, &bot_params(&slack.api_url(), to, ""));
        let run = sb.run(&["validate", "--connect", "-c", "sandbox.yaml", "slack.yaml"]);
        assert!(
            !run.output().contains("xoxb-test-token"),
            "the token is never shown"
        );
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with("slackalert "))
            .unwrap_or_default();
        (
            run.status,
            line.split_whitespace().collect::<Vec<_>>().join(" "),
        )
    };
    let (status, line) = health("[alice@example.com, bob@example.com]");
    assert_eq!(status, Some(0), "{line}");
    assert_eq!(
        line,
        "slackalert slackalert ok signed in as cloudmarker@Example; found 2 user(s) of to"
    );
    let (status, line) = health("[alice@example.com, nobody@example.com]");
    assert_eq!(status, Some(1), "{line}");
    assert!(
        line.contains("failed slackalert: users.lookupByEmail failed: users_not_found"),
        "{line}"
    );
    assert!(slack.delivered().is_empty(), "a health check sends nothing");
}

#[test]
fn slackalert_hears_only_what_changed_since_the_last_run() {
    let sb = Sandbox::new();
    let slack = Slack::start(&sb, &[]);
    webhook_config(&sb, &slack);
    assert_eq!(sb.run_now(&["slack.yaml"]).status, Some(0));
    assert_eq!(slack.delivered().len(), 1);
    // The same findings again: nothing new to say.
    let run = sb.run_now(&["slack.yaml"]);
    run.assert_status(0);
    run.assert_says("No events; nothing sent to Slack.");
    assert_eq!(slack.delivered().len(), 1);
    // Four records instead of ten: 6 and 9 are resolved, and said so.
    sb.file(
        "fewer.yaml",
        "plugins:\n  mockcloud:\n    params:\n      record_count: 4\n",
    );
    let run = sb.run_now(&["slack.yaml", "fewer.yaml"]);
    run.assert_status(0);
    let delivered = slack.delivered();
    assert_eq!(
        delivered[1]["webhook"],
        "Cloudmarker found problems\n*Resolved (2)*\n• [medium] 6 is a multiple of 3.\n• [medium] 9 is a multiple of 3."
    );
    // Everything, when its entry asks for it.
    let text = std::fs::read_to_string(sb.path().join("slack.yaml")).unwrap();
    sb.file(
        "slack.yaml",
        &text.replace(
            "    plugin: cloudmarker.alerts.slackalert.SlackAlert\n",
            "    plugin: cloudmarker.alerts.slackalert.SlackAlert\n    notify: all\n",
        ),
    );
    assert_eq!(sb.run_now(&["slack.yaml", "fewer.yaml"]).status, Some(0));
    assert_eq!(
        slack.delivered()[2]["webhook"],
        "Cloudmarker found problems\n*Still open (2)*\n• [medium] 0 is a multiple of 3.\n• [medium] 3 is a multiple of 3."
    );
}

#[test]
fn slackalert_posts_to_an_incoming_webhook() {
    let sb = Sandbox::new();
    let slack = Slack::start(&sb, &[]);
    webhook_config(&sb, &slack);
    let run = sb.run_now(&["slack.yaml"]);
    run.assert_status(0);
    let delivered = slack.delivered();
    assert_eq!(
        delivered[0]["webhook"],
        "Cloudmarker found problems\n*New (4)*\n• [medium] 0 is a multiple of 3.\n• [medium] 3 is a multiple of 3.\n• [medium] 6 is a multiple of 3.\n• [medium] 9 is a multiple of 3."
    );
    assert!(
        !run.output().contains("XXXX"),
        "the webhook URL is a secret"
    );
}

#[test]
fn slackalert_waits_out_rate_limits() {
    let sb = Sandbox::new();
    let slack = Slack::start(&sb, &["--rate-limit", "2"]);
    slack_config(
        &sb,
        &bot_params(&slack.api_url(), "[alice@example.com]", ""),
    );
    let started = std::time::Instant::now();
    let run = sb.run_now(&["slack.yaml"]);
    run.assert_status(0);
    run.assert_says("users.lookupByEmail: HTTP 429 Too Many Requests; retrying in 1.00 s.");
    assert!(
        started.elapsed().as_secs_f64() >= 2.0,
        "Retry-After was honoured"
    );
    assert_eq!(slack.delivered().len(), 1);
}

/// Runs the mock audit with slackalert and expects it to fail with `message`.
fn assert_slack_fails(sb: &Sandbox, message: &str) {
    let started = std::time::Instant::now();
    let run = sb.run_now(&["slack.yaml"]);
    run.assert_status(1);
    run.assert_says("ERROR mockaudit_slackalert");
    run.assert_says(message);
    assert!(started.elapsed().as_secs() < 30, "no hang");
    assert!(!run.output().contains("xoxb-test-token"));
}

#[test]
fn slack_failures_are_clear() {
    let sb = Sandbox::new();
    let slack = Slack::start(&sb, &["--rate-limit", "100"]);
    slack_config(
        &sb,
        &bot_params(
            &slack.api_url(),
            "[alice@example.com]",
            "      max_retries: 2\n",
        ),
    );
    assert_slack_fails(
        &sb,
        "alice@example.com: HTTP 429: users.lookupByEmail: ratelimited (after 3 attempts)",
    );

    let sb = Sandbox::new();
    let slack = Slack::start(&sb, &[]);
    slack_config(
        &sb,
        &bot_params(
            &slack.api_url(),
            "[alice@example.com, nobody@example.com]",
            "",
        ),
    );
    assert_slack_fails(
        &sb,
        "nobody@example.com: users.lookupByEmail failed: users_not_found (HTTP 200 OK)",
    );
    assert_eq!(slack.delivered().len(), 1, "alice still got the events");

    let sb = Sandbox::new();
    let slack = Slack::start(&sb, &["--token", "xoxb-other"]);
    slack_config(
        &sb,
        &bot_params(&slack.api_url(), "[alice@example.com]", ""),
    );
    assert_slack_fails(&sb, "users.lookupByEmail failed: invalid_auth");

    let sb = Sandbox::new();
    let slack = Slack::start(
        &sb,
        &["--fail", "files.completeUploadExternal=not_in_channel"],
    );
    slack_config(
        &sb,
        &bot_params(&slack.api_url(), "[alice@example.com]", ""),
    );
    assert_slack_fails(&sb, "files.completeUploadExternal failed: not_in_channel");

    let sb = Sandbox::new();
    slack_config(
        &sb,
        &bot_params(
            &format!("http://127.0.0.1:{}/api", free_port()),
            "[alice@example.com]",
            "",
        ),
    );
    assert_slack_fails(&sb, "users.lookupByEmail: http://127.0.0.1:");
}

/// The top-level `email:` key with a plain SMTP server on `port`.
fn notification_config(sb: &Sandbox, port: u16, extra: &str) {
    sb.file(
        "notify.yaml",
        &format!("email:\n  from_addr: cloudmarker@example.com\n  to_addrs: [ops@example.com]\n  subject: Cloudmarker\n  host: 127.0.0.1\n  port: {port}\n  ssl_mode: disable\n  timeout: 5\n{extra}"),
    );
}

#[test]
fn audit_notifications_are_sent_for_the_run_and_each_audit() {
    let sb = Sandbox::new();
    let smtp = Smtp::start(&sb, "plain", None, false);
    notification_config(&sb, smtp.server.port, "");
    let run = sb.run_now(&["notify.yaml"]);
    run.assert_status(0);
    let messages = smtp.messages();
    let subjects: Vec<&str> = messages
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "Cloudmarker: all audits started",
            "Cloudmarker: mockaudit started",
            "Cloudmarker: mockaudit ended",
            "Cloudmarker: all audits ended"
        ]
    );
    let end = messages[3]["text"].as_str().unwrap();
    let lines: Vec<&str> = end.lines().collect();
    assert_eq!(lines[0], "About: all audits");
    assert!(
        lines[1].starts_with("Started: ") && lines[2].starts_with("Ended: "),
        "{end}"
    );
    assert_eq!(lines[3], "Duration: 00 h 00 m 00 s");
    assert_eq!(
        messages[1]["text"].as_str().unwrap().lines().next(),
        Some("About: mockaudit")
    );

    // Two more per extra audit.
    sb.file("two.yaml", "audits:\n  second:\n    clouds: [mockcloud]\n    stores: [filestore]\nrun: [mockaudit, second]\n");
    let run = sb.run_now(&["notify.yaml", "two.yaml"]);
    run.assert_status(0);
    assert_eq!(smtp.messages().len(), 4 + 6);
}

#[test]
fn a_failing_smtp_server_never_stops_the_audits() {
    let sb = Sandbox::new();
    notification_config(&sb, free_port(), "");
    let run = sb.run_now(&["notify.yaml"]);
    assert_eq!(
        run.status,
        Some(0),
        "notification failures are logged, not fatal: {}",
        run.output()
    );
    run.assert_says("Cannot send the notification email for all audits started, error: cannot send email: 127.0.0.1:");
    run.assert_says("Audit mockaudit finished: 10 records read, 4 events, 14 writes, 0 failures");
}

#[test]
fn without_email_config_notifications_are_skipped_with_one_line() {
    let sb = Sandbox::new();
    let run = sb.run_now(&[]);
    assert_eq!(
        run.output()
            .matches("Audit notification emails are skipped: there is no email config.")
            .count(),
        1
    );
}

#[test]
fn a_bad_email_config_is_a_config_error() {
    let sb = Sandbox::new();
    sb.file(
        "notify.yaml",
        "email:\n  from_addr: cloudmarker@example.com\n  to_addrs: not-an-address\n",
    );
    let run = sb.run_now(&["notify.yaml"]);
    run.assert_status(2);
    run.assert_says(
        "notify.yaml:3: email.to_addrs: invalid type: string \"not-an-address\", expected a sequence",
    );
}

#[test]
fn attach_report_mails_the_run_s_report_once_its_findings_are_recorded() {
    let sb = Sandbox::new();
    let smtp = Smtp::start(&sb, "plain", None, false);
    email_config(
        &sb,
        smtp.server.port,
        "      ssl_mode: disable\n      attach_report: true\n",
    );
    let run = sb.run_now(&["email.yaml"]);
    run.assert_status(0);
    let messages = smtp.messages();
    assert_eq!(messages.len(), 2, "the digest and the report: {messages:?}");
    let (report, digest): (Vec<&Value>, Vec<&Value>) = messages.iter().partition(|m| {
        m["subject"]
            .as_str()
            .is_some_and(|s| s.starts_with("cloudmarker report "))
    });
    assert_mock_events_email(digest[0]);
    let report = report[0];
    assert_eq!(report["to"], "user1@example.com, user2@example.com");
    let page = report["attachments"]["report.html"]
        .as_str()
        .expect("report.html attached");
    // The report of this run: its four findings, new in it.
    let start = r#"<script type="application/json" id="report-data">"#;
    let from = page.find(start).expect("the JSON island") + start.len();
    let to = from + page[from..].find("</script>").unwrap();
    let data: Value = serde_json::from_str(&page[from..to]).unwrap();
    assert_eq!(data["summary"]["open_total"], 4, "{data}");
    assert_eq!(data["summary"]["latest"]["new"], 4, "{data}");
    assert_eq!(data["runs"].as_array().unwrap().len(), 1);
}
