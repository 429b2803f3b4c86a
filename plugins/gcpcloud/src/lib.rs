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

use cloudrest::{gcp, Bearer, Collected, Emitter, Http};
use serde_json::Value;

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

/// The envelope of a record of the GCP record contract (issue 27):
/// `gcp::record` with `com.record_type` null, as these records have no
/// common model type (`ext.record_type` names them).
pub(crate) fn record(
    project_ext: &serde_json::Map<String, Value>,
    record_type: &str,
) -> cloudmarker_plugin_api::record::Envelope {
    gcp::record(project_ext, record_type).com_record_type(None)
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

/// The collection of `record_type` from a listing: one record per listed
/// item (`record` builds it from the item), until the run stops taking
/// records; the count is the items listed, a failed listing its failure.
pub(crate) fn emit_listed(
    record_type: &'static str,
    listed: Result<Vec<Value>, String>,
    emit: &Emitter,
    record: impl Fn(&Value) -> cloudmarker_plugin_api::record::Envelope,
) -> Collected {
    let result = listed.map(|items| {
        for item in &items {
            if !emit.record(record(item).to_json(item)) {
                break;
            }
        }
        items.len()
    });
    collected(record_type, result)
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
