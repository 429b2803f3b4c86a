//! The `gcpcloud` plugin library: the [`GcpCloud`] cloud plugin (its
//! checks are rules: `rules/gcp/`).

mod bigquery;
mod cloudsql;
mod compute;
mod contacts;
mod dataproc;
mod dns;
mod firewall;
mod gcpcloud;
mod iam;
mod kms;
mod logging;
mod services;
mod storage;

pub use firewall::firewall_rules;
pub use gcpcloud::{GcpCloud, GcpParams};

use cloudmarker_plugin_api::record::Envelope;
use cloudrest::{gcp, Bearer, Collected, Emitter, Http};
use serde_json::{Map, Value};

/// What the readers of the APIs need from the session: the client, the
/// token and the base URLs (without a trailing `/`).
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    http: &'a Http,
    token: &'a Bearer,
    /// Tokens of the `cloud-platform` scope, for the APIs that accept no
    /// read-only scope (IAM); see [`Reader::full_scope`].
    full_token: &'a Bearer,
    storage_url: &'a str,
    sqladmin_url: &'a str,
    compute_url: &'a str,
    resource_manager_url: &'a str,
    dns_url: &'a str,
    iam_url: &'a str,
    apikeys_url: &'a str,
    serviceusage_url: &'a str,
    logging_url: &'a str,
    monitoring_url: &'a str,
    cloudkms_url: &'a str,
    bigquery_url: &'a str,
    dataproc_url: &'a str,
    essentialcontacts_url: &'a str,
}

impl<'a> Reader<'a> {
    /// The same reader with tokens of the `cloud-platform` scope, for an
    /// API that takes no read-only scope.
    fn full_scope(&self) -> Reader<'a> {
        Reader {
            token: self.full_token,
            ..*self
        }
    }

    /// The `items` of every page of the list at `url`.
    fn items(&self, what: &str, url: &str) -> Result<Vec<Value>, String> {
        self.list_of(what, url, "items")
    }

    /// The array `key` of every page of the list at `url` (a page without
    /// it, as Google sends an empty one, adds nothing).
    fn list_of(&self, what: &str, url: &str, key: &str) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        gcp::list(self.http, what, url, self.token, |page| {
            items.extend(
                page.get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        })
        .map_err(|e| format!("gcpcloud: {e}"))?;
        Ok(items)
    }

    /// The resources of every scope of a Compute Engine aggregated list at
    /// `url`: `items` maps each scope (`regions/<r>`, `global`) to
    /// `{key: [...]}` or to a `warning` when it has none.
    fn aggregated(&self, what: &str, url: &str, key: &str) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        gcp::list(self.http, what, url, self.token, |page| {
            items.extend(
                page.get("items")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|scopes| scopes.values())
                    .filter_map(|scope| scope.get(key).and_then(Value::as_array))
                    .flatten()
                    .cloned(),
            );
        })
        .map_err(|e| format!("gcpcloud: {e}"))?;
        Ok(items)
    }

    /// GETs one resource.
    fn get(&self, what: &str, url: &str) -> Result<Value, String> {
        let token = self.token.get().map_err(|e| format!("gcpcloud: {e}"))?;
        self.http
            .get_json(what, url, &token)
            .map_err(|e| format!("gcpcloud: {e}"))
    }

    /// POSTs the JSON `body` (a `getIamPolicy` request) and reads the
    /// answer.
    fn post(&self, what: &str, url: &str, body: &Value) -> Result<Value, String> {
        let token = self.token.get().map_err(|e| format!("gcpcloud: {e}"))?;
        self.http
            .send(what, |client| {
                client.post(url).bearer_auth(&token).json(body)
            })
            .and_then(|response| self.http.json(what, response))
            .map_err(|e| format!("gcpcloud: {e}"))
    }
}

/// One project being read: the API reader, the project's id, the `ext`
/// every record of it carries, and where its records go. The readers of
/// the record types take one.
#[derive(Clone, Copy)]
pub(crate) struct Project<'a> {
    reader: Reader<'a>,
    id: &'a str,
    ext: &'a Map<String, Value>,
    emit: &'a Emitter,
}

