//! A store and alert plugin that bulk-indexes records into an Elasticsearch
//! (or OpenSearch) index: the params and the plugin. The encoder, the
//! client and the reading of bulk answers are in [`crate::bulk`]; the
//! buffering and retries in the store kit.

use crate::bulk::{BulkClient, DocumentIds};
use cloudmarker_plugin_api::sdk::{self, PluginType, Records, Secret, Sink};
use cloudmarker_plugin_api::PluginError;
use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::http::Url;
use elasticsearch::Elasticsearch;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use storekit::{Batcher, BufferLimits, BufferSizeMeans, PrivateRuntime, RetryPolicy, Wording};

/// Records and bytes per bulk request unless the params say otherwise
/// (upstream sent 5,000,000 bytes at a time).
const DEFAULT_LIMITS: BufferLimits = BufferLimits {
    max_records: usize::MAX,
    max_bytes: 5_000_000,
};

/// Parameters of [`EsStore`].
#[derive(Debug, Clone, Deserialize, Serialize, cloudmarker_plugin_api::sdk::schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
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
    /// Upstream's name for `max_bytes` (bytes of bulk body per request);
    /// `0` sends every record at once.
    pub buffer_size: Option<usize>,
    /// Records per bulk request at most.
    pub max_records: Option<usize>,
    /// Bytes of bulk body per request at most.
    pub max_bytes: Option<usize>,
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
            buffer_size: None,
            max_records: None,
            max_bytes: None,
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

/// Buffers records as bulk lines and sends them with `_bulk`, through the
/// store kit's [`Batcher`] (flushes, retries, losses).
///
/// Each record's `_id` comes from its audit version, its origin worker and
/// its position in that worker's stream, so a retried bulk, or a second
/// delivery of the same run, overwrites instead of duplicating.
pub struct EsStore {
    batcher: Batcher<BulkClient>,
    ids: DocumentIds,
}

impl PluginType for EsStore {
    type Params = EsParams;

    const NAME: &'static str = "esstore";
    const CLASS: Option<&'static str> = Some("EsStore");
    const DESCRIPTION: &'static str =
        "Bulk-indexes records into an Elasticsearch or OpenSearch index.";

    /// `GET /`: the server is reached and accepts the credentials.
    fn health_check(&mut self) -> sdk::Result<String> {
        self.batcher.health_check(BulkClient::health)
    }

    fn new(params: EsParams) -> sdk::Result<Self> {
        let config = |message: String| PluginError::config(format!("esstore: {message}"));
        let limits = BufferLimits::from_params(
            params.buffer_size,
            BufferSizeMeans::Bytes,
            params.max_records,
            params.max_bytes,
            DEFAULT_LIMITS,
        )
        .map_err(config)?;
        if params.index.is_empty() {
            return Err(config("index must not be empty".into()));
        }
        if !(params.timeout.is_finite() && params.timeout > 0.0) {
            return Err(config(format!(
                "timeout must be a positive number of seconds, not {}",
                params.timeout
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
                let pem =
                    sdk::files::read_limited(std::path::Path::new(path), sdk::files::MAX_PEM_BYTES)
                        .map_err(|e| config(format!("cannot read ca_cert {path}: {e}")))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| config(format!("ca_cert {path} is not PEM: {e}")))?;
                CertificateValidation::Full(cert)
            }
        };
        transport = transport.cert_validation(validation);
        let es = PrivateRuntime::start("esstore", || {
            transport
                .build()
                .map(Elasticsearch::new)
                .map_err(|e| format!("cannot set up HTTP: {e}"))
        })
        .map_err(config)?;
        let client = BulkClient {
            es,
            index: params.index,
            target: target.clone(),
            max_answer: params.max_response_bytes,
        };
        let wording = Wording {
            plugin: Self::NAME,
            verb: "index",
            past: "Indexed",
            noun: "record",
            preposition: "into",
            server: format!("Elasticsearch at {target}"),
        };
        let retry =
            RetryPolicy::from_params(params.max_retries, params.retry_delay).map_err(config)?;
        Ok(Self {
            batcher: Batcher::new(client, wording, limits, retry),
            ids: DocumentIds::default(),
        })
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
        let ids = &mut self.ids;
        self.batcher
            .write(records.iter().map(|record| Ok(ids.bulk_lines(record))))
    }

    /// The `_id`s of a batch of one producer come from its origin, without
    /// reading each record's `com` (once a marker has named the run).
    fn write_from(&mut self, origin: &str, records: Records<'_>) -> sdk::Result<()> {
        let Some(key) = self.ids.origin_stream(origin) else {
            return self.write(records);
        };
        let ids = &mut self.ids;
        self.batcher.write(
            records
                .iter()
                .map(|record| Ok(ids.lines_in_stream(&key, record))),
        )
    }

    fn done(&mut self) -> sdk::Result<()> {
        self.batcher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulk::tests::record;
    use abi_stable::std_types::RStr;
    use cloudmarker_plugin_api::ErrorKind;

    #[test]
    fn credentials_in_the_url_never_reach_messages() {
        let mut s = EsStore::new(
            serde_json::from_value(serde_json::json!({
                "url": "http://elastic:p%40ss-W0rd@127.0.0.1:9", "max_retries": 0
            }))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(s.batcher.client().target, "http://127.0.0.1:9/cloudmarker");
        assert_eq!(percent_decode("p%40ss-W0rd%zz"), "p@ss-W0rd%zz");
        let records = [record("v", Some("w"), 0)];
        let batch: Vec<RStr<'_>> = records.iter().map(|r| RStr::from_str(r)).collect();
        s.write(Records::new(batch.as_slice().into())).unwrap();
        let err = s.done().unwrap_err();
        assert!(!err.message.contains("W0rd"), "{}", err.message);
        assert!(!err.message.contains("elastic"), "{}", err.message);
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
        assert_eq!(s.batcher.buffered(), 2, "two records fit in 300 bytes");

        // The third would pass 300 bytes: the flush fails and keeps them.
        s.write(Records::new(batch[..1].into())).unwrap();
        assert_eq!(
            s.batcher.buffered(),
            3,
            "nothing lost, the new record included"
        );

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
