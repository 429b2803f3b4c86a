//! The `gcpcloud` plugin library: the [`GcpCloud`] cloud plugin and the
//! public bucket check of its bucket records.

mod cloudsql;
mod firewall;
mod gcpcloud;
mod publicbucket;
mod storage;

pub use firewall::firewall_rules;
pub use gcpcloud::{GcpCloud, GcpParams};
pub use publicbucket::PublicBucket;

use cloudrest::{Http, TokenCache};

/// What the readers of Cloud Storage and Cloud SQL need from the session.
pub(crate) struct Reader<'a> {
    http: &'a Http,
    token: &'a TokenCache,
    storage_url: &'a str,
    sqladmin_url: &'a str,
}

cloudmarker_plugin_api::export_plugins!(cloud: GcpCloud, event: PublicBucket);
