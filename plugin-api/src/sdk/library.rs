//! A plugin library's table of plugins: what [`export_plugins!`] builds.
//!
//! A library may provide several plugins (say, a family of checks). Each is
//! one [`Provided`] entry; the root module's `info` and `new` are the first
//! entry's (what a plugin-api 0.1.0 host sees), `plugins`, `new_named` and
//! `check` cover all of them.
//!
//! [`export_plugins!`]: crate::export_plugins

use super::adapters::{info, new_plugin};
use super::guard::{guard, install_panic_hook, Guarded};
use super::{log_bridge, Cloud, Event, PluginType, Sink};
use super::{CloudAdapter, EventAdapter, SinkAdapter};
use crate::{ErrorKind, HostContext, PluginBox, PluginError, PluginInfo, PluginKinds};
use abi_stable::std_types::{RResult, RStr, RString, RVec};

/// One plugin of a library.
pub struct Provided {
    /// The plugin's name.
    pub name: &'static str,
    /// Its roles.
    pub kinds: PluginKinds,
    /// Describes it, given its kinds and the library's version.
    pub info: fn(PluginKinds, &str) -> PluginInfo,
    /// Constructs it from JSON params.
    pub new: fn(RStr<'_>, HostContext) -> RResult<PluginBox, PluginError>,
    /// Constructs it from JSON params and runs its health check.
    pub check: fn(RStr<'_>, HostContext) -> RResult<RString, PluginError>,
}

impl Provided {
    /// A [`Cloud`] plugin.
    pub const fn cloud<T: Cloud>() -> Self {
        Self {
            name: T::NAME,
            kinds: PluginKinds::CLOUD,
            info: info::<T>,
            new: new_cloud::<T>,
            check: check::<T>,
        }
    }

    /// An [`Event`] plugin.
    pub const fn event<T: Event>() -> Self {
        Self {
            name: T::NAME,
            kinds: PluginKinds::EVENT,
            info: info::<T>,
            new: new_event::<T>,
            check: check::<T>,
        }
    }

    /// A [`Sink`] plugin (store and alert).
    pub const fn sink<T: Sink>() -> Self {
        Self {
            name: T::NAME,
            kinds: PluginKinds::SINK,
            info: info::<T>,
            new: new_sink::<T>,
            check: check::<T>,
        }
    }
}

fn new_cloud<T: Cloud>(params: RStr<'_>, host: HostContext) -> RResult<PluginBox, PluginError> {
    new_plugin::<T, _>(params, host, CloudAdapter::<T>::new)
}

fn new_event<T: Event>(params: RStr<'_>, host: HostContext) -> RResult<PluginBox, PluginError> {
    new_plugin::<T, _>(params, host, EventAdapter::<T>::new)
}

fn new_sink<T: Sink>(params: RStr<'_>, host: HostContext) -> RResult<PluginBox, PluginError> {
    new_plugin::<T, _>(params, host, SinkAdapter::<T>::new)
}

/// The info of every plugin of `library` (built at `version`).
pub fn infos(library: &[Provided], version: &str) -> RVec<PluginInfo> {
    library.iter().map(|p| (p.info)(p.kinds, version)).collect()
}

/// Finds plugin `name` in `library`, or says which plugins it has.
fn find<'a>(library: &'a [Provided], name: RStr<'_>) -> Result<&'a Provided, PluginError> {
    library
        .iter()
        .find(|p| p.name == name.as_str())
        .ok_or_else(|| {
            let names: Vec<&str> = library.iter().map(|p| p.name).collect();
            PluginError::config(format!(
                "this library provides no plugin named {:?} (it provides {})",
                name.as_str(),
                names.join(", ")
            ))
        })
}

/// Constructs plugin `name` of `library`.
pub fn new_named(
    library: &[Provided],
    name: RStr<'_>,
    params: RStr<'_>,
    host: HostContext,
) -> RResult<PluginBox, PluginError> {
    match find(library, name) {
        Ok(plugin) => (plugin.new)(params, host),
        Err(e) => RResult::RErr(e),
    }
}

/// Runs the health check of plugin `name` of `library`.
pub fn check_named(
    library: &[Provided],
    name: RStr<'_>,
    params: RStr<'_>,
    host: HostContext,
) -> RResult<RString, PluginError> {
    match find(library, name) {
        Ok(plugin) => (plugin.check)(params, host),
        Err(e) => RResult::RErr(e),
    }
}

/// Parses `params` as `T`'s params; a config error naming the plugin if
/// they do not fit.
pub(crate) fn parse_params<T: PluginType>(params: RStr<'_>) -> Result<T::Params, PluginError> {
    let invalid = |e: &dyn std::fmt::Display| {
        PluginError::config(format!("invalid params for plugin {}: {e}", T::NAME))
    };
    let (without_shard, shard) = super::shard::take(params.as_str()).map_err(|e| invalid(&e))?;
    if let Some(shard) = shard {
        if !T::SHARDS {
            return Err(PluginError::config(format!(
                "plugin {} does not divide its work between shards, so it cannot run in a sharded run (shard {shard}): every shard would read everything; run it without --shard",
                T::NAME
            )));
        }
    }
    serde_json::from_str(without_shard.as_deref().unwrap_or(params.as_str()))
        .map_err(|e| invalid(&e))
}

/// Constructs `T` from `params` and runs [`PluginType::health_check`], all under
/// the panic guard; the plugin is dropped afterwards.
pub fn check<T: PluginType>(params: RStr<'_>, host: HostContext) -> RResult<RString, PluginError> {
    log_bridge::install(&host);
    install_panic_hook();
    let plugin = match guard(T::NAME, "new", || T::new(parse_params::<T>(params)?)) {
        RResult::ROk(plugin) => plugin,
        RResult::RErr(e) => return RResult::RErr(e),
    };
    Guarded::new(T::NAME, plugin).call_last("check", |p| p.health_check().map(RString::from))
}

/// The error of [`PluginType::health_check`] for a plugin without a health check.
pub fn no_health_check(name: &str) -> PluginError {
    PluginError::new(
        ErrorKind::UNSUPPORTED,
        format!("plugin {name} has no health check"),
    )
}
