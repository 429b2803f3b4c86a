//! The shell every Azure cloud plugin shares: params, sign-in, the health
//! check, and reading on a background thread into a bounded stream. A
//! plugin is a [`Reader`]: a name, a description, and what it collects.

use super::{AzureParams, Session};
use crate::{Emitter, LazyStream};
use cloudmarker_plugin_api::sdk::{self, Batch, Cloud, PluginType};
use cloudmarker_plugin_api::PluginError;
use std::marker::PhantomData;
use std::sync::Arc;

/// What one Azure cloud plugin reads.
pub trait Reader: Send + 'static {
    /// The plugin's name.
    const NAME: &'static str;
    /// One line saying what it reads.
    const DESCRIPTION: &'static str;
    /// Upstream Cloudmarker's class name, if it has one.
    const CLASS: Option<&'static str> = None;
    /// Records in flight between the reading thread and the host.
    const IN_FLIGHT: usize = 1024;
    /// Reads everything and emits records (on the reading thread); problems
    /// go to the emitter, and what could not be read to the summaries.
    fn collect(session: &Session, emit: &Emitter);
}

/// The cloud plugin of a [`Reader`], with the params of every Azure plugin
/// ([`AzureParams`]).
pub struct AzurePlugin<R> {
    session: Arc<Session>,
    stream: LazyStream,
    reader: PhantomData<R>,
}

impl<R: Reader> PluginType for AzurePlugin<R> {
    type Params = AzureParams;
    const NAME: &'static str = R::NAME;
    const DESCRIPTION: &'static str = R::DESCRIPTION;
    const CLASS: Option<&'static str> = R::CLASS;
    const SHARDS: bool = true;

    fn new(params: AzureParams) -> sdk::Result<Self> {
        let session =
            Session::new(params).map_err(|e| PluginError::config(format!("{}: {e}", R::NAME)))?;
        Ok(Self {
            session: Arc::new(session),
            stream: LazyStream::default(),
            reader: PhantomData,
        })
    }

    /// Signs in and lists the subscriptions.
    fn health_check(&mut self) -> sdk::Result<String> {
        self.session
            .health()
            .map_err(|e| PluginError::unavailable(format!("{}: {e}", R::NAME)))
    }
}

impl<R: Reader> Cloud for AzurePlugin<R> {
    fn read(&mut self, out: &mut Batch) -> sdk::Result<()> {
        let session = Arc::clone(&self.session);
        let thread = format!("{}-reader", R::NAME);
        self.stream.read(out, &thread, R::IN_FLIGHT, move |emit| {
            R::collect(&session, &emit)
        })
    }

    fn done(&mut self) -> sdk::Result<()> {
        self.stream.close();
        Ok(())
    }
}
