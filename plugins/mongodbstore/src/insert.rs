//! MongoDB: documents with their `_id`, the client that inserts them, and
//! the classification of the driver's errors (the store's retry logic).

use crate::mongodbstore::MongoDbParams;
use cloudmarker_plugin_api::sdk::{self, net};
use mongodb::bson::{oid::ObjectId, Bson, Document};
use mongodb::error::{Error as MongoError, ErrorKind as MongoKind, IndexedWriteError};
use mongodb::options::{ClientOptions, Credential, ServerAddress, Tls, TlsOptions};
use mongodb::Collection;
use std::time::Duration;
use storekit::{PrivateRuntime, Sent, StoreClient};

/// MongoDB's duplicate key error code.
const DUPLICATE_KEY: i32 = 11000;

/// Server error codes that say the server is (for now) unable to take the
/// write: shutting down, stepping down, not primary, network trouble.
const RETRYABLE_CODES: [i32; 13] = [
    6, 7, 89, 91, 134, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
];

/// A record on its way to the collection.
pub struct Pending {
    doc: Document,
    /// Whether the plugin gave it its `_id`: a duplicate key error for such an
    /// id after a retry means an earlier attempt inserted it.
    own_id: bool,
    /// The size of the record's JSON text, for `max_bytes`.
    bytes: usize,
}

/// The collection, on the private runtime of the async driver.
pub struct InsertClient {
    /// The collection (which holds the client).
    pub collection: PrivateRuntime<Collection<Document>>,
    /// `host:port/db.collection`, for messages.
    pub target: String,
    /// How long one `insert_many` may take.
    pub timeout: Duration,
    /// Whether the connection uses TLS (for messages).
    pub tls: bool,
}

impl InsertClient {
    /// Reaches the servers and authenticates: the `ping` command, within
    /// the insert timeout.
    pub fn health(&self) -> Result<String, String> {
        let (timeout, servers, tls) = (self.timeout, self.servers(), self.tls);
        self.collection.block_on(|collection| async move {
            let admin = collection.client().database("admin");
            let ping = admin.run_command(mongodb::bson::doc! {"ping": 1});
            match tokio::time::timeout(timeout, ping).await {
                Ok(Ok(_)) => Ok("answered ping".to_string()),
                Ok(Err(e)) => Err(network(&e, servers, tls)),
                Err(_) => Err(format!(
                    "no answer to ping within {} s",
                    timeout.as_secs_f64()
                )),
            }
        })?
    }

    /// The `host:port` list of the target, for network messages.
    fn servers(&self) -> &str {
        self.target.split('/').next().unwrap_or(&self.target)
    }
}

impl StoreClient for InsertClient {
    type Item = Pending;

    fn bytes(pending: &Pending) -> usize {
        pending.bytes
    }

    fn send(&mut self, batch: &[Pending], attempt: u32) -> Sent {
        let timeout = self.timeout;
        let result = self.collection.block_on(|collection| async move {
            let insert = collection
                .insert_many(batch.iter().map(|p| &p.doc))
                .ordered(false);
            tokio::time::timeout(timeout, insert).await
        });
        let error = match result {
            Err(closed) => return Sent::Permanent(closed),
            Ok(Ok(Ok(_))) => return Sent::All,
            Ok(Err(_)) => {
                return Sent::Transient {
                    reason: format!("no answer within {} s", timeout.as_secs_f64()),
                    retry_after: None,
                }
            }
            Ok(Ok(Err(e))) => e,
        };
        match classify(&error, self.servers(), self.tls) {
            Failure::Items(errors) => Sent::Items {
                refused: errors
                    .into_iter()
                    .filter(|(index, code, reason)| {
                        // Inserted by an earlier attempt whose answer was lost.
                        let own = batch.get(*index).is_some_and(|p| p.own_id);
                        !(attempt > 0 && *code == DUPLICATE_KEY && own && reason.contains("_id"))
                    })
                    .map(|(index, _, reason)| (index, reason))
                    .collect(),
                retry: Vec::new(),
                retry_reason: None,
            },
            Failure::Transient(reason) => Sent::Transient {
                reason,
                retry_after: None,
            },
            Failure::Permanent(reason) => Sent::Permanent(reason),
        }
    }
}

