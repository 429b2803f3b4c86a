//! Adapters from the typed plugin traits to the FFI [`Plugin`] object.

use super::guard::{guard, Guarded};
use super::tally::Tally;
use super::{log_bridge, Batch, Cloud, Event, PluginType, Records, Sink};
use crate::{
    ErrorKind, HostContext, Outcome, Plugin, PluginBox, PluginError, PluginInfo, PluginKinds,
    Plugin_TO, API_VERSION,
};
use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RResult, RSlice, RStr, RString},
};

/// Describes plugin `T` for [`PluginMod::info`](crate::PluginMod).
pub fn info<T: PluginType>(kinds: PluginKinds, version: &str) -> PluginInfo {
    let params = guard(T::NAME, "info", || {
        let defaults = serde_json::to_value(T::Params::default())
            .map_err(|e| PluginError::failed(format!("cannot describe params: {e}")))?;
        let mut described = super::schema::describe(defaults, T::params_schema());
        if let Some(envelope) = described.as_object_mut() {
            if envelope.contains_key(super::schema::ENVELOPE) {
                if let Some(class) = T::CLASS {
                    envelope.insert("class".into(), class.into());
                }
                if T::NOTIFIES {
                    envelope.insert("notifies".into(), true.into());
                }
            }
        }
        Ok(described.to_string())
    });
    let (params, description) = match params {
        RResult::ROk(params) => (params, T::DESCRIPTION.to_string()),
        RResult::RErr(e) => ("{}".to_string(), e.message.into_string()),
    };
    PluginInfo {
        name: T::NAME.into(),
        version: version.into(),
        description: description.into(),
        kinds,
        params: params.into(),
        api_version: API_VERSION.into(),
    }
}

/// Constructs plugin `T` from JSON `params` and wraps it in adapter `A`.
pub fn new_plugin<T, A>(
    params: RStr<'_>,
    host: HostContext,
    wrap: fn(T) -> A,
) -> RResult<PluginBox, PluginError>
where
    T: PluginType,
    A: Plugin + Send + 'static,
{
    log_bridge::install(&host);
    super::guard::install_panic_hook();
    guard(T::NAME, "new", || {
        let plugin = T::new(super::library::parse_params::<T>(params)?)?;
        Ok(Plugin_TO::from_value(wrap(plugin), TD_Opaque))
    })
}

fn unsupported<T: PluginType>(method: &str) -> RResult<Outcome, PluginError> {
    RResult::RErr(PluginError::new(
        ErrorKind::UNSUPPORTED,
        format!("plugin {} does not support {method}", T::NAME),
    ))
}

/// A [`Cloud`] plugin behind the FFI object.
pub struct CloudAdapter<T>(Guarded<T>);

impl<T: Cloud> CloudAdapter<T> {
    /// Wraps `plugin`.
    pub fn new(plugin: T) -> Self {
        Self(Guarded::new(T::NAME, plugin))
    }
}

impl<T: Cloud> Plugin for CloudAdapter<T> {
    fn read(&mut self, max: usize) -> RResult<Outcome, PluginError> {
        self.0.call("read", |p| {
            let mut out = Batch::with_capacity(max);
            p.read(&mut out)?;
            Ok(out.into_outcome())
        })
    }

    fn eval(&mut self, _: RSlice<'_, RStr<'_>>) -> RResult<Outcome, PluginError> {
        unsupported::<T>("eval")
    }

    fn write(&mut self, _: RSlice<'_, RStr<'_>>) -> RResult<Outcome, PluginError> {
        unsupported::<T>("write")
    }

    fn done(&mut self) -> RResult<Outcome, PluginError> {
        self.0
            .call_last("done", |p| p.done().map(|()| Outcome::default()))
    }
}

/// An [`Event`] plugin behind the FFI object.
pub struct EventAdapter<T> {
    plugin: Guarded<T>,
    /// What its checks evaluated so far, for the `check_summary` records
    /// it pushes when it is done.
    tally: Tally,
}

impl<T: Event> EventAdapter<T> {
    /// Wraps `plugin`.
    pub fn new(plugin: T) -> Self {
        Self {
            plugin: Guarded::new(T::NAME, plugin),
            tally: Tally::default(),
        }
    }
}

impl<T: Event> Plugin for EventAdapter<T> {
    fn read(&mut self, _: usize) -> RResult<Outcome, PluginError> {
        unsupported::<T>("read")
    }

    fn eval(&mut self, records: RSlice<'_, RStr<'_>>) -> RResult<Outcome, PluginError> {
        let tally = &mut self.tally;
        self.plugin.call("eval", |p| {
            let mut out = Batch::with_capacity(usize::MAX);
            for record in Records::new(records) {
                if let Err(mut problem) = p.eval(record, &mut out) {
                    if let Some(why) = super::nesting::explain(T::NAME, record, &problem.message) {
                        problem.message = why.into();
                    }
                    problem.records_failed = problem.records_failed.max(1);
                    out.problem(problem);
                }
            }
            tally.merge(out.take_tally());
            Ok(out.into_outcome())
        })
    }

    fn write(&mut self, _: RSlice<'_, RStr<'_>>) -> RResult<Outcome, PluginError> {
        unsupported::<T>("write")
    }

    fn done(&mut self) -> RResult<Outcome, PluginError> {
        let tally = &mut self.tally;
        self.plugin.call_last("done", |p| {
            let mut out = Batch::with_capacity(usize::MAX);
            p.done(&mut out)?;
            tally.merge(out.take_tally());
            for summary in tally.summaries(T::NAME) {
                out.push(&summary)?;
            }
            Ok(out.into_outcome())
        })
    }
}

/// A [`Sink`] plugin (store and alert) behind the FFI object.
pub struct SinkAdapter<T>(Guarded<T>);

impl<T: Sink> SinkAdapter<T> {
    /// Wraps `plugin`.
    pub fn new(plugin: T) -> Self {
        Self(Guarded::new(T::NAME, plugin))
    }
}

/// A partial failure is a problem the sink survived; anything else stops it.
fn sink_outcome(result: Result<(), PluginError>) -> Result<Outcome, PluginError> {
    match result {
        Ok(()) => Ok(Outcome::default()),
        Err(e) if e.kind.is_recoverable() => Ok(Outcome {
            records: Default::default(),
            problems: vec![e].into(),
        }),
        Err(e) => Err(e),
    }
}

impl<T: Sink> Plugin for SinkAdapter<T> {
    fn read(&mut self, _: usize) -> RResult<Outcome, PluginError> {
        unsupported::<T>("read")
    }

    fn eval(&mut self, _: RSlice<'_, RStr<'_>>) -> RResult<Outcome, PluginError> {
        unsupported::<T>("eval")
    }

    fn write(&mut self, records: RSlice<'_, RStr<'_>>) -> RResult<Outcome, PluginError> {
        self.0
            .call("write", |p| sink_outcome(p.write(Records::new(records))))
    }

    #[cfg(not(cloudmarker_api_0_1_0))]
    fn write_from(
        &mut self,
        origin: RStr<'_>,
        records: RSlice<'_, RStr<'_>>,
    ) -> RResult<Outcome, PluginError> {
        self.0.call("write", |p| {
            sink_outcome(p.write_from(origin.as_str(), Records::new(records)))
        })
    }

    fn done(&mut self) -> RResult<Outcome, PluginError> {
        self.0.call_last("done", |p| sink_outcome(p.done()))
    }
}

/// Keeps `RString` in the public signature list used by the export macro.
#[doc(hidden)]
pub type __RString = RString;
