//! The plugin interface of cloudmarker.
//!
//! A plugin is a shared library (`cdylib`) that exports a [`PluginMod`] root
//! module through `abi_stable`. The host checks the library's layout and
//! `plugin-api` version before it calls anything, so a plugin built against an
//! incompatible interface is refused with a message instead of crashing.
//!
//! Plugin authors use the [`sdk`]: implement [`sdk::Cloud`], [`sdk::Event`]
//! or [`sdk::Sink`] and call [`export_plugin!`] once:
//!
//! ```
//! use cloudmarker_plugin_api::sdk::{self, Batch, Cloud, PluginType};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Default, Deserialize, Serialize)]
//! #[serde(default, deny_unknown_fields)]
//! pub struct Params { count: u64 }
//!
//! pub struct Counter { next: u64, end: u64 }
//!
//! impl PluginType for Counter {
//!     type Params = Params;
//!     const NAME: &'static str = "counter";
//!     const DESCRIPTION: &'static str = "Counts from 0 to count - 1.";
//!     fn new(p: Params) -> sdk::Result<Self> { Ok(Self { next: 0, end: p.count }) }
//! }
//!
//! impl Cloud for Counter {
//!     fn read(&mut self, out: &mut Batch) -> sdk::Result<()> {
//!         while self.next < self.end && out.remaining() > 0 {
//!             out.push(&serde_json::json!({"raw": {"n": self.next}, "ext": {}, "com": {}}))?;
//!             self.next += 1;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! cloudmarker_plugin_api::export_plugin!(cloud: Counter);
//! ```

mod abi;
pub mod record;
pub mod sdk;

pub use abi::*;
/// Re-exported so that plugins and the export macro use the same version.
pub use abi_stable;

/// Exports a plugin type as this library's root module.
///
/// `export_plugin!(cloud: T)`, `export_plugin!(event: T)` or
/// `export_plugin!(sink: T)`. Call it once, in the plugin crate's `lib.rs`.
/// It also defines `pub fn plugin_module()` (see [`plugin_module!`]).
#[macro_export]
macro_rules! export_plugin {
    ($kind:ident: $ty:ty) => {
        $crate::plugin_module!($kind: $ty);

        #[$crate::abi_stable::export_root_module]
        fn __cloudmarker_plugin_root() -> $crate::PluginModRef {
            plugin_module()
        }
    };
}

/// Defines `pub fn plugin_module() -> PluginModRef` for a plugin type without
/// exporting it, for running the plugin in-process (benchmarks, tests). Every
/// exported root module has the same symbol name, so two plugin libraries
/// cannot be linked into one binary; compile the plugin's module into the
/// binary and use this instead.
#[macro_export]
macro_rules! plugin_module {
    (cloud: $ty:ty) => {
        $crate::plugin_module!(@module $ty, $crate::sdk::CloudAdapter::<$ty>::new, $crate::PluginKinds::CLOUD);
    };
    (event: $ty:ty) => {
        $crate::plugin_module!(@module $ty, $crate::sdk::EventAdapter::<$ty>::new, $crate::PluginKinds::EVENT);
    };
    (sink: $ty:ty) => {
        $crate::plugin_module!(@module $ty, $crate::sdk::SinkAdapter::<$ty>::new, $crate::PluginKinds::SINK);
    };
    (@module $ty:ty, $wrap:expr, $kinds:expr) => {
        extern "C" fn __cloudmarker_plugin_info() -> $crate::PluginInfo {
            $crate::sdk::info::<$ty>($kinds, env!("CARGO_PKG_VERSION"))
        }

        extern "C" fn __cloudmarker_plugin_new(
            params: $crate::abi_stable::std_types::RStr<'_>,
            host: $crate::HostContext,
        ) -> $crate::abi_stable::std_types::RResult<$crate::PluginBox, $crate::PluginError> {
            $crate::sdk::new_plugin::<$ty, _>(params, host, $wrap)
        }

        /// This plugin's root module.
        pub fn plugin_module() -> $crate::PluginModRef {
            use $crate::abi_stable::prefix_type::PrefixTypeTrait;
            $crate::PluginMod::from_fns(__cloudmarker_plugin_info, __cloudmarker_plugin_new)
                .leak_into_prefix()
        }
    };
}
