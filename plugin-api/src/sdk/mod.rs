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
pub mod files;
mod guard;
mod log_bridge;
pub mod net;
pub mod retry;
pub mod secret;

pub use adapters::{info, new_plugin, CloudAdapter, EventAdapter, SinkAdapter};
pub use batch::{Batch, Records};
pub use secret::Secret;

use crate::PluginError;
use serde::{de::DeserializeOwned, Serialize};

/// The result type of plugin methods.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;

/// What every plugin has: a name, a description and typed parameters.
pub trait PluginType: Sized + Send + 'static {
    /// The plugin's parameters. `Default` gives the documented defaults;
    /// use `#[serde(default, deny_unknown_fields)]` so a typo is an error.
    type Params: DeserializeOwned + Serialize + Default;

    /// The plugin's name, e.g. `mockcloud`.
    const NAME: &'static str;

    /// One line saying what the plugin does.
    const DESCRIPTION: &'static str;

    /// Constructs the plugin; connect to servers here, not later.
    fn new(params: Self::Params) -> Result<Self>;
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

    /// Flushes and closes; called exactly once.
    fn done(&mut self) -> Result<()>;
}
