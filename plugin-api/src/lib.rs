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
//! use cloudmarker_plugin_api::record::Envelope;
//! use cloudmarker_plugin_api::sdk::{self, Batch, Cloud, PluginType};
//! use cloudmarker_plugin_api::sdk::schema::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Default, Deserialize, Serialize, JsonSchema)]
//! #[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
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
//!             // `raw` is the data as read; the envelope adds `ext` and `com`
//!             // (`cloud_type`, `record_type` and the resource's `reference`).
//!             let record = Envelope::new("counter", "number")
//!                 .reference(format!("number/{}", self.next))
//!                 .to_json(&serde_json::json!({"n": self.next}));
//!             out.push_json(record);
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
/// It also defines `pub fn plugin_module()` (see [`plugin_module!`]). A
/// library with several plugins uses [`export_plugins!`].
#[macro_export]
macro_rules! export_plugin {
    ($kind:ident: $ty:ty) => {
        $crate::export_plugins!($kind: $ty);
    };
}

/// Exports several plugin types from one library, e.g.
/// `export_plugins!(cloud: MyCloud, event: MyCheck, sink: MyStore)`.
///
/// The host finds each by its name; a host built against plugin-api 0.1.0
/// sees only the first. Call it once, in the plugin crate's `lib.rs`. It also
/// defines `pub fn plugin_module()` (see [`plugin_module!`]).
#[macro_export]
macro_rules! export_plugins {
    ($($kind:ident: $ty:ty),+ $(,)?) => {
        $crate::plugin_module!($($kind: $ty),+);

        #[$crate::abi_stable::export_root_module]
        fn __cloudmarker_plugin_root() -> $crate::PluginModRef {
            plugin_module()
        }
    };
}

/// Defines `pub fn plugin_module() -> PluginModRef` for one or more plugin
/// types without exporting them, for running plugins in-process
/// (benchmarks, tests). Every exported root module has the same symbol
/// name, so two plugin libraries cannot be linked into one binary; compile
/// the plugin's module into the binary and use this instead.
#[macro_export]
macro_rules! plugin_module {
    ($($kind:ident: $ty:ty),+ $(,)?) => {
        static __CLOUDMARKER_PLUGINS: &[$crate::sdk::Provided] =
            &[$($crate::sdk::Provided::$kind::<$ty>()),+];

        extern "C" fn __cloudmarker_plugin_info() -> $crate::PluginInfo {
            let first = &__CLOUDMARKER_PLUGINS[0];
            (first.info)(first.kinds, env!("CARGO_PKG_VERSION"))
        }

        extern "C" fn __cloudmarker_plugin_new(
            params: $crate::abi_stable::std_types::RStr<'_>,
            host: $crate::HostContext,
        ) -> $crate::abi_stable::std_types::RResult<$crate::PluginBox, $crate::PluginError> {
            (__CLOUDMARKER_PLUGINS[0].new)(params, host)
        }

        extern "C" fn __cloudmarker_plugins(
        ) -> $crate::abi_stable::std_types::RVec<$crate::PluginInfo> {
            $crate::sdk::library::infos(__CLOUDMARKER_PLUGINS, env!("CARGO_PKG_VERSION"))
        }

        extern "C" fn __cloudmarker_plugin_new_named(
            name: $crate::abi_stable::std_types::RStr<'_>,
            params: $crate::abi_stable::std_types::RStr<'_>,
            host: $crate::HostContext,
        ) -> $crate::abi_stable::std_types::RResult<$crate::PluginBox, $crate::PluginError> {
            $crate::sdk::library::new_named(__CLOUDMARKER_PLUGINS, name, params, host)
        }

        extern "C" fn __cloudmarker_plugin_check(
            name: $crate::abi_stable::std_types::RStr<'_>,
            params: $crate::abi_stable::std_types::RStr<'_>,
            host: $crate::HostContext,
        ) -> $crate::abi_stable::std_types::RResult<
            $crate::abi_stable::std_types::RString,
            $crate::PluginError,
        > {
            $crate::sdk::library::check_named(__CLOUDMARKER_PLUGINS, name, params, host)
        }

        /// This library's root module.
        pub fn plugin_module() -> $crate::PluginModRef {
            use $crate::abi_stable::prefix_type::PrefixTypeTrait;
            $crate::PluginMod::from_fns($crate::LibraryFns {
                info: __cloudmarker_plugin_info,
                new: __cloudmarker_plugin_new,
                plugins: __cloudmarker_plugins,
                new_named: __cloudmarker_plugin_new_named,
                check: __cloudmarker_plugin_check,
            })
            .leak_into_prefix()
        }
    };
}
