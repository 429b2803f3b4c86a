//! splunkhecstore against a Splunk HTTP Event Collector.

use super::*;

const HEC_TOKEN: &str = "hec-T0ken-0123";

/// A Splunk HEC for one test: the local server, or a real one.
pub(crate) struct Hec {
    pub(crate) server: Option<Server>,
    pub(crate) log: PathBuf,
    pub(crate) uri: String,
    pub(crate) token: String,
}

impl Hec {
    /// A real Splunk, when the environment names one.
    pub(crate) fn real() -> Option<(String, String)> {
        let uri = std::env::var("CLOUDMARKER_TEST_SPLUNK_URI").ok()?;
        let token = std::env::var("CLOUDMARKER_TEST_SPLUNK_TOKEN").unwrap_or_default();
        Some((uri, token))
    }

    /// The local server with `extra` args (test hooks); `None` when a real
    /// Splunk is configured, since its behaviour cannot be steered.
    pub(crate) fn local(sb: &Sandbox, extra: &[&str], pki: Option<&tls::TestPki>) -> Option<Self> {
        if Hec::real().is_some() {
            eprintln!("CLOUDMARKER_TEST_SPLUNK_URI is set: skipping a local-server-only test.");
            return None;
        }
        let port = free_port();
        let log = sb.path().join("hec.jsonl");
        let mut args: Vec<String> = vec![
            "--port".into(),
            port.to_string(),
            "--log".into(),
            log.display().to_string(),
            "--token".into(),
            HEC_TOKEN.into(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let (scheme, tls_args) = tls::http_server_args(pki);
        args.extend(tls_args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Some(Self {
            server: Some(Server::start("splunk_hec_server.py", port, &args)),
            log,
            uri: format!("{scheme}://127.0.0.1:{port}"),
            token: HEC_TOKEN.into(),
        })
    }

    /// The events the local server indexed: `{"index", "sourcetype", "time", "event"}`.
    pub(crate) fn indexed(&self) -> Vec<Value> {
        common::json_lines(&self.log)
    }

    /// The records inside the indexed events.
    pub(crate) fn records(&self) -> Vec<Value> {
        self.indexed()
            .into_iter()
            .map(|e| e["event"].clone())
            .collect()
    }
}

/// `splunkhecstore` with `params` (YAML mapping lines) as a store of the mock
/// audit, and as an alert when `alert` is set.
fn hec_config(sb: &Sandbox, uri: &str, token: &str, params: &str, alert: bool) {
    let alerts = if alert {
        "[filestore, splunkhecstore]"
    } else {
        "[filestore]"
    };
    sb.file(
        "hec.yaml",
        &format!(
            "plugins:\n  splunkhecstore:\n    plugin: cloudmarker.stores.splunkhecstore.SplunkHECStore\n    params:\n      uri: {uri}\n      token: {token}\n      timeout: 5\n      retry_delay: 0.1\n{params}audits:\n  mockaudit:\n    stores: [filestore, splunkhecstore]\n    alerts: {alerts}\n"
        ),
    );
}

fn assert_no_token(sb: &Sandbox, run: &Run, token: &str) {
    assert!(
        !run.output().contains(token) && !sb.log().contains(token),
        "the token is never logged"
    );
}

#[test]
fn splunkhecstore_indexes_every_record_event_and_marker() {
    let sb = Sandbox::new();
    if let Some((uri, token)) = Hec::real() {
        hec_config(&sb, &uri, &token, "      index: main\n", true);
        let run = run_timed(&sb, &["hec.yaml"]);
        run.assert_status(0);
        run.assert_says("0 failures");
        return;
    }
    let hec = Hec::local(&sb, &[], None).unwrap();
    hec_config(
        &sb,
        &hec.uri,
        &hec.token,
        "      index: cloudmarker\n",
        true,
    );
    let run = run_timed(&sb, &["hec.yaml"]);
    run.assert_status(0);
    run.assert_says("Audit mockaudit finished: 10 records read, 4 events, 28 writes, 0 failures");
    run.assert_says("Posted 12 event(s) to Splunk HEC at http://127.0.0.1:");
    run.assert_says("Posted 6 event(s) to Splunk HEC at http://127.0.0.1:");
    for event in hec.indexed() {
        assert_eq!(event["index"], "cloudmarker");
        assert_eq!(event["sourcetype"], "_json");
        assert!(event["time"].as_f64().unwrap() > 1.7e9, "{event}");
    }
    assert_same_as_filestore(&sb, &hec.records(), "splunkhecstore");
    assert_no_token(&sb, &run, &hec.token);
}

#[test]
fn splunkhecstore_posts_full_buffers_and_the_rest_in_done() {
    let sb = Sandbox::new();
    let Some(hec) = Hec::local(&sb, &[], None) else {
        return;
    };
    sb.file(
        "many.yaml",
        "plugins:\n  mockcloud:\n    params: {record_count: 1000}\n",
    );
    hec_config(&sb, &hec.uri, &hec.token, "      buffer_size: 300\n", false);
    let run = run_timed(&sb, &["hec.yaml", "many.yaml"]);
    run.assert_status(0);
    let records = hec.records();
    assert_eq!(records.len(), 1002);
    // Records keep their order: the begin marker, 0..999, the end marker.
    let data: Vec<u64> = records[1..1001]
        .iter()
        .map(|r| r["raw"]["data"].as_u64().unwrap())
        .collect();
    assert_eq!(data, (0..1000).collect::<Vec<_>>());
    assert_eq!(records[0]["com"]["record_type"], "begin_audit");
    assert_eq!(records[1001]["com"]["record_type"], "end_audit");
}

#[test]
fn splunkhecstore_keeps_a_failed_batch_and_posts_it_again_in_done() {
    let sb = Sandbox::new();
    // The first flush (11 events, buffer_size 8) meets 2 busy answers and
    // gives up after 1 retry; done posts all 12.
    let Some(hec) = Hec::local(&sb, &["--busy", "2"], None) else {
        return;
    };
    let params = "      buffer_size: 8\n      max_retries: 1\n";
    hec_config(&sb, &hec.uri, &hec.token, params, false);
    let run = run_timed(&sb, &["hec.yaml"]);
    run.assert_status(0);
    run.assert_says("code 9: Server is busy (HTTP 503 Service Unavailable), after 2 attempt(s); keeping them for the next flush.");
    run.assert_says("Posted 12 event(s) to Splunk HEC");
    assert_eq!(hec.records().len(), 12);
    assert_eq!(
        normalized(of_type(&hec.records(), "store")),
        filestore_output(&sb, "store")
    );
}

#[test]
fn splunkhecstore_busy_and_rate_limit_storms_end_with_a_count() {
    for (hook, reason) in [
        (
            "--busy",
            "code 9: Server is busy (HTTP 503 Service Unavailable), after 3 attempt(s)",
        ),
        (
            "--throttle",
            "code 429: Too Many Requests (HTTP 429 Too Many Requests), after 3 attempt(s)",
        ),
    ] {
        let sb = Sandbox::new();
        let Some(hec) = Hec::local(&sb, &[hook, "1000"], None) else {
            return;
        };
        hec_config(&sb, &hec.uri, &hec.token, "      max_retries: 2\n", false);
        let run = run_timed(&sb, &["hec.yaml"]);
        assert_store_failed(
            &run,
            "mockaudit_splunkhecstore",
            &format!("splunkhecstore: cannot post 12 event(s) to Splunk HEC at {}/services/collector/event: {reason}", hec.uri),
            1,
            12,
        );
        assert!(hec.records().is_empty());
        if hook == "--throttle" {
            // The 429 answers carry Retry-After: 1, which wins over retry_delay.
            run.assert_says("(HTTP 429 Too Many Requests); retrying in 1.0 s.");
        } else {
            // retry_delay 0.1 plus up to 50% jitter.
            run.assert_says("(HTTP 503 Service Unavailable); retrying in 0.1");
        }
        assert_eq!(
            sb.record_count("mockaudit_mockcloud.json"),
            10,
            "filestore still stored everything"
        );
    }
}

#[test]
fn splunkhecstore_a_200_that_is_not_the_collectors_answer_is_not_success() {
    let sb = Sandbox::new();
    // A proxy answers 200 with its own page: nothing was indexed.
    let Some(hec) = Hec::local(&sb, &["--not-hec", "1000"], None) else {
        return;
    };
    hec_config(&sb, &hec.uri, &hec.token, "      max_retries: 1\n", false);
    let run = run_timed(&sb, &["hec.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_splunkhecstore",
        "HTTP 200 OK without the collector's answer ({\"code\": 0}); is uri the HEC endpoint? The answer was: <html><body>Please sign in to the proxy</body></html>, after 2 attempt(s)",
        1,
        12,
    );
    assert!(hec.records().is_empty());

    // Once the collector answers, the kept events go through, once each.
    let sb = Sandbox::new();
    let Some(hec) = Hec::local(&sb, &["--not-hec", "1"], None) else {
        return;
    };
    hec_config(&sb, &hec.uri, &hec.token, "      max_retries: 1\n", false);
    let run = run_timed(&sb, &["hec.yaml"]);
    run.assert_status(0);
    assert_eq!(hec.records().len(), 12);
}

#[test]
fn splunkhecstore_bad_token_or_index_stops_with_the_hec_code() {
    let sb = Sandbox::new();
    let Some(hec) = Hec::local(&sb, &[], None) else {
        return;
    };
    let wrong = "wrong-T0ken-999";
    hec_config(&sb, &hec.uri, wrong, "", false);
    let run = run_timed(&sb, &["hec.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_splunkhecstore",
        "refused 12 event(s): code 4: Invalid token (HTTP 403 Forbidden); check the token param",
        1,
        12,
    );
    assert_no_token(&sb, &run, wrong);
    assert_no_token(&sb, &run, &hec.token);

    hec_config(&sb, &hec.uri, &hec.token, "      index: secret\n", false);
    let run = run_timed(&sb, &["hec.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_splunkhecstore",
        "refused 12 event(s): code 7: Incorrect index (HTTP 400 Bad Request); check the index param",
        1,
        12,
    );
    assert!(hec.records().is_empty());
}

#[test]
fn splunkhecstore_counts_a_refused_event_and_indexes_the_others() {
    let sb = Sandbox::new();
    let Some(hec) = Hec::local(&sb, &["--invalid", "\"data\":5}"], None) else {
        return;
    };
    hec_config(&sb, &hec.uri, &hec.token, "", false);
    let run = run_timed(&sb, &["hec.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_splunkhecstore",
        "refused 1 event(s): 1 x code 6: Invalid data format (HTTP 400 Bad Request)",
        1,
        1,
    );
    let records = hec.records();
    assert_eq!(records.len(), 11);
    assert!(records.iter().all(|r| r["raw"]["data"] != 5));
}

#[test]
fn splunkhecstore_server_down_is_a_clear_failure() {
    let sb = Sandbox::new();
    if Hec::real().is_some() {
        return;
    }
    let uri = format!("http://127.0.0.1:{}", free_port());
    hec_config(&sb, &uri, HEC_TOKEN, "      max_retries: 1\n", false);
    let run = run_timed(&sb, &["hec.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_splunkhecstore",
        &format!("splunkhecstore: cannot post 12 event(s) to Splunk HEC at {uri}/services/collector/event: {uri} refused the connection (is the server running on that port?)"),
        1,
        12,
    );
}

#[test]
fn splunkhecstore_tls_with_a_private_ca_or_without_verification() {
    let sb = Sandbox::new();
    let pki = tls::generate(sb.path());
    let Some(hec) = Hec::local(&sb, &[], Some(&pki)) else {
        return;
    };
    let ca = format!("      ca_cert: {}\n", pki.ca_cert.display());
    hec_config(&sb, &hec.uri, &hec.token, &ca, false);
    let run = run_timed(&sb, &["hec.yaml"]);
    run.assert_status(0);
    assert_eq!(hec.records().len(), 12);

    // The original's `ca_cert: false` turns verification off.
    hec_config(&sb, &hec.uri, &hec.token, "      ca_cert: false\n", false);
    let run = run_timed(&sb, &["hec.yaml"]);
    run.assert_status(0);
    assert_eq!(hec.records().len(), 24);

    // By default the built-in roots do not know the private CA.
    hec_config(&sb, &hec.uri, &hec.token, "      max_retries: 0\n", false);
    let run = run_timed(&sb, &["hec.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_splunkhecstore",
        &format!(
            "the TLS certificate of {} is not trusted: it is signed by an unknown certificate authority (a private CA needs its certificate in ca_cert)",
            hec.uri
        ),
        1,
        12,
    );
    assert_eq!(hec.records().len(), 24);
}

impl compliance::StoreServer for Hec {
    const PLUGIN: &'static str = "splunkhecstore";

    fn start(sb: &Sandbox) -> Self {
        match Hec::real() {
            Some((uri, token)) => Self {
                server: None,
                log: sb.path().join("hec.jsonl"),
                uri,
                token,
            },
            None => Hec::local(sb, &[], None).expect("the local collector"),
        }
    }

    fn local(sb: &Sandbox) -> Option<Self> {
        Hec::local(sb, &[], None)
    }

    fn flaky(sb: &Sandbox) -> Option<Self> {
        Hec::local(sb, &["--busy", "2"], None)
    }

    fn params(&self) -> String {
        format!(
            "      uri: {}\n      token: {}\n      timeout: 5\n",
            self.uri, self.token
        )
    }

    fn unreachable_params() -> String {
        format!(
            "      uri: http://127.0.0.1:{}\n      token: {HEC_TOKEN}\n",
            free_port()
        )
    }

    fn stored(&self) -> Vec<Value> {
        self.records()
    }

    fn stop(&mut self) {
        drop(self.server.take());
    }
}

#[test]
fn splunkhecstore_passes_the_store_compliance_suite() {
    compliance::run::<Hec>();
}
