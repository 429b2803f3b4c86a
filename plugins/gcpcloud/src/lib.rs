//! The `gcpcloud` plugin library: the [`GcpCloud`] cloud plugin and the
//! public bucket check of its bucket records.

mod cloudsql;
mod firewall;
mod gcpcloud;
mod storage;

pub use firewall::firewall_rules;
pub use gcpcloud::{GcpCloud, GcpParams};

use cloudrest::{gcp, Bearer, Http};
use serde_json::Value;

/// What the readers of Cloud Storage and Cloud SQL need from the session.
pub(crate) struct Reader<'a> {
    http: &'a Http,
    token: &'a Bearer,
    storage_url: &'a str,
    sqladmin_url: &'a str,
}

impl Reader<'_> {
    /// The `items` of every page of the list at `url`.
    fn items(&self, what: &str, url: &str) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        gcp::list(self.http, what, url, self.token, |page| {
            items.extend(
                page.get("items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        })
        .map_err(|e| format!("gcpcloud: {e}"))?;
        Ok(items)
    }
}

cloudmarker_plugin_api::export_plugins!(cloud: GcpCloud);
