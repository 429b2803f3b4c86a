//! A store and alert plugin that inserts records into a MongoDB collection,
//! in unordered batches.

use cloudmarker_plugin_api::sdk::{self, net, PluginType, Records, Secret, Sink};
use cloudmarker_plugin_api::{ErrorKind, PluginError};
use mongodb::bson::{oid::ObjectId, Bson, Document};
use mongodb::error::{Error as MongoError, ErrorKind as MongoKind, IndexedWriteError};
use mongodb::options::{ClientOptions, Credential, ServerAddress, Tls, TlsOptions};
use mongodb::{Client, Collection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::runtime::Runtime;

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// MongoDB's duplicate key error code.
const DUPLICATE_KEY: i32 = 11000;

/// Server error codes that say the server is (for now) unable to take the
/// write: shutting down, stepping down, not primary, network trouble.
const RETRYABLE_CODES: [i32; 13] = [
    6, 7, 89, 91, 134, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
];

/// Parameters of [`MongoDbStore`].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
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
    /// Records per `insert_many`.
    pub buffer_size: usize,
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
            buffer_size: 1000,
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

/// A record on its way to the collection.
struct Pending {
    doc: Document,
    /// Whether the plugin gave it its `_id`: a duplicate key error for such an
    /// id after a retry means an earlier attempt inserted it.
    own_id: bool,
}

/// Why a flush did not insert every buffered record.
#[derive(Debug, PartialEq)]
enum FlushError {
    /// Still failing after every retry; another flush later may pass.
    Transient(String),
    /// Failing in a way no retry can fix.
    Permanent(String),
}

/// The collection (which holds the client), dropped inside the runtime.
struct Connection {
    collection: Collection<Document>,
}

/// Buffers records and inserts them with unordered `insert_many` when
/// `buffer_size` have come, and in `done`.
///
/// An insert that fails in a way that may pass is retried with backoff;
/// every record gets its `_id` before the first attempt, so a retry after an
/// insert whose answer was lost never stores a record twice. When the insert
/// still fails, the records stay buffered for the next flush and `done`;
/// the second failed flush in a row, or a failed flush in `done`, stops the
/// plugin and counts the buffered records as lost. Records the server
/// refuses one by one (duplicate keys, validation) are counted by error code.
pub struct MongoDbStore {
    /// The private runtime of the async driver; `None` only while dropping.
    runtime: Option<Runtime>,
    connection: Option<Connection>,
    /// `host:port/db.collection`, for messages.
    target: String,
    buffer: Vec<Pending>,
    buffer_size: usize,
    timeout: Duration,
    max_retries: u32,
    retry_delay: Duration,
    /// Whether the last flush failed and kept its records.
    kept: bool,
    /// Records refused since the last report, by error, and their count.
    refused: BTreeMap<String, u64>,
    inserted: u64,
}

impl PluginType for MongoDbStore {
    type Params = MongoDbParams;
    const NAME: &'static str = "mongodbstore";
    const DESCRIPTION: &'static str =
        "Inserts records into a MongoDB collection, in unordered batches.";

    fn new(params: MongoDbParams) -> sdk::Result<Self> {
        let config = |message: String| PluginError::config(format!("mongodbstore: {message}"));
        if params.buffer_size == 0 {
            return Err(config("buffer_size must be at least 1".into()));
        }
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
        if !(params.retry_delay.is_finite() && params.retry_delay >= 0.0) {
            return Err(config(format!(
                "retry_delay must be a number of seconds, not {}",
                params.retry_delay
            )));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("mongodbstore")
            .enable_all()
            .build()
            .map_err(|e| config(format!("cannot start a runtime: {e}")))?;
        let options = runtime.block_on(client_options(&params)).map_err(config)?;
        let target = format!(
            "{}/{}.{}",
            options
                .hosts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            params.db,
            params.collection
        );
        // The driver starts its monitoring tasks on the current runtime.
        let client = {
            let _entered = runtime.enter();
            Client::with_options(options)
                .map_err(|e| config(format!("cannot set up a client: {e}")))?
        };
        let collection = client
            .database(&params.db)
            .collection::<Document>(&params.collection);
        Ok(Self {
            runtime: Some(runtime),
            connection: Some(Connection { collection }),
            target,
            buffer: Vec::new(),
            buffer_size: params.buffer_size,
            timeout: Duration::from_secs_f64(params.timeout),
            max_retries: params.max_retries,
            retry_delay: Duration::from_secs_f64(params.retry_delay),
            kept: false,
            refused: BTreeMap::new(),
            inserted: 0,
        })
    }
}

/// The driver's options from the params.
async fn client_options(params: &MongoDbParams) -> Result<ClientOptions, String> {
    let mut options = match &params.uri {
        // The parse error may quote the URI, which may hold a password.
        Some(uri) => ClientOptions::parse(uri.expose())
            .await
            .map_err(|e| format!("uri is not a valid connection string: {}", e.kind))?,
        None => ClientOptions::builder()
            .hosts(vec![ServerAddress::Tcp {
                host: params.host.clone(),
                port: Some(params.port),
            }])
            .build(),
    };
    if options.credential.is_none() {
        if let Some(username) = &params.username {
            options.credential = Some(
                Credential::builder()
                    .username(username.clone())
                    .password(params.password.as_ref().map(|p| p.expose().to_string()))
                    .source(params.auth_source.clone())
                    .build(),
            );
        }
    } else if let (Some(credential), Some(source)) =
        (options.credential.as_mut(), &params.auth_source)
    {
        credential.source = Some(source.clone());
    }
    if let Some(password) = options
        .credential
        .as_ref()
        .and_then(|c| c.password.as_ref())
    {
        // From the URI: redact it from every message, as a param would be.
        sdk::secret::register(password);
    }
    if params.tls || params.tls_ca_file.is_some() || params.tls_cert_key_file.is_some() {
        let mut tls = TlsOptions::default();
        tls.ca_file_path = params.tls_ca_file.as_ref().map(Into::into);
        tls.cert_key_file_path = params.tls_cert_key_file.as_ref().map(Into::into);
        tls.allow_invalid_certificates = Some(params.tls_allow_invalid_certificates);
        options.tls = Some(Tls::Enabled(tls));
    }
    options
        .server_selection_timeout
        .get_or_insert(Duration::from_secs_f64(params.server_selection_timeout));
    options
        .connect_timeout
        .get_or_insert(Duration::from_secs_f64(params.connect_timeout));
    options.app_name.get_or_insert("cloudmarker".into());
    Ok(options)
}

/// What a failed `insert_many` means.
#[derive(Debug, PartialEq)]
enum Failure {
    /// Some records were refused one by one; the others were inserted.
    Items(Vec<(usize, i32, String)>),
    /// Nothing (known to be) inserted; another attempt may pass.
    Transient(String),
    /// Nothing inserted; another attempt cannot pass.
    Permanent(String),
}

/// What `error` means for the buffered records; `servers` (`host:port`,
/// comma-separated) names the server in network messages.
fn classify(error: &MongoError, servers: &str) -> Failure {
    match error.kind.as_ref() {
        MongoKind::InsertMany(e) if e.write_errors.is_some() => Failure::Items(
            e.write_errors
                .iter()
                .flatten()
                .map(|w: &IndexedWriteError| (w.index, w.code, describe_write_error(w)))
                .collect(),
        ),
        MongoKind::InsertMany(e) => match &e.write_concern_error {
            Some(wc) => Failure::Transient(format!(
                "write concern error {} ({}): {}",
                wc.code, wc.code_name, wc.message
            )),
            None => Failure::Transient(short(&error.to_string())),
        },
        MongoKind::ServerSelection { .. } => Failure::Transient(format!(
            "no usable server: {}",
            short(&net::describe(error, servers))
        )),
        MongoKind::Io(_) => Failure::Transient(format!(
            "network error: {}",
            short(&net::describe(error, servers))
        )),
        MongoKind::ConnectionPoolCleared { .. } => Failure::Transient(format!(
            "connection lost: {}",
            short(&net::describe(error, servers))
        )),
        MongoKind::Authentication { message, .. } => Failure::Permanent(format!(
            "authentication failed: {}; check username, password and auth_source",
            short(message)
        )),
        MongoKind::Command(e) if RETRYABLE_CODES.contains(&e.code) => {
            Failure::Transient(format!("error {} ({}): {}", e.code, e.code_name, e.message))
        }
        MongoKind::Command(e) => {
            Failure::Permanent(format!("error {} ({}): {}", e.code, e.code_name, e.message))
        }
        _ if error.contains_label("RetryableWriteError") => {
            Failure::Transient(short(&error.to_string()))
        }
        _ => Failure::Permanent(short(&error.to_string())),
    }
}

fn describe_write_error(error: &IndexedWriteError) -> String {
    let name = error
        .code_name
        .as_deref()
        .map(|n| format!(" {n}"))
        .unwrap_or_default();
    format!("error {}{name}: {}", error.code, short(&error.message))
}

/// The start of a long driver message (server selection errors describe
/// the whole topology).
fn short(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

/// The wait before retry `attempt` (0-based): `delay`, doubled each time.
fn backoff(delay: Duration, attempt: u32) -> Duration {
    delay.saturating_mul(1 << attempt.min(16)).min(MAX_BACKOFF)
}

/// A record as a document with an `_id` (a new ObjectId unless it has one).
fn document(record: &str) -> Result<Pending, String> {
    let mut doc: Document =
        serde_json::from_str(record).map_err(|e| format!("not a JSON object for BSON: {e}"))?;
    let own_id = !doc.contains_key("_id");
    if own_id {
        doc.insert("_id", Bson::ObjectId(ObjectId::new()));
    }
    Ok(Pending { doc, own_id })
}

impl MongoDbStore {
    /// The `host:port` list of the target, for network messages.
    fn servers(&self) -> &str {
        self.target.split('/').next().unwrap_or(&self.target)
    }

    /// Inserts the buffer until it is empty, counting records refused one by
    /// one and retrying failures that may pass.
    fn flush(&mut self) -> Result<(), FlushError> {
        let (Some(runtime), Some(connection)) = (&self.runtime, &self.connection) else {
            return Err(FlushError::Permanent("the client is closed".into()));
        };
        let mut attempt = 0;
        while !self.buffer.is_empty() {
            let insert = connection
                .collection
                .insert_many(self.buffer.iter().map(|p| &p.doc))
                .ordered(false);
            let result =
                runtime.block_on(async { tokio::time::timeout(self.timeout, insert).await });
            let failure = match result {
                Ok(Ok(_)) => {
                    self.inserted += self.buffer.len() as u64;
                    log::debug!("Inserted {} record(s).", self.buffer.len());
                    self.buffer.clear();
                    continue;
                }
                Ok(Err(e)) => classify(&e, self.servers()),
                Err(_) => {
                    Failure::Transient(format!("no answer within {} s", self.timeout.as_secs_f64()))
                }
            };
            match failure {
                Failure::Items(errors) => {
                    let mut lost = 0;
                    for (index, code, reason) in errors {
                        let own = self.buffer.get(index).is_some_and(|p| p.own_id);
                        if attempt > 0 && code == DUPLICATE_KEY && own && reason.contains("_id") {
                            // Inserted by an earlier attempt whose answer was lost.
                            continue;
                        }
                        lost += 1;
                        *self.refused.entry(reason).or_default() += 1;
                    }
                    self.inserted += (self.buffer.len() - lost) as u64;
                    self.buffer.clear();
                }
                Failure::Permanent(reason) => return Err(FlushError::Permanent(reason)),
                Failure::Transient(reason) => {
                    if attempt >= self.max_retries {
                        return Err(FlushError::Transient(format!(
                            "{reason}, after {} attempt(s)",
                            attempt + 1
                        )));
                    }
                    let wait = backoff(self.retry_delay, attempt);
                    log::warn!(
                        "MongoDB at {} did not take {} record(s): {}; retrying in {:.1} s.",
                        self.target,
                        self.buffer.len(),
                        &reason,
                        wait.as_secs_f64()
                    );
                    std::thread::sleep(wait);
                    attempt += 1;
                }
            }
        }
        Ok(())
    }

    /// The error that stops the plugin: every buffered record is lost.
    fn give_up(&mut self, error: FlushError) -> PluginError {
        let refused: u64 = std::mem::take(&mut self.refused).values().sum();
        let lost = self.buffer.len() as u64 + refused;
        let (kind, reason) = match error {
            FlushError::Transient(reason) => (ErrorKind::UNAVAILABLE, reason),
            FlushError::Permanent(reason) => (ErrorKind::FAILED, reason),
        };
        let message = format!(
            "mongodbstore: cannot insert {} record(s) into MongoDB at {}: {}",
            self.buffer.len(),
            self.target,
            &reason
        );
        self.buffer.clear();
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
        let total: u64 = refused.values().sum();
        let reasons: Vec<String> = refused
            .iter()
            .map(|(reason, n)| format!("{n} x {reason}"))
            .collect();
        Err(PluginError::partial(
            total,
            format!(
                "mongodbstore: MongoDB at {} refused {total} record(s): {}",
                self.target,
                &reasons.join("; ")
            ),
        ))
    }
}

impl Sink for MongoDbStore {
    fn write(&mut self, records: Records<'_>) -> sdk::Result<()> {
        for record in records {
            match document(record) {
                Ok(pending) => self.buffer.push(pending),
                Err(reason) => *self.refused.entry(reason).or_default() += 1,
            }
        }
        // After a failed flush the kept records wait for another buffer_size
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
                        "MongoDB at {} did not take {} record(s): {}; keeping them for the next flush.",
                        self.target,
                        self.buffer.len(),
                        &reason
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
            "Inserted {} record(s) into MongoDB at {}.",
            self.inserted,
            self.target
        );
        self.take_refused()
    }
}

impl Drop for MongoDbStore {
    fn drop(&mut self) {
        // The driver's client spawns cleanup tasks when dropped: it must be
        // dropped inside its runtime, which then gets a bounded shutdown.
        if let Some(runtime) = self.runtime.take() {
            {
                let _entered = runtime.enter();
                drop(self.connection.take());
            }
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::error::{CommandError, InsertManyError};

    fn store(params: serde_json::Value) -> MongoDbStore {
        MongoDbStore::new(serde_json::from_value(params).unwrap()).unwrap()
    }

    #[test]
    fn documents_get_an_object_id_unless_they_have_an_id() {
        let p = document(r#"{"raw":{"n":1},"com":{"a":"b"}}"#).unwrap();
        assert!(p.own_id);
        assert!(matches!(p.doc.get("_id"), Some(Bson::ObjectId(_))));
        let p = document(r#"{"_id": 7, "raw": {}}"#).unwrap();
        assert!(!p.own_id);
        assert_eq!(p.doc.get("_id"), Some(&Bson::Int32(7)));
        assert!(document("[1, 2]").is_err());
        assert!(document("{").is_err());
    }

    #[test]
    fn options_from_host_and_port_or_a_uri() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let params: MongoDbParams = serde_json::from_value(serde_json::json!({
            "host": "db.example", "port": 27018, "username": "u", "password": "p",
            "auth_source": "users", "tls_ca_file": "/ca.pem", "server_selection_timeout": 2
        }))
        .unwrap();
        let o = rt.block_on(client_options(&params)).unwrap();
        assert_eq!(o.hosts[0].to_string(), "db.example:27018");
        let c = o.credential.unwrap();
        assert_eq!(
            (c.username.as_deref(), c.source.as_deref()),
            (Some("u"), Some("users"))
        );
        assert!(matches!(o.tls, Some(Tls::Enabled(_))));
        assert_eq!(o.server_selection_timeout, Some(Duration::from_secs(2)));

        let params: MongoDbParams = serde_json::from_value(serde_json::json!({
            "uri": "mongodb://a:s3cret@h1:1,h2:2/?serverSelectionTimeoutMS=500", "host": "ignored"
        }))
        .unwrap();
        let o = rt.block_on(client_options(&params)).unwrap();
        assert_eq!(o.hosts.len(), 2);
        assert_eq!(o.server_selection_timeout, Some(Duration::from_millis(500)));
        assert!(!format!("{params:?}").contains("s3cret"));

        let params: MongoDbParams =
            serde_json::from_value(serde_json::json!({"uri": "mongodb://a:s3cret@/"})).unwrap();
        let err = rt.block_on(client_options(&params)).unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn insert_errors_are_sorted_into_items_retries_and_stops() {
        let insert: InsertManyError = mongodb::bson::from_document(mongodb::bson::doc! {
            "writeErrors": [{
                "index": 2, "code": 11000, "codeName": "DuplicateKey",
                "errmsg": "E11000 duplicate key error collection: db.c index: _id_ dup key: { _id: 1 }"
            }]
        })
        .unwrap();
        let e = MongoError::from(MongoKind::InsertMany(insert));
        assert_eq!(
            classify(&e, "h:1"),
            Failure::Items(vec![(2, 11000, "error 11000 DuplicateKey: E11000 duplicate key error collection: db.c index: _id_ dup key: { _id: 1 }".into())])
        );

        let e = MongoError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(
            matches!(classify(&e, "h:1"), Failure::Transient(r) if r.starts_with("network error"))
        );
        assert_eq!(short(&"x".repeat(1000)).len(), 303);

        let cmd = |code: i32| -> CommandError {
            mongodb::bson::from_document(mongodb::bson::doc! {
                "code": code, "codeName": "X", "errmsg": "m"
            })
            .unwrap()
        };
        let e = MongoError::from(MongoKind::Command(cmd(91)));
        assert!(matches!(classify(&e, "h:1"), Failure::Transient(_)));
        let e = MongoError::from(MongoKind::Command(cmd(13)));
        assert!(matches!(classify(&e, "h:1"), Failure::Permanent(_)));
    }

    #[test]
    fn buffering_waits_for_buffer_size_and_a_down_server_keeps_then_fails() {
        let mut s = store(serde_json::json!({
            "uri": "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100",
            "buffer_size": 3, "max_retries": 0, "password": "pw-secret"
        }));
        let batch = ["{\"a\":1}", "{\"a\":2}"].map(abi_stable::std_types::RStr::from_str);
        s.write(Records::new(batch.as_slice().into())).unwrap();
        assert_eq!(s.buffer.len(), 2, "below buffer_size: nothing sent yet");

        s.write(Records::new(batch[..1].into())).unwrap();
        assert!(s.kept, "the first failed flush keeps the records");
        assert_eq!(s.buffer.len(), 3);

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
