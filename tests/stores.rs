//! Store plugins end to end: the real `cloudmarker` binary runs the mock
//! audit into filestore and a store plugin, and the test reads the records
//! back from the server and compares them with filestore's output.
//!
//! Servers, started by the tests: osmem-server for Elasticsearch (or a real
//! cluster at `CLOUDMARKER_TEST_ES_URL`), nx-27017 for MongoDB (or a real
//! server at `CLOUDMARKER_TEST_MONGODB_URI`) and a local Splunk HTTP Event
//! Collector, `splunk_hec_server.py` (or a real one at
//! `CLOUDMARKER_TEST_SPLUNK_URI` with `CLOUDMARKER_TEST_SPLUNK_TOKEN`). Tests
//! that steer or stop the server skip, saying so, against real ones.

mod common;

use common::python::{free_port, Server};
use common::{tls, Run, Sandbox};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A run must end within this, failures and retries included.
const NO_HANG: Duration = Duration::from_secs(30);

/// Starts a slow mock audit (`slow.yaml`) into a store configured by
/// `config`, stops the store's server once `started_writing`, and expects
/// the run to end with the store's error naming `message` and the records
/// lost, within [`NO_HANG`].
fn assert_store_fails_when_its_server_goes_away<S>(
    sb: &Sandbox,
    config: &str,
    server: &mut S,
    started_writing: impl Fn(&S) -> bool,
    stop_server: impl FnOnce(&mut S),
    plugin: &str,
    message: &str,
) {
    let started = Instant::now();
    let mut child = sb.spawn(&["-n", "-c", "sandbox.yaml", config, "slow.yaml"]);
    while !started_writing(server) {
        assert!(started.elapsed() < NO_HANG, "{plugin} wrote nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    stop_server(server);
    let status = common::exit_within(&mut child, NO_HANG.as_secs());
    let output = std::fs::read_to_string(sb.path().join("stdout.txt")).unwrap();
    assert_eq!(status, Some(1), "{output}");
    assert!(
        output.contains(&format!("ERROR mockaudit_{plugin}")),
        "{output}"
    );
    assert!(output.contains(message), "{output}");
    assert!(output.contains("records lost)"), "{output}");
}

/// The records and events filestore wrote, with the audit markers, as one
/// list per target type (`store`, `alert`), sorted, without the target fields
/// that differ between two stores.
fn filestore_output(sb: &Sandbox, target_type: &str) -> Vec<Value> {
    let mut records = Vec::new();
    let files: &[&str] = match target_type {
        "store" => &[
            "mockaudit_mockcloud.json",
            "audit_markers/mockaudit_filestore_store.json",
        ],
        _ => &[
            "mockaudit_mockevent.json",
            "audit_markers/mockaudit_filestore_alert.json",
        ],
    };
    for file in files {
        records.extend(sb.read_json(file).as_array().unwrap().iter().cloned());
    }
    normalized(records)
}

/// `records` without the `com.target_*` fields that name the store, sorted.
fn normalized(records: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut records: Vec<Value> = records
        .into_iter()
        .map(|mut r| {
            let com = r["com"].as_object_mut().expect("com is an object");
            for key in ["target_key", "target_class", "target_worker"] {
                com.remove(key);
            }
            r
        })
        .collect();
    records.sort_by_key(|r| r.to_string());
    records
}

/// Records of `records` whose `com.target_type` is `target_type`.
fn of_type(records: &[Value], target_type: &str) -> Vec<Value> {
    records
        .iter()
        .filter(|r| r["com"]["target_type"] == target_type)
        .cloned()
        .collect()
}

/// Asserts the store got exactly what filestore got, per target type, and
/// that the store's own target fields name it.
fn assert_same_as_filestore(sb: &Sandbox, stored: &[Value], store: &str) {
    for target_type in ["store", "alert"] {
        let mine = of_type(stored, target_type);
        for record in &mine {
            assert_eq!(record["com"]["target_worker"], format!("mockaudit_{store}"));
            assert_eq!(record["com"]["target_key"], store);
        }
        assert_eq!(
            normalized(mine),
            filestore_output(sb, target_type),
            "{target_type} records"
        );
    }
    // 10 records and 4 events, each with a begin and an end marker.
    assert_eq!(stored.len(), 18);
}

/// Runs `configs` and checks the run ended in time.
fn run_timed(sb: &Sandbox, configs: &[&str]) -> Run {
    let started = Instant::now();
    let run = sb.run_now(configs);
    assert!(
        started.elapsed() < NO_HANG,
        "the run took {:?}",
        started.elapsed()
    );
    run
}

/// Asserts a run failed in `worker` with `message`, and the summary counts
/// `failures` failures and `lost` records lost.
fn assert_store_failed(run: &Run, worker: &str, message: &str, failures: u32, lost: u64) {
    assert_eq!(run.status, Some(1), "{}", run.output());
    run.assert_says(&format!("ERROR {worker}"));
    run.assert_says(message);
    run.assert_says(&format!("{failures} failures ({lost} records lost)"));
}

// ---------------------------------------------------------------- Splunk HEC

const HEC_TOKEN: &str = "hec-T0ken-0123";

/// A Splunk HEC for one test: the local server, or a real one.
struct Hec {
    server: Option<Server>,
    log: PathBuf,
    uri: String,
    token: String,
}

impl Hec {
    /// A real Splunk, when the environment names one.
    fn real() -> Option<(String, String)> {
        let uri = std::env::var("CLOUDMARKER_TEST_SPLUNK_URI").ok()?;
        let token = std::env::var("CLOUDMARKER_TEST_SPLUNK_TOKEN").unwrap_or_default();
        Some((uri, token))
    }

    /// The local server with `extra` args (test hooks); `None` when a real
    /// Splunk is configured, since its behaviour cannot be steered.
    fn local(sb: &Sandbox, extra: &[&str], pki: Option<&tls::TestPki>) -> Option<Self> {
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
        let scheme = match pki {
            Some(pki) => {
                args.extend(pki.server_args());
                "https"
            }
            None => "http",
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Some(Self {
            server: Some(Server::start("splunk_hec_server.py", port, &args)),
            log,
            uri: format!("{scheme}://127.0.0.1:{port}"),
            token: HEC_TOKEN.into(),
        })
    }

    /// The events the local server indexed: `{"index", "sourcetype", "time", "event"}`.
    fn indexed(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The records inside the indexed events.
    fn records(&self) -> Vec<Value> {
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
        assert_eq!(run.status, Some(0), "{}", run.output());
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
    assert_eq!(run.status, Some(0), "{}", run.output());
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
    assert_eq!(run.status, Some(0), "{}", run.output());
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
    assert_eq!(run.status, Some(0), "{}", run.output());
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
            sb.read_json("mockaudit_mockcloud.json")
                .as_array()
                .unwrap()
                .len(),
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
    assert_eq!(run.status, Some(0), "{}", run.output());
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
fn splunkhecstore_server_down_or_gone_mid_run_is_a_clear_failure() {
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

    // The server goes away after the first batches.
    let sb = Sandbox::new();
    let mut hec = Hec::local(&sb, &[], None).unwrap();
    sb.file(
        "slow.yaml",
        "plugins:\n  mockcloud:\n    params: {record_count: 2560, delay_ms: 300}\n",
    );
    hec_config(
        &sb,
        &hec.uri,
        &hec.token,
        "      buffer_size: 256\n      max_retries: 1\n",
        false,
    );
    assert_store_fails_when_its_server_goes_away(
        &sb,
        "hec.yaml",
        &mut hec,
        |s| !s.indexed().is_empty(),
        |s| drop(s.server.take()),
        "splunkhecstore",
        "the connection",
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
    assert_eq!(run.status, Some(0), "{}", run.output());
    assert_eq!(hec.records().len(), 12);

    // The original's `ca_cert: false` turns verification off.
    hec_config(&sb, &hec.uri, &hec.token, "      ca_cert: false\n", false);
    let run = run_timed(&sb, &["hec.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
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

// ------------------------------------------------------------------- MongoDB

/// A MongoDB for one test: nx-27017 started by the test, or a real server
/// named by `CLOUDMARKER_TEST_MONGODB_URI`. Each test uses its own database.
struct Mongo {
    server: Option<Server>,
    uri: String,
    db: String,
    /// Whether this is a real MongoDB, whose test database is dropped after.
    real: bool,
}

impl Mongo {
    fn real() -> Option<String> {
        std::env::var("CLOUDMARKER_TEST_MONGODB_URI").ok()
    }

    /// The server for a test that also works against a real MongoDB.
    fn start(sb: &Sandbox) -> Self {
        let db = format!(
            "cmtest_{}_{}",
            std::process::id(),
            sb.path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replace('.', "_")
        );
        if let Some(uri) = Mongo::real() {
            return Self {
                server: None,
                uri,
                db,
                real: true,
            };
        }
        let port = free_port();
        let dir = sb.path().display().to_string();
        let server = Server::start(
            "mongo_server.py",
            port,
            &["--port", &port.to_string(), "--dir", &dir],
        );
        Self {
            server: Some(server),
            uri: format!("mongodb://127.0.0.1:{port}/"),
            db,
            real: false,
        }
    }

    /// nx-27017 only, for tests that stop or steer the server.
    fn local(sb: &Sandbox) -> Option<Self> {
        if Mongo::real().is_some() {
            eprintln!("CLOUDMARKER_TEST_MONGODB_URI is set: skipping a local-server-only test.");
            return None;
        }
        Some(Self::start(sb))
    }

    /// Runs `f` with the test database, on a runtime of its own.
    fn with_db<T>(&self, f: impl AsyncFnOnce(mongodb::Database) -> T) -> T {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let client = mongodb::Client::with_uri_str(&self.uri).await.unwrap();
            f(client.database(&self.db)).await
        })
    }

    /// The documents of `collection`, as JSON without `_id`.
    fn documents(&self, collection: &str) -> Vec<Value> {
        self.with_db(async |db| {
            let mut cursor = db
                .collection::<mongodb::bson::Document>(collection)
                .find(mongodb::bson::doc! {})
                .await
                .unwrap();
            let mut docs = Vec::new();
            while cursor.advance().await.unwrap() {
                let mut doc = cursor.deserialize_current().unwrap();
                doc.remove("_id");
                docs.push(mongodb::bson::Bson::Document(doc).into_relaxed_extjson());
            }
            docs
        })
    }

    fn count(&self, collection: &str) -> u64 {
        self.with_db(async |db| {
            db.collection::<mongodb::bson::Document>(collection)
                .count_documents(mongodb::bson::doc! {})
                .await
                .unwrap_or(0)
        })
    }
}

impl Drop for Mongo {
    fn drop(&mut self) {
        if self.real && !std::thread::panicking() {
            self.with_db(async |db| db.drop().await.ok());
        }
    }
}

/// `mongodbstore` with `params` (YAML mapping lines) as a store of the mock
/// audit, and as an alert when `alert` is set.
fn mongo_config(sb: &Sandbox, params: &str, alert: bool) {
    let alerts = if alert {
        "[filestore, mongodbstore]"
    } else {
        "[filestore]"
    };
    sb.file(
        "mongo.yaml",
        &format!(
            "plugins:\n  mongodbstore:\n    params:\n      server_selection_timeout: 2\n      connect_timeout: 2\n      timeout: 10\n      retry_delay: 0.1\n{params}audits:\n  mockaudit:\n    stores: [filestore, mongodbstore]\n    alerts: {alerts}\n"
        ),
    );
}

#[test]
fn mongodbstore_inserts_every_record_event_and_marker() {
    let sb = Sandbox::new();
    let mongo = Mongo::start(&sb);
    mongo_config(
        &sb,
        &format!(
            "      uri: {}\n      db: {}\n      collection: records\n",
            mongo.uri, mongo.db
        ),
        true,
    );
    let run = run_timed(&sb, &["mongo.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    run.assert_says("Audit mockaudit finished: 10 records read, 4 events, 28 writes, 0 failures");
    run.assert_says("Inserted 12 record(s) into MongoDB at ");
    run.assert_says("Inserted 6 record(s) into MongoDB at ");
    assert_same_as_filestore(&sb, &mongo.documents("records"), "mongodbstore");
}

#[test]
fn mongodbstore_uses_host_and_port_and_inserts_full_buffers() {
    let sb = Sandbox::new();
    let Some(mongo) = Mongo::local(&sb) else {
        return;
    };
    let port = mongo.server.as_ref().unwrap().port;
    sb.file(
        "many.yaml",
        "plugins:\n  mockcloud:\n    params: {record_count: 1000}\n",
    );
    mongo_config(
        &sb,
        &format!(
            "      host: 127.0.0.1\n      port: {port}\n      db: {}\n      buffer_size: 300\n",
            mongo.db
        ),
        false,
    );
    let run = run_timed(&sb, &["mongo.yaml", "many.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    run.assert_says(&format!(
        "Inserted 1002 record(s) into MongoDB at 127.0.0.1:{port}/{}.cloudmarker.",
        mongo.db
    ));
    let docs = mongo.documents("cloudmarker");
    assert_eq!(docs.len(), 1002);
    let mut data: Vec<u64> = docs
        .iter()
        .filter_map(|d| d["raw"]["data"].as_u64())
        .collect();
    data.sort();
    assert_eq!(data, (0..1000).collect::<Vec<_>>());
}

#[test]
fn mongodbstore_counts_duplicate_keys_and_inserts_the_rest() {
    let sb = Sandbox::new();
    let mongo = Mongo::start(&sb);
    let records: Vec<Value> = [1, 2, 1, 3, 2]
        .iter()
        .map(|id| serde_json::json!({"_id": id, "raw": {"id": id}, "ext": {}, "com": {}}))
        .collect();
    let path = sb.file("records.json", &serde_json::to_string(&records).unwrap());
    sb.file(
        "dup.yaml",
        &format!(
            "plugins:\n  jsoncloud:\n    plugin: jsoncloud\n    params:\n      path: {}\naudits:\n  mockaudit:\n    clouds: [jsoncloud]\n",
            path.display()
        ),
    );
    mongo_config(
        &sb,
        &format!("      uri: {}\n      db: {}\n", mongo.uri, mongo.db),
        false,
    );
    let run = run_timed(&sb, &["mongo.yaml", "dup.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_mongodbstore",
        "refused 2 record(s): 2 x error 11000",
        1,
        2,
    );
    run.assert_says("Inserted 5 record(s) into MongoDB at ");
    // 3 records and the 2 markers.
    assert_eq!(mongo.count("cloudmarker"), 5);
}

#[test]
fn mongodbstore_server_down_or_silent_is_a_clear_failure() {
    // Nothing listens.
    let sb = Sandbox::new();
    let port = free_port();
    mongo_config(
        &sb,
        &format!("      port: {port}\n      host: 127.0.0.1\n      server_selection_timeout: 0.5\n      max_retries: 1\n      password: pw-S3cret\n      username: u\n"),
        false,
    );
    let run = run_timed(&sb, &["mongo.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_mongodbstore",
        &format!("mongodbstore: cannot insert 12 record(s) into MongoDB at 127.0.0.1:{port}/cloudmarker.cloudmarker: no usable server"),
        1,
        12,
    );
    assert!(!run.output().contains("pw-S3cret") && !sb.log().contains("pw-S3cret"));

    // A server that takes connections and never answers.
    let sb = Sandbox::new();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    mongo_config(
        &sb,
        &format!("      uri: mongodb://127.0.0.1:{port}/\n      server_selection_timeout: 1\n      connect_timeout: 1\n      max_retries: 0\n"),
        false,
    );
    let run = run_timed(&sb, &["mongo.yaml"]);
    assert_store_failed(&run, "mockaudit_mongodbstore", "no usable server", 1, 12);
    drop(silent);
}

#[test]
fn mongodbstore_server_gone_mid_run_is_a_clear_failure() {
    let sb = Sandbox::new();
    let Some(mut mongo) = Mongo::local(&sb) else {
        return;
    };
    sb.file(
        "slow.yaml",
        "plugins:\n  mockcloud:\n    params: {record_count: 2560, delay_ms: 300}\n",
    );
    mongo_config(
        &sb,
        &format!(
            "      uri: {}\n      db: {}\n      buffer_size: 256\n      max_retries: 1\n      server_selection_timeout: 1\n",
            mongo.uri, mongo.db
        ),
        false,
    );
    assert_store_fails_when_its_server_goes_away(
        &sb,
        "mongo.yaml",
        &mut mongo,
        |s| s.count("cloudmarker") > 0,
        |s| drop(s.server.take()),
        "mongodbstore",
        "cannot insert",
    );
}

/// nx-27017 has no users and answers SCRAM with nonsense; a real MongoDB
/// (`CLOUDMARKER_TEST_MONGODB_URI`) refuses the unknown user. Either way the
/// driver's authentication error must stop the plugin, without the password.
#[test]
fn mongodbstore_refused_login_stops_with_a_clear_error() {
    let sb = Sandbox::new();
    let mongo = Mongo::start(&sb);
    mongo_config(
        &sb,
        &format!(
            "      uri: {}\n      db: {}\n      username: nobody-cm\n      password: wrong-Pw-123\n",
            mongo.uri, mongo.db
        ),
        false,
    );
    let run = run_timed(&sb, &["mongo.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_mongodbstore",
        "refused 12 record(s): authentication failed: ",
        1,
        12,
    );
    run.assert_says("mongodbstore: MongoDB at ");
    run.assert_says("; check username, password and auth_source");
    assert!(!run.output().contains("wrong-Pw-123") && !sb.log().contains("wrong-Pw-123"));
}

// ------------------------------------------------------------- Elasticsearch

/// An Elasticsearch for one test: osmem-server started by the test (with an
/// optional stress proxy in front), or a real cluster named by
/// `CLOUDMARKER_TEST_ES_URL`. Each test uses its own index.
struct Es {
    server: Option<Server>,
    proxy: Option<Server>,
    /// The cluster itself, for reading back.
    url: String,
    index: String,
    real: bool,
}

impl Es {
    fn real() -> Option<String> {
        std::env::var("CLOUDMARKER_TEST_ES_URL").ok()
    }

    fn index_name(sb: &Sandbox) -> String {
        format!(
            "cmtest-{}-{}",
            std::process::id(),
            sb.path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_lowercase()
                .replace('.', "")
        )
    }

    /// The server for a test that also works against a real cluster.
    fn start(sb: &Sandbox) -> Self {
        let index = Es::index_name(sb);
        if let Some(url) = Es::real() {
            return Self {
                server: None,
                proxy: None,
                url: url.trim_end_matches('/').to_string(),
                index,
                real: true,
            };
        }
        let (server, url) = Server::start_announced("es_server.py", 0, &[]);
        assert!(url.starts_with("http://"), "es_server.py said {url:?}");
        Self {
            server: Some(server),
            proxy: None,
            url,
            index,
            real: false,
        }
    }

    /// osmem-server only, for tests that stop or steer the server.
    fn local(sb: &Sandbox) -> Option<Self> {
        if Es::real().is_some() {
            eprintln!("CLOUDMARKER_TEST_ES_URL is set: skipping a local-server-only test.");
            return None;
        }
        Some(Self::start(sb))
    }

    /// Starts the stress proxy with `extra` args; returns its URL.
    fn proxy(&mut self, extra: &[&str], pki: Option<&tls::TestPki>) -> String {
        let port = free_port();
        let mut args: Vec<String> = vec![
            "--port".into(),
            port.to_string(),
            "--upstream".into(),
            self.url.clone(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let scheme = match pki {
            Some(pki) => {
                args.extend(pki.server_args());
                "https"
            }
            None => "http",
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.proxy = Some(Server::start("es_proxy.py", port, &args));
        format!("{scheme}://127.0.0.1:{port}")
    }

    fn http() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    fn put(&self, path: &str, body: Value) {
        let response = Es::http()
            .put(format!("{}/{path}", self.url))
            .json(&body)
            .send()
            .unwrap();
        assert!(response.status().is_success(), "{:?}", response.text());
    }

    /// The indexed documents as `(_id, _source)`, after a refresh.
    fn documents(&self) -> Vec<(String, Value)> {
        let http = Es::http();
        let _ = http
            .post(format!("{}/{}/_refresh", self.url, self.index))
            .send();
        let answer: Value = http
            .get(format!("{}/{}/_search?size=5000", self.url, self.index))
            .send()
            .unwrap()
            .json()
            .unwrap();
        answer["hits"]["hits"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .map(|h| (h["_id"].as_str().unwrap().to_string(), h["_source"].clone()))
            .collect()
    }
}

impl Drop for Es {
    fn drop(&mut self) {
        if self.real {
            let _ = Es::http()
                .delete(format!("{}/{}", self.url, self.index))
                .send();
        }
    }
}

/// `esstore` with `params` (YAML mapping lines) as a store of the audit, and
/// as an alert when `alert` is set.
fn es_config(sb: &Sandbox, params: &str, alert: bool) {
    let alerts = if alert {
        "[filestore, esstore]"
    } else {
        "[filestore]"
    };
    sb.file(
        "es.yaml",
        &format!(
            "plugins:\n  esstore:\n    params:\n      timeout: 10\n      retry_delay: 0.1\n{params}audits:\n  mockaudit:\n    stores: [filestore, esstore]\n    alerts: {alerts}\n"
        ),
    );
}

#[test]
fn esstore_indexes_every_record_event_and_marker() {
    let sb = Sandbox::new();
    let es = Es::start(&sb);
    es_config(
        &sb,
        &format!("      url: {}\n      index: {}\n", es.url, es.index),
        true,
    );
    let run = run_timed(&sb, &["es.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    run.assert_says("Audit mockaudit finished: 10 records read, 4 events, 28 writes, 0 failures");
    run.assert_says("Indexed 12 record(s) into Elasticsearch at ");
    run.assert_says("Indexed 6 record(s) into Elasticsearch at ");
    let docs = es.documents();
    let sources: Vec<Value> = docs.iter().map(|(_, s)| s.clone()).collect();
    assert_same_as_filestore(&sb, &sources, "esstore");
    // Ids: audit version, origin worker (or marker kind), position.
    for (id, source) in &docs {
        let version = source["com"]["audit_version"].as_str().unwrap();
        let expected = match source["com"]["origin_worker"].as_str() {
            Some(worker) => format!("{version}:{worker}:"),
            None => format!(
                "{version}:{}:{}:",
                source["com"]["target_type"].as_str().unwrap(),
                source["com"]["record_type"].as_str().unwrap()
            ),
        };
        assert!(id.starts_with(&expected), "{id} for {source}");
    }
    let data_id = docs
        .iter()
        .find(|(_, s)| s["raw"]["data"] == 7)
        .map(|(id, _)| id.clone())
        .unwrap();
    assert!(data_id.ends_with(":mockaudit_mockcloud:7"), "{data_id}");
}

#[test]
fn esstore_refuses_an_answer_larger_than_max_response_bytes() {
    let sb = Sandbox::new();
    let es = Es::start(&sb);
    es_config(
        &sb,
        &format!(
            "      url: {}\n      index: {}\n      max_retries: 0\n      max_response_bytes: 16\n",
            es.url, es.index
        ),
        false,
    );
    let run = run_timed(&sb, &["es.yaml"]);
    assert_eq!(run.status, Some(1), "{}", run.output());
    run.assert_says("the answer is larger than 16 bytes (");
    run.assert_says("max_response_bytes); it was not read");
}

#[test]
fn esstore_uses_host_and_port_and_flushes_by_bytes() {
    let sb = Sandbox::new();
    let Some(es) = Es::local(&sb) else {
        return;
    };
    let url = reqwest::Url::parse(&es.url).unwrap();
    sb.file(
        "many.yaml",
        "plugins:\n  mockcloud:\n    params: {record_count: 1000}\n",
    );
    es_config(
        &sb,
        &format!(
            "      host: {}\n      port: {}\n      index: {}\n      buffer_size: 50000\n",
            url.host_str().unwrap(),
            url.port().unwrap(),
            es.index
        ),
        false,
    );
    let run = run_timed(&sb, &["es.yaml", "many.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    run.assert_says("Indexed 1002 record(s) into Elasticsearch at ");
    let docs = es.documents();
    assert_eq!(docs.len(), 1002);
}

#[test]
fn esstore_counts_refused_items_and_indexes_the_rest() {
    let sb = Sandbox::new();
    let es = Es::start(&sb);
    es.put(
        &es.index,
        serde_json::json!({"mappings": {"properties": {"raw": {"properties": {"n": {"type": "integer"}}}}}}),
    );
    let records: Vec<Value> = [json_n(1), json_n("abc"), json_n(3), json_n("x"), json_n(5)]
        .into_iter()
        .map(|n| serde_json::json!({"raw": {"n": n}, "ext": {}, "com": {}}))
        .collect();
    let path = sb.file("records.json", &serde_json::to_string(&records).unwrap());
    sb.file(
        "bad.yaml",
        &format!(
            "plugins:\n  jsoncloud:\n    plugin: jsoncloud\n    params:\n      path: {}\naudits:\n  mockaudit:\n    clouds: [jsoncloud]\n",
            path.display()
        ),
    );
    es_config(
        &sb,
        &format!("      url: {}\n      index: {}\n", es.url, es.index),
        false,
    );
    let run = run_timed(&sb, &["es.yaml", "bad.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_esstore",
        "refused 2 record(s): 2 x mapper_parsing_exception: failed to parse field [raw.n]",
        1,
        2,
    );
    // 3 good records and the 2 markers.
    assert_eq!(es.documents().len(), 5);
}

fn json_n(n: impl Into<Value>) -> Value {
    n.into()
}

#[test]
fn esstore_retries_rejected_items_without_duplicates() {
    let sb = Sandbox::new();
    let Some(mut es) = Es::local(&sb) else {
        return;
    };
    // The first two bulks are indexed but every item is answered with 429.
    let url = es.proxy(&["--reject-items", "2"], None);
    es_config(
        &sb,
        &format!("      url: {url}\n      index: {}\n", es.index),
        false,
    );
    let run = run_timed(&sb, &["es.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    run.assert_says("12 item(s) answered 429 or 5xx; retrying in ");
    run.assert_says("Indexed 12 record(s) into Elasticsearch at ");
    assert_eq!(
        es.documents().len(),
        12,
        "retries overwrite, never duplicate"
    );
}

#[test]
fn esstore_429_storm_server_down_and_bad_credentials_end_with_a_count() {
    let sb = Sandbox::new();
    let Some(mut es) = Es::local(&sb) else {
        return;
    };
    let url = es.proxy(&["--throttle", "1000"], None);
    es_config(
        &sb,
        &format!(
            "      url: {url}\n      index: {}\n      max_retries: 2\n",
            es.index
        ),
        false,
    );
    let run = run_timed(&sb, &["es.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_esstore",
        &format!("esstore: cannot index 12 record(s) into Elasticsearch at {url}/{}: HTTP 429 Too Many Requests: es_rejected_execution_exception: rejected execution of coordinating operation, after 3 attempt(s)", es.index),
        1,
        12,
    );

    let url = es.proxy(&["--user", "elastic", "--password", "right-Pw"], None);
    es_config(
        &sb,
        &format!("      url: {url}\n      index: {}\n      username: elastic\n      password: wrong-Pw-77\n", es.index),
        false,
    );
    let run = run_timed(&sb, &["es.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_esstore",
        "HTTP 401 Unauthorized: security_exception: unable to authenticate user",
        1,
        12,
    );
    assert!(!run.output().contains("wrong-Pw-77") && !sb.log().contains("wrong-Pw-77"));

    // The right password passes the same proxy.
    es_config(
        &sb,
        &format!("      url: {url}\n      index: {}\n      username: elastic\n      password: right-Pw\n", es.index),
        false,
    );
    let run = run_timed(&sb, &["es.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());

    // An API key goes as `Authorization: ApiKey <key>` and is never logged.
    let key = "S2V5SWQ6c2VjcmV0LUFwaUtleQ==";
    let url = es.proxy(&["--api-key", key], None);
    es_config(
        &sb,
        &format!(
            "      url: {url}\n      index: {}\n      api_key: {key}\n",
            es.index
        ),
        false,
    );
    let run = run_timed(&sb, &["es.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    assert!(!run.output().contains(key) && !sb.log().contains(key));

    let port = free_port();
    es_config(
        &sb,
        &format!("      port: {port}\n      host: 127.0.0.1\n      max_retries: 1\n"),
        false,
    );
    let run = run_timed(&sb, &["es.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_esstore",
        &format!("esstore: cannot index 12 record(s) into Elasticsearch at http://127.0.0.1:{port}/cloudmarker: "),
        1,
        12,
    );
}

#[test]
fn esstore_tls_with_a_private_ca_or_without_verification() {
    let sb = Sandbox::new();
    let Some(mut es) = Es::local(&sb) else {
        return;
    };
    let pki = tls::generate(sb.path());
    let url = es.proxy(&[], Some(&pki));
    let base = format!("      url: {url}\n      index: {}\n", es.index);
    es_config(
        &sb,
        &format!("{base}      ca_cert: {}\n", pki.ca_cert.display()),
        false,
    );
    let run = run_timed(&sb, &["es.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    assert_eq!(es.documents().len(), 12);

    es_config(&sb, &format!("{base}      verify_certs: false\n"), false);
    let run = run_timed(&sb, &["es.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());

    es_config(&sb, &format!("{base}      max_retries: 0\n"), false);
    let run = run_timed(&sb, &["es.yaml"]);
    assert_store_failed(
        &run,
        "mockaudit_esstore",
        "cannot index 12 record(s)",
        1,
        12,
    );
    run.assert_says("certificate");
}

#[test]
fn esstore_server_gone_mid_run_is_a_clear_failure() {
    let sb = Sandbox::new();
    let Some(mut es) = Es::local(&sb) else {
        return;
    };
    sb.file(
        "slow.yaml",
        "plugins:\n  mockcloud:\n    params: {record_count: 2560, delay_ms: 300}\n",
    );
    es_config(
        &sb,
        &format!(
            "      url: {}\n      index: {}\n      buffer_size: 100000\n      max_retries: 1\n",
            es.url, es.index
        ),
        false,
    );
    assert_store_fails_when_its_server_goes_away(
        &sb,
        "es.yaml",
        &mut es,
        |s| !s.documents().is_empty(),
        |s| drop(s.server.take()),
        "esstore",
        "esstore: cannot index ",
    );
}

// ----------------------------------------------------------------- Benchmark

/// Records per second of the mock audit into filestore alone and into
/// filestore plus each store, with the release build and the test servers
/// on loopback. Run with `cargo build --release --workspace` first, then
/// `cargo test -p cloudmarker --test stores -- --ignored --nocapture store_throughput`
/// (`CLOUDMARKER_BENCH_RECORDS` sets the record count, 20000 by default).
#[test]
#[ignore = "a benchmark; needs the release build"]
fn store_throughput() {
    let root = common::python::root();
    let exe = root.join("target/release/cloudmarker");
    assert!(
        exe.is_file(),
        "build the release first: cargo build --release --workspace"
    );
    let records: u64 = std::env::var("CLOUDMARKER_BENCH_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20000);
    let sb = Sandbox::new();
    let hec = Hec::local(&sb, &[], None).unwrap();
    let mongo = Mongo::local(&sb).unwrap();
    let es = Es::local(&sb).unwrap();
    let stores = [
        ("filestore only", String::new(), ""),
        (
            "splunkhecstore",
            format!("  splunkhecstore:\n    plugin: splunkhecstore\n    params: {{uri: \"{}\", token: {}}}\n", hec.uri, hec.token),
            "splunkhecstore",
        ),
        (
            "mongodbstore",
            format!("  mongodbstore:\n    params: {{uri: \"{}\", db: {}}}\n", mongo.uri, mongo.db),
            "mongodbstore",
        ),
        (
            "esstore",
            format!("  esstore:\n    params: {{url: \"{}\", index: {}}}\n", es.url, es.index),
            "esstore",
        ),
    ];
    println!(
        "| stores | records | seconds | records/s | cloudmarker CPU s |\n|---|---:|---:|---:|---:|"
    );
    for (name, plugin, key) in stores {
        let store_list = if key.is_empty() {
            "[filestore]".to_string()
        } else {
            format!("[filestore, {key}]")
        };
        sb.file(
            "bench.yaml",
            &format!(
                "plugins:\n  mockcloud:\n    params: {{record_count: {records}}}\n{plugin}audits:\n  mockaudit:\n    stores: {store_list}\n    events: []\n    alerts: []\nlogger:\n  console: false\n"
            ),
        );
        // GNU time, when there, tells how much CPU cloudmarker itself used:
        // the rest of the wall time is spent waiting for the server.
        let cpu_file = sb.path().join("cpu.txt");
        let gnu_time = std::path::Path::new("/usr/bin/time");
        let mut command = if gnu_time.is_file() {
            let mut c = std::process::Command::new(gnu_time);
            c.args(["-f", "%U %S", "-o"]).arg(&cpu_file).arg(&exe);
            c
        } else {
            std::process::Command::new(&exe)
        };
        let started = Instant::now();
        let status = command
            .args([
                "--plugin-dir",
                root.join("target/release").to_str().unwrap(),
            ])
            .args(["-n", "-c", "sandbox.yaml", "bench.yaml"])
            .current_dir(sb.path())
            .env("HOME", sb.path())
            .status()
            .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        assert!(status.success(), "{name}: {status}\n{}", sb.log());
        let cpu: f64 = std::fs::read_to_string(&cpu_file)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|t| t.parse::<f64>().ok())
            .sum();
        let stores = if key.is_empty() {
            "filestore".to_string()
        } else {
            format!("filestore + {name}")
        };
        println!(
            "| {stores} | {records} | {seconds:.2} | {:.0} | {cpu:.2} |",
            records as f64 / seconds
        );
    }
}

#[test]
fn mongodbstore_tls_with_a_private_ca_and_failing_verification() {
    let sb = Sandbox::new();
    let Some(mongo) = Mongo::local(&sb) else {
        return;
    };
    let pki = tls::generate(sb.path());
    let port = free_port();
    let upstream = mongo.server.as_ref().unwrap().port.to_string();
    let mut args = vec![
        "--port".to_string(),
        port.to_string(),
        "--upstream".into(),
        upstream,
    ];
    args.extend(pki.server_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _tunnel = Server::start("tls_tunnel.py", port, &args);
    let base = format!(
        "      host: 127.0.0.1\n      port: {port}\n      db: {}\n",
        mongo.db
    );
    mongo_config(
        &sb,
        &format!("{base}      tls_ca_file: {}\n", pki.ca_cert.display()),
        false,
    );
    let run = run_timed(&sb, &["mongo.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    assert_eq!(mongo.count("cloudmarker"), 12);

    // TLS without the private CA: the certificate is refused.
    mongo_config(
        &sb,
        &format!(
            "{base}      tls: true\n      max_retries: 0\n      server_selection_timeout: 1\n"
        ),
        false,
    );
    let run = run_timed(&sb, &["mongo.yaml"]);
    assert_store_failed(&run, "mockaudit_mongodbstore", "no usable server", 1, 12);
    assert!(
        run.output().to_lowercase().contains("certificate"),
        "{}",
        run.output()
    );
    assert_eq!(mongo.count("cloudmarker"), 12);
}
