//! The shell every Azure cloud plugin shares: params, sign-in, the health
//! check, and reading on a background thread into a bounded stream (the
//! SDK's [`StreamCloud`]). A plugin is a [`Reader`]: a name, a
//! description, and what it collects (most: the types it lists in every
//! subscription and the records of each listed item).

use super::{collect, AzureParams, Listed, ResourceType, Session};
use crate::{Collected, Emitter};
use cloudmarker_plugin_api::sdk;
use cloudmarker_plugin_api::sdk::stream::{StreamCloud, StreamReader};
use cloudmarker_plugin_api::PluginError;
use std::marker::PhantomData;

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
    /// The types listed in every subscription by the default
    /// [`Reader::collect`], each listed item handed to [`Reader::item`].
    const TYPES: &'static [ResourceType] = &[];

    /// Reads everything and emits records (on the reading thread); problems
    /// go to the emitter, and what could not be read to the summaries. The
    /// default lists [`Reader::TYPES`] in every subscription and makes the
    /// records of each item with [`Reader::item`] ([`collect`]); a reader
    /// that reads otherwise replaces it.
    fn collect(session: &Session, emit: &Emitter) {
        collect(
            session,
            Self::NAME,
            Self::TYPES,
            emit,
            |item, emit, done| Self::item(session, &item, emit, done),
        );
    }

    /// Emits the records of one listed item, reading more of it with
    /// `session` where needed and counting that in `done`; false once the
    /// run takes no more records. The default emits none.
    fn item(
        _session: &Session,
        _item: &Listed<'_>,
        _emit: &Emitter,
        _done: &mut Collected,
    ) -> bool {
        true
    }
}

/// The cloud plugin of a [`Reader`], with the params of every Azure plugin
/// ([`AzureParams`]).
pub type AzurePlugin<R> = StreamCloud<AzureReading<R>>;

/// What an Azure plugin reads with: its session, and its [`Reader`].
pub struct AzureReading<R> {
    session: Session,
    reader: PhantomData<fn() -> R>,
}

impl<R: Reader> StreamReader for AzureReading<R> {
    type Params = AzureParams;
    const NAME: &'static str = R::NAME;
    const DESCRIPTION: &'static str = R::DESCRIPTION;
    const CLASS: Option<&'static str> = R::CLASS;
    const SHARDS: bool = true;
    const IN_FLIGHT: usize = R::IN_FLIGHT;

    fn open(params: AzureParams) -> sdk::Result<Self> {
        let session =
            Session::new(params).map_err(|e| PluginError::config(format!("{}: {e}", R::NAME)))?;
        Ok(Self {
            session,
            reader: PhantomData,
        })
    }

    /// Signs in and lists the subscriptions.
    fn health_check(&self) -> sdk::Result<String> {
        self.session
            .health()
            .map_err(|e| PluginError::unavailable(format!("{}: {e}", R::NAME)))
    }

    fn collect(&self, emit: Emitter) {
        R::collect(&self.session, &emit)
    }
}