/// The driver's options from the params.
pub async fn client_options(params: &MongoDbParams) -> Result<ClientOptions, String> {
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
/// comma-separated) names the server in network messages, which say when a
/// timeout over TLS (`tls`) may be a server that does not speak TLS.
fn classify(error: &MongoError, servers: &str, tls: bool) -> Failure {
    let network = || short(&network(error, servers, tls));
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
        MongoKind::ServerSelection { .. } => {
            Failure::Transient(format!("no usable server: {}", network()))
        }
        MongoKind::Io(_) => Failure::Transient(format!("network error: {}", network())),
        MongoKind::ConnectionPoolCleared { .. } => {
            Failure::Transient(format!("connection lost: {}", network()))
        }
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

/// A network failure of `error` on the way to `servers`. Over TLS, a
/// server selection that timed out while no attempt had said why is the
/// handshake left unanswered by a server that does not speak TLS, more
/// often than not: the message says so, ahead of the driver's long words.
fn network(error: &MongoError, servers: &str, tls: bool) -> String {
    let still_connecting = matches!(error.kind.as_ref(), MongoKind::ServerSelection { .. })
        && net::classify(error).is_none();
    if tls && still_connecting {
        storekit::network::describe_timeout(error, servers, tls)
    } else {
        storekit::network::describe(error, servers, tls)
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
/// the whole topology), with known secrets removed before it is cut (a cut
/// secret could no longer be recognised).
fn short(text: &str) -> String {
    let text = sdk::secret::redact(text);
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

/// A record as a document with an `_id` (a new ObjectId unless it has one).
pub fn document(record: &str) -> Result<Pending, String> {
    let mut doc: Document =
        serde_json::from_str(record).map_err(|e| match sdk::nesting::too_deep(record) {
            Some(why) => format!("nested too deeply: {why}"),
            None => format!("not a JSON object for BSON: {e}"),
        })?;
    let own_id = !doc.contains_key("_id");
    if own_id {
        doc.insert("_id", Bson::ObjectId(ObjectId::new()));
    }
    Ok(Pending {
        doc,
        own_id,
        bytes: record.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::error::{CommandError, InsertManyError};

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
    fn a_record_nested_too_deeply_is_refused_for_its_depth() {
        let deep = format!(
            "{{\"raw\": {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let Err(refused) = document(&deep) else {
            panic!("a record 100001 levels deep was taken");
        };
        assert_eq!(refused, "nested too deeply: it nests 100001 levels deep, more than the 127 records may (the JSON reader's limit)");
        let Err(refused) = document("[1]") else {
            panic!("a list was taken");
        };
        assert!(
            refused.starts_with("not a JSON object for BSON: "),
            "{refused}"
        );
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
            classify(&e, "h:1", false),
            Failure::Items(vec![(2, 11000, "error 11000 DuplicateKey: E11000 duplicate key error collection: db.c index: _id_ dup key: { _id: 1 }".into())])
        );

        let e = MongoError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(
            matches!(classify(&e, "h:1", false), Failure::Transient(r) if r.starts_with("network error"))
        );
        assert_eq!(short(&"x".repeat(1000)).len(), 303);

        let cmd = |code: i32| -> CommandError {
            mongodb::bson::from_document(mongodb::bson::doc! {
                "code": code, "codeName": "X", "errmsg": "m"
            })
            .unwrap()
        };
        let e = MongoError::from(MongoKind::Command(cmd(91)));
        assert!(matches!(classify(&e, "h:1", false), Failure::Transient(_)));
        let e = MongoError::from(MongoKind::Command(cmd(13)));
        assert!(matches!(classify(&e, "h:1", false), Failure::Permanent(_)));
    }
}
