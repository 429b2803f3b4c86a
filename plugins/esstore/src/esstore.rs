//! A store and alert plugin that bulk-indexes records into an Elasticsearch
//! (or OpenSearch) index.

use cloudmarker_plugin_api::sdk::{self, net, PluginType, Records, Secret, Sink};
use cloudmarker_plugin_api::{ErrorKind, PluginError};
use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::http::{StatusCode, Url};
use elasticsearch::{BulkParts, Elasticsearch};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::runtime::Runtime;

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Elasticsearch refuses longer `_id`s.
const MAX_ID_BYTES: usize = 512;

/// Parameters of [`EsStore`].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EsParams {
    /// The server's host name.
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// `http` or `https`.
    pub scheme: String,
    /// The full URL of the cluster (`https://es.example:9200`); wins over
    /// `scheme`, `host` and `port`.
    pub url: Option<String>,
    /// The index.
    pub index: String,
    /// Bytes of bulk body to send at once.
    pub buffer_size: usize,
    /// Basic authentication user.
    pub username: Option<String>,
    /// Basic authentication password (never logged).
    pub password: Option<Secret>,
    /// An encoded API key (the base64 `id:key`; never logged).
    pub api_key: Option<Secret>,
    /// A PEM file of CA certificates to trust besides the built-in roots.
    pub ca_cert: Option<String>,
    /// Whether to verify the server's certificate.
    pub verify_certs: bool,
    /// Seconds one request may take.
    pub timeout: f64,
    /// Retries of a bulk request, or of the items in it, that failed in a way
    /// that may pass (connection errors, timeouts, 429, 5xx), with backoff.
    pub max_retries: u32,
    /// Seconds before the first retry; each retry waits twice as long.
    pub retry_delay: f64,
    /// Bytes of one answer read at most (by its `Content-Length`).
    pub max_response_bytes: u64,
}

impl Default for EsParams {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 9200,
            scheme: "http".into(),
            url: None,
            index: "cloudmarker".into(),
            buffer_size: 5_000_000,
            username: None,
            password: None,
            api_key: None,
            ca_cert: None,
            verify_certs: true,
            timeout: 30.0,
            max_retries: 3,
            retry_delay: 0.5,
            max_response_bytes: 64 * 1024 * 1024,
        }
    }
}

/// One record as two bulk lines: the action (with its `_id`) and the source.
#[derive(Debug)]
struct Item {
    lines: String,
}

/// The `com` fields the `_id` is derived from.
#[derive(Deserialize)]
struct Head {
    com: Option<Com>,
}

#[derive(Deserialize)]
struct Com {
    audit_version: Option<String>,
    origin_worker: Option<String>,
    target_type: Option<String>,
    record_type: Option<String>,
}

/// The parts of a bulk answer the plugin reads.
#[derive(Debug, Deserialize)]
struct BulkAnswer {
    #[serde(default)]
    errors: bool,
    #[serde(default)]
    items: Vec<HashMap<String, ItemAnswer>>,
}

#[derive(Debug, Deserialize)]
struct ItemAnswer {
    status: u16,
    error: Option<serde_json::Value>,
}

/// What became of the items of one bulk request.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Positions of the items to send again (429, 5xx), and the reasons of
    /// the items refused for good.
    Items {
        retry: Vec<usize>,
        refused: Vec<String>,
    },
    /// The whole request may pass later.
    Transient(String),
    /// The whole request was refused.
    Permanent(String),
}

/// Why a flush did not index every buffered record.
#[derive(Debug, PartialEq)]
enum FlushError {
    Transient(String),
    Permanent(String),
}