impl<'a> Project<'a> {
    /// The same project read with tokens of the `cloud-platform` scope,
    /// for an API that takes no read-only scope.
    fn full_scope(&self) -> Project<'a> {
        Project {
            reader: self.reader.full_scope(),
            ..*self
        }
    }

    /// `<base>/projects/<id><path>`: a URL of this project under an API's
    /// base URL.
    fn url(&self, base: &str, path: &str) -> String {
        format!("{base}/projects/{}{path}", self.id)
    }

    /// What a request does, for its errors: `project <id>: <doing>`.
    fn what(&self, doing: &str) -> String {
        format!("project {}: {doing}", self.id)
    }

    /// [`Reader::list_of`] for this project.
    fn list_of(&self, doing: &str, url: &str, key: &str) -> Result<Vec<Value>, String> {
        self.reader.list_of(&self.what(doing), url, key)
    }

    /// [`Reader::items`] for this project.
    fn items(&self, doing: &str, url: &str) -> Result<Vec<Value>, String> {
        self.reader.items(&self.what(doing), url)
    }

    /// [`Reader::get`] for this project.
    fn get(&self, doing: &str, url: &str) -> Result<Value, String> {
        self.reader.get(&self.what(doing), url)
    }

    /// [`Reader::post`] for this project.
    fn post(&self, doing: &str, url: &str, body: &Value) -> Result<Value, String> {
        self.reader.post(&self.what(doing), url, body)
    }

    /// The envelope of a record of the GCP record contract (issue 27):
    /// `gcp::record` with `com.record_type` null, as these records have
    /// no common model type (`ext.record_type` names them).
    fn record(&self, record_type: &str) -> Envelope {
        gcp::record(self.ext, record_type).com_record_type(None)
    }

    /// Emits `raw` in `envelope`; false once the run stops taking records.
    fn emit(&self, envelope: Envelope, raw: &Value) -> bool {
        self.emit.record(envelope.to_json(raw))
    }

    /// The collection of `record_type` from a listing: one record per
    /// listed item (`record` finishes the item's envelope), until the run
    /// stops taking records; the count is the items listed, a failed
    /// listing its failure.
    fn emit_listed(
        &self,
        record_type: &'static str,
        listed: Result<Vec<Value>, String>,
        record: impl Fn(&Value, Envelope) -> Envelope,
    ) -> Collected {
        let result = listed.map(|items| {
            for item in &items {
                if !self.emit(record(item, self.record(record_type)), item) {
                    break;
                }
            }
            items.len()
        });
        collected(record_type, result)
    }

    /// The collection of `record_type` from one read: one record of the
    /// answer, `reference` and `ext` set by `record`.
    fn emit_one(
        &self,
        record_type: &'static str,
        read: Result<Value, String>,
        record: impl FnOnce(&Value, Envelope) -> Envelope,
    ) -> Collected {
        let result = read.map(|answer| {
            self.emit(record(&answer, self.record(record_type)), &answer);
            1
        });
        collected(record_type, result)
    }
}

/// What one reader of one record type read: `count` records, or why it
/// could not.
pub(crate) fn collected(record_type: &'static str, result: Result<usize, String>) -> Collected {
    let mut collected = Collected::default();
    match result {
        Ok(count) => collected.count(record_type, count),
        Err(why) => collected.fail(record_type, why),
    }
    collected
}

/// Whole days from the RFC 3339 time `time` (`createTime`,
/// `validAfterTime`) to now; null when it is missing or not a time.
pub(crate) fn age_days(time: Option<&Value>) -> Value {
    time.and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| {
            let age = chrono::Utc::now().signed_duration_since(t);
            Value::from(age.num_seconds().div_euclid(86_400))
        })
        .unwrap_or(Value::Null)
}

/// The last `/` segment of a URL or resource name (`regions/us-east1` ->
/// `us-east1`).
pub(crate) fn last_segment(name: Option<&Value>) -> Option<&str> {
    name.and_then(Value::as_str)
        .and_then(|n| n.rsplit('/').next())
}

cloudmarker_plugin_api::export_plugins!(cloud: GcpCloud);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ages_are_whole_days_and_null_when_unknown() {
        let ten_days_ago = chrono::Utc::now() - chrono::Duration::days(10);
        let time = json!(ten_days_ago.to_rfc3339());
        assert_eq!(age_days(Some(&time)), json!(10));
        assert_eq!(age_days(Some(&json!("yesterday"))), Value::Null);
        assert_eq!(age_days(None), Value::Null);
    }
}
