//! The bulk API: documents with deterministic ids, the client that sends
//! them, and the reading of bulk answers (the store's retry logic).

use cloudmarker_plugin_api::record::Head;
use cloudmarker_plugin_api::sdk::secret;
use elasticsearch::http::StatusCode;
use elasticsearch::{BulkParts, Elasticsearch};
use serde::Deserialize;
use std::collections::HashMap;
use storekit::{PrivateRuntime, Sent, StoreClient};

/// Elasticsearch refuses longer `_id`s.
const MAX_ID_BYTES: usize = 512;

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
pub enum Outcome {
    /// Positions of the items to send again (429, 5xx), and the positions
    /// and reasons of the items refused for good.
    Items {
        /// To send again.
        retry: Vec<usize>,
        /// Refused for good.
        refused: Vec<(usize, String)>,
    },
    /// The whole request may pass later.
    Transient(String),
    /// The whole request was refused.
    Permanent(String),
}

/// Gives each record its `_id`: the next position in its stream.
#[derive(Debug, Default)]
pub struct DocumentIds {
    positions: HashMap<String, u64>,
    /// The run's audit version, once a record has named it.
    version: Option<String>,
}

impl DocumentIds {
    /// The bulk lines of `record` with its `_id`.
    pub fn bulk_lines(&mut self, record: &str) -> String {
        let (key, version) = stream_key(record);
        if self.version.is_none() {
            self.version = version;
        }
        self.lines_in_stream(&key, record)
    }

    /// The stream of the records that producer `origin` made in this run
    /// (what [`DocumentIds::bulk_lines`] finds in each of them), once the
    /// run's audit version is known.
    pub fn origin_stream(&self, origin: &str) -> Option<String> {
        Some(format!("{}:{origin}", self.version.as_ref()?))
    }

    /// The bulk lines of `record`, the next document of stream `key`.
    pub fn lines_in_stream(&mut self, key: &str, record: &str) -> String {
        if !self.positions.contains_key(key) {
            self.positions.insert(key.to_string(), 0);
        }
        let position = self.positions.get_mut(key).expect("inserted above");
        let id = document_id(key, *position);
        *position += 1;
        bulk_lines(&id, record)
    }
}

/// The cluster's `_bulk` endpoint for one index.
pub struct BulkClient {
    /// The async client on its private runtime.
    pub es: PrivateRuntime<Elasticsearch>,
    /// The index.
    pub index: String,
    /// `scheme://host:port/index`, for messages.
    pub target: String,
    /// Bytes of an answer read at most.
    pub max_answer: u64,
}

impl BulkClient {
    /// Reaches the server and checks the credentials (`GET /`, the cluster
    /// information); returns its product version.
    pub fn health(&self) -> Result<String, String> {
        let target = &self.target;
        self.es.block_on(|client| async move {
            let response = client
                .info()
                .send()
                .await
                .map_err(|e| network(&e, target))?;
            let status = response.status_code();
            let text = response.text().await.map_err(|e| network(&e, target))?;
            if !status.is_success() {
                return Err(format!("HTTP {status}: {}", secret::excerpt(&text)));
            }
            let info: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            Ok(match info["version"]["number"].as_str() {
                Some(version) => format!("reached version {version}"),
                None => "reached the server".to_string(),
            })
        })?
    }

    /// Sends one bulk request with `body`; returns the HTTP status and body.
    fn bulk(&self, body: String) -> Result<(StatusCode, String), String> {
        let (index, target, max_answer) = (&self.index, &self.target, self.max_answer);
        self.es.block_on(|client| async move {
            let response = client
                .bulk(BulkParts::Index(index))
                .body(vec![body])
                .send()
                .await
                .map_err(|e| network(&e, target))?;
            let status = response.status_code();
            // The client offers no streaming read: an answer that announces
            // more than the limit is refused before it is read.
            if let Some(length) = response.content_length().filter(|n| *n > max_answer) {
                return Err(format!(
                    "the answer is larger than {max_answer} bytes ({length}; max_response_bytes); it was not read"
                ));
            }
            let text = response
                .text()
                .await
                .map_err(|e| network(&e, target))?;
            Ok((status, text))
        })?
    }
}

impl StoreClient for BulkClient {
    /// The two bulk lines of one record.
    type Item = String;

    fn bytes(lines: &String) -> usize {
        lines.len()
    }