/// Buffers records as bulk lines and sends them with `_bulk` when the next
/// record would push the body past `buffer_size` bytes, and in `done`.
///
/// Each record's `_id` comes from its audit version, its origin worker and
/// its position in that worker's stream, so a retried bulk, or a second
/// delivery of the same run, overwrites instead of duplicating. Items the
/// cluster refuses for good are counted and reported; items and requests
/// answered with 429 or 5xx are retried with backoff. When they still fail,
/// they stay buffered for the next flush and `done`; the second failed flush
/// in a row, or one in `done`, stops the plugin and counts them as lost.
pub struct EsStore {
    runtime: Option<Runtime>,
    client: Option<Elasticsearch>,
    index: String,
    /// `scheme://host:port/index`, for messages.
    target: String,
    buffer: Vec<Item>,
    bytes: usize,
    buffer_size: usize,
    max_retries: u32,
    retry_delay: Duration,
    max_answer: u64,
    /// The next position in each stream (origin worker or marker kind).
    positions: HashMap<String, u64>,
    kept: bool,
    /// Records refused since the last report: count and first reason, by
    /// error type (reasons name the document, so they all differ).
    refused: BTreeMap<String, (u64, String)>,
    indexed: u64,
}

impl PluginType for EsStore {
    type Params = EsParams;
    const NAME: &'static str = "esstore";
    const DESCRIPTION: &'static str =
        "Bulk-indexes records into an Elasticsearch or OpenSearch index.";

    fn new(params: EsParams) -> sdk::Result<Self> {
        let config = |message: String| PluginError::config(format!("esstore: {message}"));
        if params.buffer_size == 0 {
            return Err(config("buffer_size must be at least 1".into()));
        }
        if params.index.is_empty() {
            return Err(config("index must not be empty".into()));
        }
        if !(params.timeout.is_finite() && params.timeout > 0.0) {
            return Err(config(format!(
                "timeout must be a positive number of seconds, not {}",
                params.timeout
            )));
        }
        if !(params.retry_delay.is_finite() && params.retry_delay >= 0.0) {
            return Err(config(format!(
                "retry_delay must be a number of seconds, not {}",
                params.retry_delay
            )));
        }
        let url = match &params.url {
            Some(url) => url.clone(),
            None => format!("{}://{}:{}", params.scheme, params.host, params.port),
        };
        // The URL may carry credentials: never quote it whole.
        let mut url = Url::parse(&url).map_err(|e| config(format!("url is not a URL: {e}")))?;
        // Credentials in the URL become basic authentication, so that no
        // error message (which may quote the URL) ever carries them.
        let mut username = params.username.clone();
        let mut password = params.password.clone();
        if !url.username().is_empty() {
            let decode = percent_decode;
            username.get_or_insert_with(|| decode(url.username()));
            if password.is_none() {
                password = url.password().map(|p| Secret::new(decode(p)));
            }
            let _ = url.set_username("");
            let _ = url.set_password(None);
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Err(config(format!(
                "the scheme must be http or https, not {}",
                url.scheme()
            )));
        }
        let port = url
            .port_or_known_default()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        let target = format!(
            "{}://{}{port}/{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            params.index
        );
        let mut transport = TransportBuilder::new(SingleNodeConnectionPool::new(url))
            .timeout(Duration::from_secs_f64(params.timeout))
            .disable_proxy();
        if let Some(key) = &params.api_key {
            transport = transport.auth(Credentials::EncodedApiKey(key.expose().to_string()));
        } else if let Some(user) = &username {
            transport = transport.auth(Credentials::Basic(
                user.clone(),
                password
                    .as_ref()
                    .map(|p| p.expose().to_string())
                    .unwrap_or_default(),
            ));
        }
        let validation = match (&params.ca_cert, params.verify_certs) {
            (_, false) => CertificateValidation::None,
            (None, true) => CertificateValidation::Default,
            (Some(path), true) => {
                let pem = cloudmarker_plugin_api::sdk::files::read_limited(
                    std::path::Path::new(path),
                    cloudmarker_plugin_api::sdk::files::MAX_PEM_BYTES,
                )
                .map_err(|e| config(format!("cannot read ca_cert {path}: {e}")))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| config(format!("ca_cert {path} is not PEM: {e}")))?;
                CertificateValidation::Full(cert)
            }
        };
        transport = transport.cert_validation(validation);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("esstore")
            .enable_all()
            .build()
            .map_err(|e| config(format!("cannot start a runtime: {e}")))?;
        let transport = {
            let _entered = runtime.enter();
            transport
                .build()
                .map_err(|e| config(format!("cannot set up HTTP: {e}")))?
        };
        Ok(Self {
            runtime: Some(runtime),
            client: Some(Elasticsearch::new(transport)),
            index: params.index,
            target,
            buffer: Vec::new(),
            bytes: 0,
            buffer_size: params.buffer_size,
            max_retries: params.max_retries,
            retry_delay: Duration::from_secs_f64(params.retry_delay),
            max_answer: params.max_response_bytes,
            positions: HashMap::new(),
            kept: false,
            refused: BTreeMap::new(),
            indexed: 0,
        })
    }
}

