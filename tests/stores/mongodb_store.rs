//! mongodbstore against MongoDB (nx-27017, or a real server).

use super::*;

/// A MongoDB for one test: nx-27017 started by the test, or a real server
/// named by `CLOUDMARKER_TEST_MONGODB_URI`. Each test uses its own database.
pub(crate) struct Mongo {
    pub(crate) server: Option<Server>,
    pub(crate) uri: String,
    pub(crate) db: String,
    /// Whether this is a real MongoDB, whose test database is dropped after.
    pub(crate) real: bool,
}

impl Mongo {
    pub(crate) fn real() -> Option<String> {
        std::env::var("CLOUDMARKER_TEST_MONGODB_URI").ok()
    }

    /// The server for a test that also works against a real MongoDB.
    pub(crate) fn start(sb: &Sandbox) -> Self {
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
    pub(crate) fn local(sb: &Sandbox) -> Option<Self> {
        if Mongo::real().is_some() {
            eprintln!("CLOUDMARKER_TEST_MONGODB_URI is set: skipping a local-server-only test.");
            return None;
        }
        Some(Self::start(sb))
    }

    /// Runs `f` with the test database, on a runtime of its own.
    pub(crate) fn with_db<T>(&self, f: impl AsyncFnOnce(mongodb::Database) -> T) -> T {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let client = mongodb::Client::with_uri_str(&self.uri).await.unwrap();
            f(client.database(&self.db)).await
        })
    }

    /// The documents of `collection`, as JSON without `_id`.
    pub(crate) fn documents(&self, collection: &str) -> Vec<Value> {
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

    pub(crate) fn count(&self, collection: &str) -> u64 {
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
    // The test's own params win over these (a key set twice in a mapping is
    // a configuration error).
    let defaults: String = [
        "server_selection_timeout: 2",
        "connect_timeout: 2",
        "timeout: 10",
        "retry_delay: 0.1",
    ]
    .iter()
    .filter(|line| {
        let key = line.split(':').next().unwrap_or_default();
        !params
            .lines()
            .any(|p| p.trim_start().starts_with(&format!("{key}:")))
    })
    .map(|line| format!("      {line}\n"))
    .collect();
    sb.file(
        "mongo.yaml",
        &format!(
            "plugins:\n  mongodbstore:\n    params:\n{defaults}{params}audits:\n  mockaudit:\n    stores: [filestore, mongodbstore]\n    alerts: {alerts}\n"
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
    run.assert_status(0);
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
    run.assert_status(0);
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
    run.assert_status(0);
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

impl compliance::StoreServer for Mongo {
    const PLUGIN: &'static str = "mongodbstore";

    fn start(sb: &Sandbox) -> Self {
        Mongo::start(sb)
    }

    fn local(sb: &Sandbox) -> Option<Self> {
        Mongo::local(sb)
    }

    fn flaky(_: &Sandbox) -> Option<Self> {
        // nx-27017 has no hook to fail an insert on purpose; retries without
        // duplicates are covered by the unit tests of the insert client.
        None
    }

    fn params(&self) -> String {
        format!(
            "      uri: {}\n      db: {}\n      collection: records\n      server_selection_timeout: 2\n      connect_timeout: 2\n      timeout: 10\n",
            self.uri, self.db
        )
    }

    fn unreachable_params() -> String {
        format!(
            "      uri: mongodb://127.0.0.1:{}/\n      server_selection_timeout: 1\n      connect_timeout: 1\n",
            free_port()
        )
    }

    fn stored(&self) -> Vec<Value> {
        self.documents("records")
    }

    fn stop(&mut self) {
        drop(self.server.take());
    }
}

#[test]
fn mongodbstore_passes_the_store_compliance_suite() {
    compliance::run::<Mongo>();
}
