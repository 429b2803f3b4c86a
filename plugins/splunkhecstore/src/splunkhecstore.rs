//! A store and alert plugin that sends records to a Splunk HTTP Event
//! Collector (HEC), in batches.

use crate::hec::{self, Answer};
use cloudmarker_plugin_api::sdk::{self, PluginType, Records, Secret, Sink};
use cloudmarker_plugin_api::{ErrorKind, PluginError};
use reqwest::blocking::Client;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The collector path used when `uri` names only the server.
const EVENT_PATH: &str = "/services/collector/event";

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The longest `Retry-After` the plugin honours; longer asks wait this long.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How the server's certificate is checked: `ca_cert: /path/ca.pem` trusts
/// only that CA (bundle), `ca_cert: false` disables verification (as the
/// original's `ca_cert: False`), `true` (the default) uses the built-in roots.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum CaCert {
    /// Verify with the built-in roots (`true`) or not at all (`false`).
    Verify(bool),
    /// A PEM file of CA certificates to trust instead of the built-in roots.
    File(String),
}

/// Parameters of [`SplunkHecStore`].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplunkHecParams {
    /// The collector: `https://host:8088` (the event endpoint
    /// `/services/collector/event` is added), or a full endpoint URL such as
    /// the original's `https://host:8088/services/collector`.
    pub uri: Option<String>,
    /// The HEC token (never logged).
    pub token: Option<Secret>,
    /// The index for the events; none means the token's default index.
    pub index: Option<String>,
    /// Certificate verification, see [`CaCert`].
    pub ca_cert: CaCert,
    /// Events per post.
    pub buffer_size: usize,
    /// The `sourcetype` of the events.
    pub sourcetype: String,
    /// Seconds to wait for Splunk per request.
    pub timeout: f64,
    /// Retries of a post that failed in a way that may pass (connection
    /// errors, timeouts, 429, 5xx, HEC busy), with exponential backoff.
    pub max_retries: u32,
    /// Seconds before the first retry; each retry waits twice as long.
    pub retry_delay: f64,
    /// Bytes of the collector's answer read at most; a longer answer is a
    /// failure (HEC answers are a few bytes).
    pub max_response_bytes: u64,
}

