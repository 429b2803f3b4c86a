//! A store and alert plugin that inserts records into a MongoDB collection,
//! in unordered batches: the params and the plugin. The client, the
//! documents and the classification of errors are in [`crate::insert`];
//! the buffering and retries in the store kit.

use crate::insert::{client_options, document, InsertClient};
use cloudmarker_plugin_api::sdk::{self, PluginType, Records, Secret, Sink};
use cloudmarker_plugin_api::PluginError;
use mongodb::bson::Document;
use mongodb::Client;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use storekit::{Batcher, BufferLimits, BufferSizeMeans, PrivateRuntime, RetryPolicy, Wording};

/// Records and bytes per `insert_many` unless the params say otherwise
/// (the driver splits larger batches into messages of at most 48 MB).
const DEFAULT_LIMITS: BufferLimits = BufferLimits {
    max_records: 1000,
    max_bytes: 16 * 1024 * 1024,
};

/// Parameters of [`MongoDbStore`].
#[derive(Debug, Clone, Deserialize, Serialize, cloudmarker_plugin_api::sdk::schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct MongoDbParams {
    /// The server's host name.
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// The database.
    pub db: String,
    /// The collection.
    pub collection: String,
    /// The user to log in as; none means no authentication.
    pub username: Option<String>,
    /// The user's password (never logged).
    pub password: Option<Secret>,
    /// Upstream's name for `max_records` (records per `insert_many`); `0`
    /// inserts every record at once.
    pub buffer_size: Option<usize>,
    /// Records per `insert_many` at most.
    pub max_records: Option<usize>,
    /// Bytes of records (as JSON) per `insert_many` at most.
    pub max_bytes: Option<usize>,
    /// A connection string (`mongodb://...`); wins over `host` and `port`.
    /// `username`/`password` apply when it has no credentials of its own.
    /// Secret: it may hold a password.
    pub uri: Option<Secret>,
    /// The database that holds the user (default: `admin`).
    pub auth_source: Option<String>,
    /// Whether to connect with TLS (also on with `tls_ca_file`).
    pub tls: bool,
    /// A PEM file of the CA(s) that signed the server's certificate.
    pub tls_ca_file: Option<String>,
    /// A PEM file with a client certificate and its key.
    pub tls_cert_key_file: Option<String>,
    /// Accept any server certificate (for tests only).
    pub tls_allow_invalid_certificates: bool,
    /// Seconds to wait for a usable server before an operation fails.
    pub server_selection_timeout: f64,
    /// Seconds to wait for a TCP (and TLS) connection.
    pub connect_timeout: f64,
    /// Seconds one `insert_many` may take.
    pub timeout: f64,
    /// Retries of an insert that failed in a way that may pass (no server,
    /// network errors, timeouts, a server stepping down), with backoff.
    pub max_retries: u32,
    /// Seconds before the first retry; each retry waits twice as long.
    pub retry_delay: f64,
}

impl Default for MongoDbParams {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 27017,
            db: "cloudmarker".into(),
            collection: "cloudmarker".into(),
            username: None,
            password: None,
            buffer_size: None,
            max_records: None,
            max_bytes: None,
            uri: None,
            auth_source: None,
            tls: false,
            tls_ca_file: None,
            tls_cert_key_file: None,
            tls_allow_invalid_certificates: false,
            server_selection_timeout: 10.0,
            connect_timeout: 10.0,
            timeout: 60.0,
            max_retries: 3,
            retry_delay: 0.5,
        }
    }
}

/// Buffers records and inserts them with unordered `insert_many`, through
/// the store kit's [`Batcher`] (flushes, retries, losses).
///
/// Every record gets its `_id` before the first attempt, so a retry after
/// an insert whose answer was lost never stores a record twice.
pub struct MongoDbStore {
    batcher: Batcher<InsertClient>,
}

impl PluginType for MongoDbStore {
    type Params = MongoDbParams;

    const NAME: &'static str = "mongodbstore";
    const CLASS: Option<&'static str> = Some("MongoDBStore");
    const DESCRIPTION: &'static str =
        "Inserts records into a MongoDB collection, in unordered batches.";

