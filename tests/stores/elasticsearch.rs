//! esstore against Elasticsearch/OpenSearch (osmem-server, or a real cluster).

use super::*;

/// An Elasticsearch for one test: osmem-server started by the test (with an
/// optional stress proxy in front), or a real cluster named by
/// `CLOUDMARKER_TEST_ES_URL`. Each test uses its own index.
pub(crate) struct Es {
    pub(crate) server: Option<Server>,
    pub(crate) proxy: Option<Server>,
    /// The cluster itself, for reading back.
    pub(crate) url: String,
    /// Where the store writes when not to the cluster (a proxy).
    pub(crate) writes_to: Option<String>,
    pub(crate) index: String,
    pub(crate) real: bool,
}

impl Es {
    pub(crate) fn real() -> Option<String> {
        std::env::var("CLOUDMARKER_TEST_ES_URL").ok()
    }

    pub(crate) fn index_name(sb: &Sandbox) -> String {
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
    pub(crate) fn start(sb: &Sandbox) -> Self {
        let index = Es::index_name(sb);
        if let Some(url) = Es::real() {
            return Self {
                server: None,
                proxy: None,
                url: url.trim_end_matches('/').to_string(),
                writes_to: None,
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
            writes_to: None,
            index,
            real: false,
        }
    }

    /// osmem-server only, for tests that stop or steer the server.
    pub(crate) fn local(sb: &Sandbox) -> Option<Self> {
        if Es::real().is_some() {
            eprintln!("CLOUDMARKER_TEST_ES_URL is set: skipping a local-server-only test.");
            return None;
        }
        Some(Self::start(sb))
    }

    /// Starts the stress proxy with `extra` args; returns its URL.
    pub(crate) fn proxy(&mut self, extra: &[&str], pki: Option<&tls::TestPki>) -> String {
        let port = free_port();
        let mut args: Vec<String> = vec![
            "--port".into(),
            port.to_string(),
            "--upstream".into(),
            self.url.clone(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let (scheme, tls_args) = tls::http_server_args(pki);
        args.extend(tls_args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.proxy = Some(Server::start("es_proxy.py", port, &args));
        format!("{scheme}://127.0.0.1:{port}")
    }

    pub(crate) fn http() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    pub(crate) fn put(&self, path: &str, body: Value) {
        let response = Es::http()
            .put(format!("{}/{path}", self.url))
            .json(&body)
            .send()
            .unwrap();
        assert!(response.status().is_success(), "{:?}", response.text());
    }

    /// The indexed documents as `(_id, _source)`, after a refresh.
    pub(crate) fn documents(&self) -> Vec<(String, Value)> {
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
    run.assert_status(0);
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
    run.assert_status(1);
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
    run.assert_status(0);
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
    run.assert_status(0);
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
    run.assert_status(0);

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
    run.assert_status(0);
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
    run.assert_status(0);
    assert_eq!(es.documents().len(), 12);

    es_config(&sb, &format!("{base}      verify_certs: false\n"), false);
    let run = run_timed(&sb, &["es.yaml"]);
    run.assert_status(0);

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

impl compliance::StoreServer for Es {
    const PLUGIN: &'static str = "esstore";

    fn start(sb: &Sandbox) -> Self {
        Es::start(sb)
    }

    fn local(sb: &Sandbox) -> Option<Self> {
        Es::local(sb)
    }

    fn flaky(sb: &Sandbox) -> Option<Self> {
        let mut es = Es::local(sb)?;
        // The first two bulks are indexed, but every item is answered 429.
        let url = es.proxy(&["--reject-items", "2"], None);
        es.writes_to = Some(url);
        Some(es)
    }

    fn params(&self) -> String {
        let url = self.writes_to.as_deref().unwrap_or(&self.url);
        format!(
            "      url: {url}\n      index: {}\n      timeout: 10\n",
            self.index
        )
    }

    fn unreachable_params() -> String {
        format!("      url: http://127.0.0.1:{}\n", free_port())
    }

    fn stored(&self) -> Vec<Value> {
        self.documents()
            .into_iter()
            .map(|(_, source)| source)
            .collect()
    }

    fn stop(&mut self) {
        drop(self.server.take());
    }
}

#[test]
fn esstore_passes_the_store_compliance_suite() {
    compliance::run::<Es>();
}