impl Default for SplunkHecParams {
    fn default() -> Self {
        Self {
            uri: None,
            token: None,
            index: None,
            ca_cert: CaCert::Verify(true),
            buffer_size: 1000,
            sourcetype: "_json".into(),
            timeout: 30.0,
            max_retries: 3,
            retry_delay: 0.5,
            max_response_bytes: cloudrest::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Why a flush did not post every buffered event.
#[derive(Debug, PartialEq)]
enum FlushError {
    /// Still failing after every retry; another flush later may pass.
    Transient(String),
    /// Refused in a way no retry can fix.
    Permanent(String),
}

/// Buffers records as HEC events and posts them in batches of
/// `buffer_size`, and in `done`.
///
/// A post that fails in a way that may pass is retried with backoff; when it
/// still fails, its events stay in the buffer and go again with the next
/// flush (after `buffer_size` more records) and in `done`, so nothing is
/// lost to a short outage. The second failed flush in a row, or a failed
/// flush in `done`, stops the plugin and counts every buffered event as lost.
pub struct SplunkHecStore {
    client: Client,
    /// The event endpoint.
    url: String,
    /// The endpoint for messages: no credentials, no query.
    shown_url: String,
    token: Secret,
    index: Option<String>,
    sourcetype: String,
    buffer_size: usize,
    max_response_bytes: u64,
    max_retries: u32,
    retry_delay: Duration,
    /// Serialized event objects, not yet indexed.
    buffer: Vec<String>,
    /// Whether the last flush failed and kept its events.
    kept: bool,
    /// Events refused one by one since the last report, and the first reason.
    refused: u64,
    refused_reason: String,
    /// Events indexed so far.
    sent: u64,
}

impl PluginType for SplunkHecStore {
    type Params = SplunkHecParams;
    const NAME: &'static str = "splunkhecstore";
    const DESCRIPTION: &'static str =
        "Sends records as events to a Splunk HTTP Event Collector, in batches.";

    fn new(params: SplunkHecParams) -> sdk::Result<Self> {
        let config = |message: String| PluginError::config(format!("splunkhecstore: {message}"));
        let uri = params
            .uri
            .as_deref()
            .ok_or_else(|| config("uri is required (e.g. https://splunk:8088)".into()))?;
        let token = params
            .token
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| config("token is required".into()))?;
        if params.buffer_size == 0 {
            return Err(config("buffer_size must be at least 1".into()));
        }
        for (name, value) in [
            ("timeout", params.timeout),
            ("retry_delay", params.retry_delay),
        ] {
            if !(value.is_finite() && value >= 0.0) || (name == "timeout" && value == 0.0) {
                return Err(config(format!(
                    "{name} must be a positive number of seconds, not {value}"
                )));
            }
        }
        let (url, shown_url) = endpoint(uri).map_err(config)?;
        let client = build_client(&params).map_err(config)?;
        Ok(Self {
            client,
            url,
            shown_url,
            token,
            index: params.index,
            sourcetype: params.sourcetype,
            buffer_size: params.buffer_size,
            max_retries: params.max_retries,
            retry_delay: Duration::from_secs_f64(params.retry_delay),
            max_response_bytes: params.max_response_bytes,
            buffer: Vec::new(),
            kept: false,
            refused: 0,
            refused_reason: String::new(),
            sent: 0,
        })
    }
}

/// The event endpoint for `uri`, and the same without credentials or query
/// for messages.
fn endpoint(uri: &str) -> Result<(String, String), String> {
    let mut url = Url::parse(uri).map_err(|e| format!("uri {uri:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "uri must start with https:// or http://, not {}://",
            url.scheme()
        ));
    }
    if url.path().trim_end_matches('/').is_empty() {
        url.set_path(EVENT_PATH);
    }
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let shown = format!(
        "{}://{}{port}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.path()
    );
    Ok((url.to_string(), shown))
}

fn build_client(params: &SplunkHecParams) -> Result<Client, String> {
    let timeout = Duration::from_secs_f64(params.timeout);
    let mut builder = Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)));
    match &params.ca_cert {
        CaCert::Verify(true) => {}
        CaCert::Verify(false) => builder = builder.danger_accept_invalid_certs(true),
        CaCert::File(path) => {
            let pem = cloudmarker_plugin_api::sdk::files::read_limited(
                std::path::Path::new(path),
                cloudmarker_plugin_api::sdk::files::MAX_PEM_BYTES,
            )
            .map_err(|e| format!("cannot read ca_cert {path}: {e}"))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("ca_cert {path} is not PEM: {e}"))?;
            if certs.is_empty() {
                return Err(format!("ca_cert {path} holds no certificate"));
            }
            builder = builder.tls_built_in_root_certs(false);
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
    }
    builder
        .build()
        .map_err(|e| format!("cannot set up HTTP: {e}"))
}

impl SplunkHecStore {
    /// The HEC event object for `record` (JSON text, already checked).
    fn event(&self, record: &str, time: f64) -> String {
        let mut event = String::with_capacity(record.len() + 96);
        event.push_str("{\"event\":");
        event.push_str(record);
        event.push_str(",\"time\":");
        event.push_str(&format!("{time:.3}"));
        event.push_str(",\"sourcetype\":");
        event.push_str(&quoted(&self.sourcetype));
        if let Some(index) = &self.index {
            event.push_str(",\"index\":");
            event.push_str(&quoted(index));
        }
        event.push('}');
        event
    }

    /// Posts the buffer until it is empty, dropping single events that the
    /// collector refuses and retrying failures that may pass.
    fn flush(&mut self) -> Result<(), FlushError> {
        let mut attempt = 0;
        while !self.buffer.is_empty() {
            let body = self.buffer.concat();
            let (answer, retry_after) = hec::post(
                &self.client,
                &self.url,
                self.token.expose(),
                body,
                self.max_response_bytes,
            );
            match answer {
                Answer::Indexed => {
                    self.sent += self.buffer.len() as u64;
                    log::debug!("Posted {} event(s) to Splunk HEC.", self.buffer.len());
                    self.buffer.clear();
                }
                Answer::EventRefused { index, reason } if index < self.buffer.len() => {
                    // The events before it were indexed; the rest were not read.
                    self.sent += index as u64;
                    self.buffer.drain(..=index);
                    self.refuse(reason);
                }
                Answer::EventRefused { reason, .. } | Answer::Permanent(reason) => {
                    return Err(FlushError::Permanent(reason));
                }
                Answer::Transient(reason) => {
                    if attempt >= self.max_retries {
                        return Err(FlushError::Transient(format!(
                            "{reason}, after {} attempt(s)",
                            attempt + 1
                        )));
                    }
                    // The server's Retry-After wins, within reason.
                    let wait = retry_after
                        .map(|d| d.min(MAX_RETRY_AFTER))
                        .unwrap_or_else(|| backoff(self.retry_delay, attempt));
                    log::warn!(
                        "Splunk HEC at {} did not take {} event(s): {reason}; retrying in {:.1} s.",
                        self.shown_url,
                        self.buffer.len(),
                        wait.as_secs_f64()
                    );
                    std::thread::sleep(wait);
                    attempt += 1;
                }
            }
        }
        Ok(())
    }

