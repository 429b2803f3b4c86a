//! The plugin author's side: implement [`Cloud`], [`Event`] or [`Sink`] on a
//! struct and export it with [`export_plugin!`](crate::export_plugin).
//!
//! The SDK turns the typed traits into the FFI-safe [`Plugin`](crate::Plugin)
//! object, parses parameters with `serde`, forwards `log` lines to the host,
//! and catches every panic (including one while the plugin is dropped) so it
//! never crosses the boundary.

mod adapters;
mod batch;
pub mod check;
pub mod digest;
pub mod files;
mod guard;
pub mod library;
mod log_bridge;
pub mod nesting;
pub mod net;
pub mod ocsf;
pub mod retry;
pub mod schema;
pub mod secret;
pub mod shard;
pub mod stream;
pub mod tally;
pub mod testing;

/// The error and its kinds, as plugins return them.
pub use crate::{ErrorKind, PluginError};
pub use adapters::{info, new_plugin, CloudAdapter, EventAdapter, SinkAdapter};
pub use batch::{Batch, Records};
pub use library::Provided;
/// The `log` crate the SDK forwards to the host, so that plugins log with
/// the same version without depending on it themselves.
pub use log;
pub use secret::Secret;

use serde::{de::DeserializeOwned, Serialize};

/// The result type of plugin methods.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;

/// What every plugin has: a name, a description and typed parameters.
pub trait PluginType: Sized + Send + 'static {
    /// The plugin's parameters. `Default` gives the documented defaults;
    /// use `#[serde(default, deny_unknown_fields)]` so a typo is an error.
    /// Derive [`schema::JsonSchema`] too: the params' schema (names, types,
    /// docs, secrets) is derived from the type.
    type Params: DeserializeOwned + Serialize + Default + schema::JsonSchema;

    /// The plugin's name, e.g. `mockcloud`.
    const NAME: &'static str;

    /// One line saying what the plugin does.
    const DESCRIPTION: &'static str;

    /// Upstream Cloudmarker's class name for this plugin (`AzCloud`,
    /// `FileStore`), if it has one: records then carry it as
    /// `com.origin_class` / `com.target_class`, as the original stamps them.
    const CLASS: Option<&'static str> = None;

    /// Whether, as an alert plugin, it notifies people (email, chat): then,
    /// unless its entry says otherwise (`notify:`), it receives only the
    /// findings that changed (new, regressed, resolved) and no muted one.
    /// Plugins that keep records (files, databases) receive every event.
    const NOTIFIES: bool = false;

    /// Whether, as a cloud plugin, it reads only its shard's part of the
    /// estate in a sharded run ([`shard`]): then it keeps the subscriptions,
    /// projects or accounts [`shard::partition`] gives it. A cloud plugin
    /// that does not is refused in a sharded run.
    const SHARDS: bool = false;

    /// Constructs the plugin; connect to servers here, not later.
    fn new(params: Self::Params) -> Result<Self>;

    /// The JSON schema of `Params`, so that `cloudmarker plugins inspect`
    /// can document every param and the host knows which are secret. The
    /// default derives it from the type ([`schema::of`]); override it only
    /// where the derived schema would be wrong. `None` gives the defaults
    /// only.
    fn params_schema() -> Option<serde_json::Value> {
        Some(schema::of::<Self::Params>())
    }

    /// The health check behind `cloudmarker validate --connect`: reach and
    /// authenticate to the servers this plugin needs (without changing
    /// anything) and say in a few words what was checked, e.g. `"reached
    /// Elasticsearch 8.1 at https://es:9200"`. Called on a plugin just made by
    /// [`PluginType::new`], which is then dropped. The default says that the
    /// plugin has none.
    fn health_check(&mut self) -> Result<String> {
        Err(library::no_health_check(Self::NAME))
    }
}

/// A plugin that reads records from a cloud.
pub trait Cloud: PluginType {
    /// Pushes up to `out.remaining()` records. Pushing none ends the read.
    /// Problems that affect only part of the data go to [`Batch::problem`];
    /// an `Err` ends the read.
    fn read(&mut self, out: &mut Batch) -> Result<()>;

    /// Called once after the last `read`.
    fn done(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A plugin that evaluates records and raises events.
pub trait Event: PluginType {
    /// Evaluates one record (JSON text) and pushes the events it raises.
    /// An `Err` is reported for this record; the plugin goes on with the next.
    fn eval(&mut self, record: &str, out: &mut Batch) -> Result<()>;

    /// Called once after the last record; may push final events.
    fn done(&mut self, out: &mut Batch) -> Result<()> {
        let _ = out;
        Ok(())
    }
}

/// A plugin that writes records somewhere: usable as a store and as an alert.
pub trait Sink: PluginType {
    /// Writes a batch of records (JSON text). Return a
    /// [`PluginError::partial`] error when only some records failed: the host
    /// counts it and goes on; any other error stops the plugin.
    fn write(&mut self, records: Records<'_>) -> Result<()>;

    /// Writes a batch whose records were all produced by the worker
    /// `origin` (their `com.origin_worker`, already checked by the host), for
    /// sinks that sort records by their origin and would otherwise read it
    /// from each record. Batches without one known origin (markers) come
    /// through [`Sink::write`]. The default calls `write`.
    fn write_from(&mut self, origin: &str, records: Records<'_>) -> Result<()> {
        let _ = origin;
        self.write(records)
    }

    /// Flushes and closes; called exactly once.
    fn done(&mut self) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_reachable_from_the_sdk_and_convert() {
        fn parse(text: &str) -> Result<serde_json::Value> {
            Ok(serde_json::from_str(text)?)
        }
        let err: sdk_error::PluginError = parse("{").unwrap_err();
        assert_eq!(err.kind, ErrorKind::FAILED);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(PluginError::from(refused).kind, ErrorKind::UNAVAILABLE);
        log::info!("the SDK re-exports log");
    }

    /// The paths a plugin author writes.
    mod sdk_error {
        pub use crate::sdk::PluginError;
    }
}