/// The stream a record belongs to and its `_id` prefix: the audit version and
/// the origin worker (or, for the host's markers, the marker's target type).
fn stream_key(record: &str) -> String {
    let com = serde_json::from_str::<Head>(record)
        .ok()
        .and_then(|h| h.com);
    let Some(com) = com else {
        return "unknown".into();
    };
    let version = com.audit_version.unwrap_or_default();
    match com.origin_worker {
        Some(worker) => format!("{version}:{worker}"),
        None => format!(
            "{version}:{}:{}",
            com.target_type.unwrap_or_default(),
            com.record_type.unwrap_or_default()
        ),
    }
}

/// A deterministic `_id` for the record at `position` of stream `key`.
fn document_id(key: &str, position: u64) -> String {
    let id = format!("{key}:{position}");
    if id.len() <= MAX_ID_BYTES {
        return id;
    }
    // FNV-1a: stable across builds, unlike std's hasher.
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}:{position}")
}

/// The bulk lines for `record` with `id`.
fn bulk_lines(id: &str, record: &str) -> String {
    let action = serde_json::json!({"index": {"_id": id}}).to_string();
    let mut lines = String::with_capacity(action.len() + record.len() + 2);
    lines.push_str(&action);
    lines.push('\n');
    lines.push_str(record);
    lines.push('\n');
    lines
}

/// `type: reason` of an Elasticsearch error object (or its text).
fn error_text(error: &serde_json::Value) -> String {
    let kind = error.get("type").and_then(|t| t.as_str());
    let reason = error.get("reason").and_then(|t| t.as_str());
    match (kind, reason) {
        (Some(k), Some(r)) => format!("{k}: {r}"),
        (Some(k), None) => k.to_string(),
        _ => short(&error.to_string()),
    }
}

