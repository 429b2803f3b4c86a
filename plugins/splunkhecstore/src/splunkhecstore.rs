//! A store and alert plugin that sends records to a Splunk HTTP Event
//! Collector (HEC), in batches: the params and the encoder; the client is
//! in [`crate::hec`], the batching in the store kit.

use crate::hec::HecClient;
use cloudmarker_plugin_api::sdk::{self, PluginType, Records, Secret, Sink};
use cloudmarker_plugin_api::PluginError;
use reqwest::blocking::Client;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use storekit::{Batcher, BufferLimits, BufferSizeMeans, RetryPolicy, Wording};

/// The collector path used when `uri` names only the server.
const EVENT_PATH: &str = "/services/collector/event";

/// Events per post and bytes per post unless the params say otherwise.
const DEFAULT_LIMITS: BufferLimits = BufferLimits {
    max_records: 1000,
    max_bytes: 100 * 1024 * 1024,
};

/// How the server's certificate is checked: `ca_cert: /path/ca.pem` trusts
/// only that CA (bundle), `ca_cert: false` disables verification (as the
/// original's `ca_cert: False`), `true` (the default) uses the built-in roots.
#[derive(
    Clone, Debug, Deserialize, Serialize, PartialEq, cloudmarker_plugin_api::sdk::schema::JsonSchema,
)]
#[serde(untagged)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub enum CaCert {
    /// Verify with the built-in roots (`true`) or not at all (`false`).
    Verify(bool),
    /// A PEM file of CA certificates to trust instead of the built-in roots.
    File(String),
}

/// Parameters of [`SplunkHecStore`].
#[derive(Debug, Clone, Deserialize, Serialize, cloudmarker_plugin_api::sdk::schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
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
    /// Upstream's name for `max_records` (events per post); `0` posts
    /// every event at once.
    pub buffer_size: Option<usize>,
    /// Events per post at most.
    pub max_records: Option<usize>,
    /// Bytes of events per post at most.
    pub max_bytes: Option<usize>,
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
            buffer_size: None,
            max_records: None,
            max_bytes: None,
            sourcetype: "_json".into(),
            timeout: 30.0,
            max_retries: 3,
            retry_delay: 0.5,
            max_response_bytes: cloudrest::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Sends records as HEC events in batches; see the store kit's [`Batcher`]
/// for buffering, retries and what is lost when.
pub struct SplunkHecStore {
    batcher: Batcher<HecClient>,
    index: Option<String>,
    sourcetype: String,
}

impl PluginType for SplunkHecStore {
    type Params = SplunkHecParams;

    const NAME: &'static str = "splunkhecstore";
    const CLASS: Option<&'static str> = Some("SplunkHECStore");
    const DESCRIPTION: &'static str =
        "Sends records as events to a Splunk HTTP Event Collector, in batches.";

    /// An empty post: the collector answers "No data" once the token is accepted.
    fn health_check(&mut self) -> sdk::Result<String> {
        self.batcher.health_check(HecClient::health)
    }

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
        let limits = BufferLimits::from_params(
            params.buffer_size,
            BufferSizeMeans::Records,
            params.max_records,
            params.max_bytes,
            DEFAULT_LIMITS,
        )
        .map_err(config)?;
        if !(params.timeout.is_finite() && params.timeout > 0.0) {
            return Err(config(format!(
                "timeout must be a positive number of seconds, not {}",
                params.timeout
            )));
        }
        let (url, shown_url) = endpoint(uri).map_err(config)?;
        let client = HecClient {
            client: build_client(&params).map_err(config)?,
            url,
            token,
            max_answer: params.max_response_bytes,
        };
        let wording = Wording {
            plugin: Self::NAME,
            verb: "post",
            past: "Posted",
            noun: "event",
            preposition: "to",
            server: format!("Splunk HEC at {shown_url}"),
        };
        let retry =
            RetryPolicy::from_params(params.max_retries, params.retry_delay).map_err(config)?;
        Ok(Self {
            batcher: Batcher::new(client, wording, limits, retry),
            index: params.index,
            sourcetype: params.sourcetype,
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
            let pem =
                sdk::files::read_limited(std::path::Path::new(path), sdk::files::MAX_PEM_BYTES)
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
        for record in records {
            if serde_json::from_str::<serde::de::IgnoredAny>(record).is_err() {
                self.batcher.refuse("not JSON".into());
                continue;
            }
            let event = self.event(record, time);
            self.batcher.push(event)?;
        }
        self.batcher.end_write()
    }

    fn done(&mut self) -> sdk::Result<()> {
        self.batcher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::ErrorKind;

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
    fn records_below_buffer_size_wait_for_done_and_a_failure_keeps_them() {
        // Port 9 (discard) on loopback refuses connections at once.
        let mut s = store(serde_json::json!({"buffer_size": 3, "max_retries": 0}));
        let batch = ["{\"a\":1}", "{\"a\":2}"].map(abi_stable::std_types::RStr::from_str);
        s.write(Records::new(batch.as_slice().into())).unwrap();
        assert_eq!(
            s.batcher.buffered(),
            2,
            "below buffer_size: nothing posted yet"
        );

        // Full: the post fails, the events are kept for the next flush.
        s.write(Records::new(batch[..1].into())).unwrap();
        assert_eq!(s.batcher.buffered(), 3);

        // Not JSON: refused, counted, the others kept.
        let bad = ["not json"].map(abi_stable::std_types::RStr::from_str);
        let err = s.write(Records::new(bad.as_slice().into())).unwrap_err();
        assert_eq!((err.kind, err.records_failed), (ErrorKind::PARTIAL, 1));
        assert_eq!(err.message, "splunkhecstore: Splunk HEC at http://127.0.0.1:9/services/collector/event refused 1 event(s): 1 x not JSON");
        assert_eq!(s.batcher.buffered(), 3);

        // done fails for good and counts every buffered event as lost.
        let err = s.done().unwrap_err();
        assert_eq!((err.kind, err.records_failed), (ErrorKind::UNAVAILABLE, 3));
        assert!(err.message.contains("cannot post 3 event(s) to Splunk HEC at http://127.0.0.1:9/services/collector/event: http://127.0.0.1:9 refused the connection"), "{}", err.message);
        assert!(!err.message.contains("t0k3n"));
    }
}