    fn send(&mut self, batch: &[String], _attempt: u32) -> Sent {
        let outcome = match self.bulk(batch.concat()) {
            Ok((status, text)) => read_answer(status, &text, batch.len()),
            Err(reason) => Outcome::Transient(reason),
        };
        match outcome {
            Outcome::Items { retry, refused } => Sent::Items {
                retry_reason: (!retry.is_empty())
                    .then(|| format!("{} item(s) answered 429 or 5xx", retry.len())),
                retry,
                refused,
            },
            Outcome::Transient(reason) => Sent::Transient {
                reason,
                retry_after: None,
            },
            Outcome::Permanent(reason) => Sent::Permanent(reason),
        }
    }
}

/// The stream a record belongs to and its `_id` prefix: the audit version and
/// the origin worker (or, for the host's markers, the marker's target type).
fn stream_key(record: &str) -> (String, Option<String>) {
    let Ok(Head { com, .. }) = Head::parse_stamped(record) else {
        return ("unknown".into(), None);
    };
    if com.audit_version.is_none() && com.origin_worker.is_none() && com.target_type.is_none() {
        return ("unknown".into(), None);
    }
    let run = com.audit_version.as_deref().map(str::to_string);
    let version = com.audit_version.unwrap_or_default();
    let key = match com.origin_worker {
        Some(worker) => format!("{version}:{worker}"),
        None => format!(
            "{version}:{}:{}",
            com.target_type.unwrap_or_default(),
            com.record_type.unwrap_or_default()
        ),
    };
    (key, run)
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

/// A failure to reach `target` (`scheme://host:port/index`), which says
/// when a timeout over https may be a server that does not speak TLS.
fn network(error: &(dyn std::error::Error + 'static), target: &str) -> String {
    storekit::network::describe(error, target, target.starts_with("https://"))
}

/// `type: reason` of an Elasticsearch error object (or its text), as an
/// excerpt: the server's words may echo what was sent.
fn error_text(error: &serde_json::Value) -> String {
    let kind = error.get("type").and_then(|t| t.as_str());
    let reason = error.get("reason").and_then(|t| t.as_str());
    match (kind, reason) {
        (Some(k), Some(r)) => secret::excerpt(&format!("{k}: {r}")),
        (Some(k), None) => secret::excerpt(k),
        _ => short(&error.to_string()),
    }
}

/// The start of a server's text: at most [`secret::EXCERPT_CHARS`]
/// characters on one line, known secrets removed before it is cut.
fn short(text: &str) -> String {
    secret::excerpt(text)
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
            refused.push((position, reason));
        }
    }
    Outcome::Items { retry, refused }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use cloudmarker_plugin_api::record::com::{AUDIT_VERSION, RECORD_TYPE, TARGET_TYPE};

    /// A record of `version` from `worker` (a marker without one).
    pub(crate) fn record(version: &str, worker: Option<&str>, n: u64) -> String {
        let mut com =
            serde_json::json!({AUDIT_VERSION: version, TARGET_TYPE: "store", RECORD_TYPE: "mock"});
        if let Some(w) = worker {
            com["origin_worker"] = w.into();
        }
        serde_json::json!({"raw": {"n": n}, "com": com}).to_string()
    }

    #[test]
    fn ids_follow_version_worker_and_position() {
        let (key, run) = stream_key(&record("20261122_093200", Some("a_mockcloud"), 1));
        assert_eq!(key, "20261122_093200:a_mockcloud");
        assert_eq!(run.as_deref(), Some("20261122_093200"));
        assert_eq!(document_id(&key, 7), "20261122_093200:a_mockcloud:7");
        let (marker, _) = stream_key(&record("v", None, 1));
        assert_eq!(marker, "v:store:mock");
        assert_eq!(stream_key("{}"), ("unknown".to_string(), None));
        let long = "w".repeat(600);
        let id = document_id(&long, 3);
        assert!(id.len() < 40 && id.ends_with(":3"), "{id}");
        assert_eq!(id, document_id(&long, 3), "stable");
    }

    #[test]
    fn a_batch_of_one_origin_gets_the_ids_each_record_would_give() {
        let version = "20261122_093200";
        let records: Vec<String> = (0..3)
            .map(|n| record(version, Some("a_mockcloud"), n))
            .collect();
        let mut read_each = DocumentIds::default();
        let each: Vec<String> = records.iter().map(|r| read_each.bulk_lines(r)).collect();

        let mut by_origin = DocumentIds::default();
        assert_eq!(
            by_origin.origin_stream("a_mockcloud"),
            None,
            "no run named yet"
        );
        by_origin.bulk_lines(&record(version, None, 0));
        let key = by_origin.origin_stream("a_mockcloud").unwrap();
        let batch: Vec<String> = records
            .iter()
            .map(|r| by_origin.lines_in_stream(&key, r))
            .collect();
        assert_eq!(batch, each);
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
                refused: vec![(
                    2,
                    "mapper_parsing_exception: failed to parse field [raw.n]".into()
                )]
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
}