fn short(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

fn retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

/// What an answer with `status` and `body` says about `sent` items.
fn read_answer(status: StatusCode, body: &str, sent: usize) -> Outcome {
    if !status.is_success() {
        let value: Option<serde_json::Value> = serde_json::from_str(body).ok();
        let reason = match value.as_ref().and_then(|v| v.get("error")) {
            Some(error) => format!("HTTP {status}: {}", error_text(error)),
            None => format!("HTTP {status}: {}", short(body.trim())),
        };
        return if retryable(status.as_u16()) {
            Outcome::Transient(reason)
        } else {
            Outcome::Permanent(reason)
        };
    }
    let answer: BulkAnswer = match serde_json::from_str(body) {
        Ok(answer) => answer,
        Err(e) => return Outcome::Permanent(format!("the bulk answer is not readable: {e}")),
    };
    let mut retry = Vec::new();
    let mut refused = Vec::new();
    if !answer.errors {
        return Outcome::Items { retry, refused };
    }
    if answer.items.len() != sent {
        return Outcome::Permanent(format!(
            "the bulk answer has {} items for {sent} sent",
            answer.items.len()
        ));
    }
    for (position, item) in answer.items.iter().enumerate() {
        let Some(item) = item.values().next() else {
            continue;
        };
        if (200..300).contains(&item.status) {
            continue;
        }
        if retryable(item.status) {
            retry.push(position);
        } else {
            let reason = item
                .error
                .as_ref()
                .map(error_text)
                .unwrap_or_else(|| format!("status {}", item.status));
            refused.push(reason);
        }
    }
    Outcome::Items { retry, refused }
}

/// The wait before retry `attempt` (0-based): `delay`, doubled each time.
fn backoff(delay: Duration, attempt: u32) -> Duration {
    delay.saturating_mul(1 << attempt.min(16)).min(MAX_BACKOFF)
}

impl EsStore {
    /// Sends one bulk request with `body`; returns the HTTP status and body.
    fn send(&self, body: String) -> Result<(StatusCode, String), String> {
        let (Some(runtime), Some(client)) = (&self.runtime, &self.client) else {
            return Err("the client is closed".into());
        };
        runtime.block_on(async {
            let response = client
                .bulk(BulkParts::Index(&self.index))
                .body(vec![body])
                .send()
                .await
                .map_err(|e| net::describe(&e, &self.target))?;
            let status = response.status_code();
            // The client offers no streaming read: an answer that announces
            // more than the limit is refused before it is read.
            if let Some(length) = response.content_length().filter(|n| *n > self.max_answer) {
                return Err(format!(
                    "the answer is larger than {} bytes ({length}; max_response_bytes); it was not read",
                    self.max_answer
                ));
            }
            let text = response.text().await.map_err(|e| net::describe(&e, &self.target))?;
            Ok((status, text))
        })
    }

    /// Sends the buffer until it is empty, counting refused items and
    /// retrying what may pass.
    fn flush(&mut self) -> Result<(), FlushError> {
        let mut attempt = 0;
        while !self.buffer.is_empty() {
            let body: String = self.buffer.iter().map(|i| i.lines.as_str()).collect();
            let outcome = match self.send(body) {
                Ok((status, text)) => read_answer(status, &text, self.buffer.len()),
                Err(reason) => Outcome::Transient(reason),
            };
            let reason = match outcome {
                Outcome::Items { retry, refused } => {
                    let sent = self.buffer.len();
                    self.indexed += (sent - retry.len() - refused.len()) as u64;
                    for reason in refused {
                        let kind = reason.split(':').next().unwrap_or_default().to_string();
                        self.refused.entry(kind).or_insert((0, reason)).0 += 1;
                    }
                    if retry.is_empty() {
                        self.buffer.clear();
                        self.bytes = 0;
                        continue;
                    }
                    let mut items: Vec<Option<Item>> = self.buffer.drain(..).map(Some).collect();
                    self.buffer = retry.iter().filter_map(|&i| items[i].take()).collect();
                    self.bytes = self.buffer.iter().map(|i| i.lines.len()).sum();
                    format!("{} item(s) answered 429 or 5xx", self.buffer.len())
                }
                Outcome::Permanent(reason) => return Err(FlushError::Permanent(reason)),
                Outcome::Transient(reason) => reason,
            };
            if attempt >= self.max_retries {
                return Err(FlushError::Transient(format!(
                    "{reason}, after {} attempt(s)",
                    attempt + 1
                )));
            }
            let wait = backoff(self.retry_delay, attempt);
            log::warn!(
                "Elasticsearch at {} did not take {} record(s): {reason}; retrying in {:.1} s.",
                self.target,
                self.buffer.len(),
                wait.as_secs_f64()
            );
            std::thread::sleep(wait);
            attempt += 1;
        }
        Ok(())
    }

    /// Flushes in `write`: the first failure keeps the records for later.
    fn flush_in_write(&mut self) -> sdk::Result<()> {
        match self.flush() {
            Ok(()) => self.kept = false,
            Err(FlushError::Transient(reason)) if !self.kept => {
                self.kept = true;
                log::warn!(
                    "Elasticsearch at {} did not take {} record(s): {reason}; keeping them for the next flush.",
                    self.target,
                    self.buffer.len()
                );
            }
            Err(e) => return Err(self.give_up(e)),
        }
        Ok(())
    }

    /// The error that stops the plugin: every buffered record is lost.
    fn give_up(&mut self, error: FlushError) -> PluginError {
        let refused: u64 = std::mem::take(&mut self.refused)
            .values()
            .map(|(n, _)| n)
            .sum();
        let lost = self.buffer.len() as u64 + refused;
        let (kind, reason) = match error {
            FlushError::Transient(reason) => (ErrorKind::UNAVAILABLE, reason),
            FlushError::Permanent(reason) => (ErrorKind::FAILED, reason),
        };
        let message = format!(
            "esstore: cannot index {} record(s) into Elasticsearch at {}: {reason}",
            self.buffer.len(),
            self.target
        );
        self.buffer.clear();
        self.bytes = 0;
        PluginError {
            records_failed: lost,
            ..PluginError::new(kind, message)
        }
    }

    /// A partial error for the records refused since the last report.
    fn take_refused(&mut self) -> sdk::Result<()> {
        if self.refused.is_empty() {
            return Ok(());
        }
        let refused = std::mem::take(&mut self.refused);
        let total: u64 = refused.values().map(|(n, _)| n).sum();
        let reasons: Vec<String> = refused
            .values()
            .map(|(n, reason)| format!("{n} x {reason}"))
            .collect();
        Err(PluginError::partial(
            total,
            format!(
                "esstore: Elasticsearch at {} refused {total} record(s): {}",
                self.target,
                reasons.join("; ")
            ),
        ))
    }
}

/// `%XX` escapes decoded (URL user info).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Sink for EsStore {
    fn write(&mut self, records: Records<'_>) -> sdk::Result<()> {
        let total = records.len();
        for (done, record) in records.iter().enumerate() {
            let key = stream_key(record);
            let position = self.positions.entry(key.clone()).or_default();
            let id = document_id(&key, *position);
            *position += 1;
            let item = Item {
                lines: bulk_lines(&id, record),
            };
            let limit = if self.kept {
                2 * self.buffer_size
            } else {
                self.buffer_size
            };
            if !self.buffer.is_empty() && self.bytes + item.lines.len() > limit {
                if let Err(mut e) = self.flush_in_write() {
                    // The rest of this batch is lost with the buffer.
                    e.records_failed += (total - done) as u64;
                    return Err(e);
                }
            }
            self.bytes += item.lines.len();
            self.buffer.push(item);
        }
        self.take_refused()
    }

    fn done(&mut self) -> sdk::Result<()> {
        if let Err(e) = self.flush() {
            return Err(self.give_up(e));
        }
        log::info!(
            "Indexed {} record(s) into Elasticsearch at {}.",
            self.indexed,
            self.target
        );
        self.take_refused()
    }
}