    /// `ping`: the servers are reached and accept the credentials.
    fn health_check(&mut self) -> sdk::Result<String> {
        self.batcher.health_check(InsertClient::health)
    }

    fn new(params: MongoDbParams) -> sdk::Result<Self> {
        let config = |message: String| PluginError::config(format!("mongodbstore: {message}"));
        let limits = BufferLimits::from_params(
            params.buffer_size,
            BufferSizeMeans::Records,
            params.max_records,
            params.max_bytes,
            DEFAULT_LIMITS,
        )
        .map_err(config)?;
        for (name, value) in [
            ("server_selection_timeout", params.server_selection_timeout),
            ("connect_timeout", params.connect_timeout),
            ("timeout", params.timeout),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(config(format!(
                    "{name} must be a positive number of seconds, not {value}"
                )));
            }
        }
        let mut target = String::new();
        let mut tls = false;
        // The driver starts its monitoring tasks on the current runtime.
        let collection = PrivateRuntime::start("mongodbstore", || {
            let options = tokio::runtime::Handle::current().block_on(client_options(&params))?;
            tls = matches!(options.tls, Some(mongodb::options::Tls::Enabled(_)));
            let hosts: Vec<String> = options.hosts.iter().map(ToString::to_string).collect();
            target = format!("{}/{}.{}", hosts.join(","), params.db, params.collection);
            let client = Client::with_options(options)
                .map_err(|e| format!("cannot set up a client: {e}"))?;
            Ok(client
                .database(&params.db)
                .collection::<Document>(&params.collection))
        })
        .map_err(config)?;
        let client = InsertClient {
            collection,
            target: target.clone(),
            timeout: Duration::from_secs_f64(params.timeout),
            tls,
        };
        let wording = Wording {
            plugin: Self::NAME,
            verb: "insert",
            past: "Inserted",
            noun: "record",
            preposition: "into",
            server: format!("MongoDB at {target}"),
        };
        let retry =
            RetryPolicy::from_params(params.max_retries, params.retry_delay).map_err(config)?;
        Ok(Self {
            batcher: Batcher::new(client, wording, limits, retry),
        })
    }
}

impl Sink for MongoDbStore {
    fn write(&mut self, records: Records<'_>) -> sdk::Result<()> {
        self.batcher.write(records.iter().map(document))
    }

    fn done(&mut self) -> sdk::Result<()> {
        self.batcher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::ErrorKind;

    fn store(params: serde_json::Value) -> MongoDbStore {
        MongoDbStore::new(serde_json::from_value(params).unwrap()).unwrap()
    }

    #[test]
    fn buffering_waits_for_buffer_size_and_a_down_server_keeps_then_fails() {
        let mut s = store(serde_json::json!({
            "uri": "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100",
            "buffer_size": 3, "max_retries": 0, "password": "pw-secret"
        }));
        let batch = ["{\"a\":1}", "{\"a\":2}"].map(abi_stable::std_types::RStr::from_str);
        s.write(Records::new(batch.as_slice().into())).unwrap();
        assert_eq!(
            s.batcher.buffered(),
            2,
            "below buffer_size: nothing sent yet"
        );

        s.write(Records::new(batch[..1].into())).unwrap();
        assert_eq!(
            s.batcher.buffered(),
            3,
            "the first failed flush keeps the records"
        );

        let bad = ["[]"].map(abi_stable::std_types::RStr::from_str);
        let err = s.write(Records::new(bad.as_slice().into())).unwrap_err();
        assert_eq!((err.kind, err.records_failed), (ErrorKind::PARTIAL, 1));

        let err = s.done().unwrap_err();
        assert_eq!((err.kind, err.records_failed), (ErrorKind::UNAVAILABLE, 3));
        assert!(
            err.message.starts_with(
                "mongodbstore: cannot insert 3 record(s) into MongoDB at 127.0.0.1:9/cloudmarker.cloudmarker: no usable server"
            ),
            "{}",
            err.message
        );
        assert!(!err.message.contains("pw-secret"));
    }
}