    fn refuse(&mut self, reason: String) {
        if self.refused == 0 {
            self.refused_reason = reason;
        }
        self.refused += 1;
    }

    /// The error that stops the plugin: every buffered event is lost.
    fn give_up(&mut self, error: FlushError) -> PluginError {
        let lost = self.buffer.len() as u64 + self.refused;
        let (kind, message) = match error {
            FlushError::Transient(reason) => (
                ErrorKind::UNAVAILABLE,
                format!(
                    "splunkhecstore: cannot post {} event(s) to Splunk HEC at {}: {reason}",
                    self.buffer.len(),
                    self.shown_url
                ),
            ),
            FlushError::Permanent(reason) => {
                let hint = hint(&reason);
                (
                    ErrorKind::FAILED,
                    format!(
                        "splunkhecstore: Splunk HEC at {} refused {} event(s): {reason}{hint}",
                        self.shown_url,
                        self.buffer.len()
                    ),
                )
            }
        };
        self.buffer.clear();
        self.refused = 0;
        PluginError {
            records_failed: lost,
            ..PluginError::new(kind, message)
        }
    }

    /// A partial error for the events refused since the last report.
    fn take_refused(&mut self) -> sdk::Result<()> {
        if self.refused == 0 {
            return Ok(());
        }
        let n = std::mem::take(&mut self.refused);
        Err(PluginError::partial(
            n,
            format!(
                "splunkhecstore: Splunk HEC at {} refused {n} event(s), the first with {}",
                self.shown_url, self.refused_reason
            ),
        ))
    }
}

/// What to check for the permanent errors people cause.
fn hint(reason: &str) -> &'static str {
    let code = reason
        .strip_prefix("code ")
        .and_then(|r| r.split(':').next())
        .and_then(|c| c.parse::<i64>().ok());
    match code {
        Some(1..=4) => "; check the token param",
        Some(7) => "; check the index param (the token must be allowed to write to it)",
        _ => "",
    }
}

/// The wait before retry `attempt` (0-based): `delay`, doubled each time.
fn backoff(delay: Duration, attempt: u32) -> Duration {
    delay.saturating_mul(1 << attempt.min(16)).min(MAX_BACKOFF)
}

fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Sink for SplunkHecStore {
    fn write(&mut self, records: Records<'_>) -> sdk::Result<()> {
        let time = now();
        let mut invalid = 0;
        for record in records {
            if serde_json::from_str::<serde::de::IgnoredAny>(record).is_err() {
                invalid += 1;
                continue;
            }
            let event = self.event(record, time);
            self.buffer.push(event);
        }
        if invalid > 0 {
            self.refuse(format!("{invalid} record(s) that are not JSON"));
            self.refused += invalid - 1;
        }
        // After a failed flush the kept events wait for another buffer_size
        // records, so an outage is retried once more before the plugin stops.
        let limit = if self.kept {
            2 * self.buffer_size
        } else {
            self.buffer_size
        };
        if self.buffer.len() >= limit {
            match self.flush() {
                Ok(()) => self.kept = false,
                Err(FlushError::Transient(reason)) if !self.kept => {
                    self.kept = true;
                    log::warn!(
                        "Splunk HEC at {} did not take {} event(s): {reason}; keeping them for the next flush.",
                        self.shown_url,
                        self.buffer.len()
                    );
                }
                Err(e) => return Err(self.give_up(e)),
            }
        }
        self.take_refused()
    }

    fn done(&mut self) -> sdk::Result<()> {
        if let Err(e) = self.flush() {
            return Err(self.give_up(e));
        }
        log::info!(
            "Posted {} event(s) to Splunk HEC at {}.",
            self.sent,
            self.shown_url
        );
        self.take_refused()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(extra: serde_json::Value) -> SplunkHecStore {
        let mut params = serde_json::json!({"uri": "http://127.0.0.1:9", "token": "t0k3n"});
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        SplunkHecStore::new(serde_json::from_value(params).unwrap()).unwrap()
    }

    #[test]
    fn the_event_endpoint_is_added_to_a_bare_server_uri() {
        assert_eq!(
            endpoint("https://splunk:8088").unwrap().0,
            "https://splunk:8088/services/collector/event"
        );
        assert_eq!(
            endpoint("https://splunk:8088/services/collector")
                .unwrap()
                .0,
            "https://splunk:8088/services/collector"
        );
        assert_eq!(
            endpoint("https://user:pw@splunk:8088/?a=b").unwrap().1,
            "https://splunk:8088/services/collector/event"
        );
        assert!(endpoint("ftp://splunk").is_err());
        assert!(endpoint("splunk:8088").is_err());
    }

    #[test]
    fn events_wrap_the_record_with_index_and_sourcetype() {
        let s = store(serde_json::json!({"index": "main"}));
        let event: serde_json::Value =
            serde_json::from_str(&s.event(r#"{"raw":{"a":1},"com":{}}"#, 1.5)).unwrap();
        assert_eq!(
            event,
            serde_json::json!({"event": {"raw": {"a": 1}, "com": {}}, "time": 1.5,
                "sourcetype": "_json", "index": "main"})
        );
        let s = store(serde_json::json!({}));
        assert!(!s.event("{}", 0.0).contains("index"));
    }

    #[test]
    fn ca_cert_is_a_path_or_a_boolean() {
        let p: SplunkHecParams = serde_json::from_str(r#"{"ca_cert": false}"#).unwrap();
        assert_eq!(p.ca_cert, CaCert::Verify(false));
        let p: SplunkHecParams = serde_json::from_str(r#"{"ca_cert": "/x/ca.pem"}"#).unwrap();
        assert_eq!(p.ca_cert, CaCert::File("/x/ca.pem".into()));
        let missing = SplunkHecStore::new(
            serde_json::from_str(r#"{"uri": "http://h", "token": "t", "ca_cert": "/nonexistent"}"#)
                .unwrap(),
        );
        assert!(missing
            .err()
            .unwrap()
            .message
            .contains("cannot read ca_cert"));
    }

    #[test]
    fn required_params_and_the_token_stays_secret() {
        let err = SplunkHecStore::new(serde_json::from_str(r#"{"uri": "http://h"}"#).unwrap())
            .err()
            .unwrap();
        assert_eq!(err.message, "splunkhecstore: token is required");
        let p: SplunkHecParams = serde_json::from_str(r#"{"token": "s3cret"}"#).unwrap();
        assert!(!format!("{p:?}").contains("s3cret"));
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let d = Duration::from_millis(500);
        assert_eq!(backoff(d, 0), d);
        assert_eq!(backoff(d, 2), Duration::from_secs(2));
        assert_eq!(backoff(d, 40), MAX_BACKOFF);
    }

    #[test]
    fn hints_name_the_param_to_check() {
        assert!(hint("code 4: Invalid token (HTTP 403)").contains("token"));
        assert!(hint("code 7: Incorrect index (HTTP 400)").contains("index"));
        assert_eq!(hint("HTTP 404: not found"), "");
    }

    #[test]
    fn records_below_buffer_size_wait_for_done_and_a_failure_keeps_them() {
        // Port 9 (discard) on loopback refuses connections at once.
        let mut s = store(serde_json::json!({"buffer_size": 3, "max_retries": 0}));
        let batch = ["{\"a\":1}", "{\"a\":2}"].map(abi_stable::std_types::RStr::from_str);
        s.write(Records::new(batch.as_slice().into())).unwrap();
        assert_eq!(s.buffer.len(), 2, "below buffer_size: nothing posted yet");

        // Full: the post fails, the events are kept for the next flush.
        s.write(Records::new(batch[..1].into())).unwrap();
        assert!(s.kept);
        assert_eq!(s.buffer.len(), 3);

        // Not JSON: refused, counted, the others kept.
        let bad = ["not json"].map(abi_stable::std_types::RStr::from_str);
        let err = s.write(Records::new(bad.as_slice().into())).unwrap_err();
        assert_eq!((err.kind, err.records_failed), (ErrorKind::PARTIAL, 1));
        assert_eq!(s.buffer.len(), 3);

        // done fails for good and counts every buffered event as lost.
        let err = s.done().unwrap_err();
        assert_eq!((err.kind, err.records_failed), (ErrorKind::UNAVAILABLE, 3));
        assert!(err.message.contains("cannot post 3 event(s) to Splunk HEC at http://127.0.0.1:9/services/collector/event: http://127.0.0.1:9 refused the connection"), "{}", err.message);
        assert!(!err.message.contains("t0k3n"));
    }
}