impl Drop for EsStore {
    fn drop(&mut self) {
        // The async HTTP client must be dropped inside its runtime.
        if let Some(runtime) = self.runtime.take() {
            {
                let _entered = runtime.enter();
                drop(self.client.take());
            }
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::RStr;

    fn record(version: &str, worker: Option<&str>, n: u64) -> String {
        let mut com = serde_json::json!({"audit_version": version, "target_type": "store",
            "record_type": "mock"});
        if let Some(w) = worker {
            com["origin_worker"] = w.into();
        }
        serde_json::json!({"raw": {"n": n}, "com": com}).to_string()
    }

    #[test]
    fn ids_follow_version_worker_and_position() {
        let key = stream_key(&record("20261122_093200", Some("a_mockcloud"), 1));
        assert_eq!(key, "20261122_093200:a_mockcloud");
        assert_eq!(document_id(&key, 7), "20261122_093200:a_mockcloud:7");
        let marker = stream_key(&record("v", None, 1));
        assert_eq!(marker, "v:store:mock");
        assert_eq!(stream_key("{}"), "unknown");
        let long = "w".repeat(600);
        let id = document_id(&long, 3);
        assert!(id.len() < 40 && id.ends_with(":3"), "{id}");
        assert_eq!(id, document_id(&long, 3), "stable");
    }

    #[test]
    fn credentials_in_the_url_never_reach_messages() {
        let mut s = EsStore::new(
            serde_json::from_value(serde_json::json!({
                "url": "http://elastic:p%40ss-W0rd@127.0.0.1:9", "max_retries": 0
            }))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(s.target, "http://127.0.0.1:9/cloudmarker");
        assert_eq!(percent_decode("p%40ss-W0rd%zz"), "p@ss-W0rd%zz");
        let records = [record("v", Some("w"), 0)];
        let batch: Vec<RStr<'_>> = records.iter().map(|r| RStr::from_str(r)).collect();
        s.write(Records::new(batch.as_slice().into())).unwrap();
        let err = s.done().unwrap_err();
        assert!(!err.message.contains("W0rd"), "{}", err.message);
        assert!(!err.message.contains("elastic"), "{}", err.message);
    }

    #[test]
    fn bulk_answers_split_into_retries_and_refusals() {
        let body = r#"{"errors": true, "items": [
            {"index": {"_id": "a", "status": 201}},
            {"index": {"_id": "b", "status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "busy"}}},
            {"index": {"_id": "c", "status": 400, "error": {"type": "mapper_parsing_exception", "reason": "failed to parse field [raw.n]"}}},
            {"index": {"_id": "d", "status": 503}}
        ]}"#;
        assert_eq!(
            read_answer(StatusCode::OK, body, 4),
            Outcome::Items {
                retry: vec![1, 3],
                refused: vec!["mapper_parsing_exception: failed to parse field [raw.n]".into()]
            }
        );
        assert_eq!(
            read_answer(StatusCode::OK, r#"{"errors": false, "items": []}"#, 9),
            Outcome::Items {
                retry: vec![],
                refused: vec![]
            }
        );
        assert!(matches!(
            read_answer(StatusCode::OK, r#"{"errors": true, "items": []}"#, 2),
            Outcome::Permanent(_)
        ));
    }

    #[test]
    fn whole_request_errors_are_transient_or_permanent() {
        let unauthorized = r#"{"error": {"type": "security_exception", "reason": "missing authentication credentials"}, "status": 401}"#;
        assert_eq!(
            read_answer(StatusCode::UNAUTHORIZED, unauthorized, 1),
            Outcome::Permanent(
                "HTTP 401 Unauthorized: security_exception: missing authentication credentials"
                    .into()
            )
        );
        assert!(matches!(
            read_answer(StatusCode::TOO_MANY_REQUESTS, "slow down", 1),
            Outcome::Transient(r) if r == "HTTP 429 Too Many Requests: slow down"
        ));
        assert!(matches!(
            read_answer(StatusCode::BAD_GATEWAY, "", 1),
            Outcome::Transient(_)
        ));
    }

    #[test]
    fn flushes_before_the_record_that_would_pass_buffer_size() {
        let mut s = EsStore::new(
            serde_json::from_value(serde_json::json!({
                "url": "http://127.0.0.1:9", "buffer_size": 300, "max_retries": 0,
                "password": "pw-secret", "username": "u"
            }))
            .unwrap(),
        )
        .unwrap();
        let records: Vec<String> = (0..2).map(|n| record("v", Some("w"), n)).collect();
        let batch: Vec<RStr<'_>> = records.iter().map(|r| RStr::from_str(r)).collect();
        s.write(Records::new(batch.as_slice().into())).unwrap();
        assert_eq!(s.buffer.len(), 2, "two records fit in 300 bytes");
        assert!(!s.kept);

        // The third would pass 300 bytes: the flush fails and keeps them.
        s.write(Records::new(batch[..1].into())).unwrap();
        assert!(s.kept);
        assert_eq!(s.buffer.len(), 3, "nothing lost, the new record included");
        assert!(s.buffer[2].lines.contains("\"_id\":\"v:w:2\""));

        let err = s.done().unwrap_err();
        assert_eq!((err.kind, err.records_failed), (ErrorKind::UNAVAILABLE, 3));
        assert!(
            err.message
                .starts_with("esstore: cannot index 3 record(s) into Elasticsearch at http://127.0.0.1:9/cloudmarker: "),
            "{}",
            err.message
        );
        assert!(!err.message.contains("pw-secret"));
    }
}
