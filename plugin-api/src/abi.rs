//! The types that cross the boundary between the host and a plugin library.
//!
//! Everything here is `#[repr(C)]` and derives [`StableAbi`], so the host can
//! check the layout of a library before it calls into it. Records, events and
//! parameters cross as JSON text; batches of them as `RVec`/`RSlice`.
//!
//! # Evolving this interface
//! [`PluginMod`] and the [`Plugin`] trait object are prefix types: new
//! functions and methods may only be appended after the fields marked
//! `#[sabi(last_prefix_field)]`, and the host reads those as `Option`s, so a
//! host keeps loading plugins built against an older `plugin-api 0.1.x` and a
//! plugin built against a newer `0.1.x` keeps loading in an older host.
//! Anything else (changing a signature, reordering fields) is a breaking
//! change and needs a new minor version (`0.2.0`), which hosts refuse.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RBox, RResult, RSlice, RStr, RString, RVec},
    StableAbi,
};
use std::fmt;

/// The version of `plugin-api` this code is, as a plugin library records it.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Constructs a plugin instance from its parameters (a JSON object).
pub type NewFn =
    extern "C" fn(params: RStr<'_>, host: HostContext) -> RResult<PluginBox, PluginError>;

/// Constructs the library's plugin `name` from its parameters.
pub type NewNamedFn = extern "C" fn(
    name: RStr<'_>,
    params: RStr<'_>,
    host: HostContext,
) -> RResult<PluginBox, PluginError>;

/// Checks that the library's plugin `name`, with these parameters, can
/// reach and authenticate to what it needs: `Ok` with what was checked, a
/// [`ErrorKind::UNSUPPORTED`] error when the plugin has no health check.
pub type CheckFn = extern "C" fn(
    name: RStr<'_>,
    params: RStr<'_>,
    host: HostContext,
) -> RResult<RString, PluginError>;

/// The root module that every plugin library exports.
///
/// Load it with `lib_header_from_path(path)?.init_root_module::<PluginModRef>()`.
/// A library provides one or more plugins (since 0.1.1): `info` and `new`
/// are its first plugin, `plugins`, `new_named` and `check` cover all of them.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
pub struct PluginMod {
    /// Describes the library's first plugin without constructing it.
    pub info: extern "C" fn() -> PluginInfo,
    /// Constructs the library's first plugin from its parameters (a JSON object).
    #[sabi(last_prefix_field)]
    pub new: extern "C" fn(params: RStr<'_>, host: HostContext) -> RResult<PluginBox, PluginError>,
    /// Since 0.1.1: describes every plugin of the library, the first one first.
    #[cfg(not(cloudmarker_api_0_1_0))]
    pub plugins: extern "C" fn() -> RVec<PluginInfo>,
    /// Since 0.1.1: constructs the library's plugin `name`.
    #[cfg(not(cloudmarker_api_0_1_0))]
    pub new_named: extern "C" fn(
        name: RStr<'_>,
        params: RStr<'_>,
        host: HostContext,
    ) -> RResult<PluginBox, PluginError>,
    /// Since 0.1.1: the health check of the library's plugin `name`
    /// (`cloudmarker validate --connect`).
    #[cfg(not(cloudmarker_api_0_1_0))]
    pub check: extern "C" fn(
        name: RStr<'_>,
        params: RStr<'_>,
        host: HostContext,
    ) -> RResult<RString, PluginError>,
    /// Exists only in the compatibility tests' build of this crate
    /// (`cfg(cloudmarker_api_next)`): it stands for a function that a later
    /// plugin-api 0.1.x appends, to test old and new hosts and plugins together.
    #[cfg(cloudmarker_api_next)]
    pub next_api_probe: extern "C" fn() -> u32,
}

/// The functions of a plugin library's root module, as the export macro
/// gathers them (see [`PluginMod::from_fns`]).
pub struct LibraryFns {
    /// See [`PluginMod::info`].
    pub info: extern "C" fn() -> PluginInfo,
    /// See [`PluginMod::new`].
    pub new: NewFn,
    /// Every plugin of the library.
    pub plugins: extern "C" fn() -> RVec<PluginInfo>,
    /// Constructs a plugin by name.
    pub new_named: extern "C" fn(
        name: RStr<'_>,
        params: RStr<'_>,
        host: HostContext,
    ) -> RResult<PluginBox, PluginError>,
    /// A plugin's health check.
    pub check: CheckFn,
}

impl PluginMod {
    /// The root module made of a library's functions (used by the export macro).
    pub fn from_fns(fns: LibraryFns) -> Self {
        #[cfg(cloudmarker_api_0_1_0)]
        let _ = (fns.plugins, fns.new_named, fns.check);
        Self {
            info: fns.info,
            new: fns.new,
            #[cfg(not(cloudmarker_api_0_1_0))]
            plugins: fns.plugins,
            #[cfg(not(cloudmarker_api_0_1_0))]
            new_named: fns.new_named,
            #[cfg(not(cloudmarker_api_0_1_0))]
            check: fns.check,
            #[cfg(cloudmarker_api_next)]
            next_api_probe,
        }
    }
}

#[cfg(cloudmarker_api_next)]
extern "C" fn next_api_probe() -> u32 {
    42
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "cloudmarker_plugin";
    const NAME: &'static str = "cloudmarker_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// What a plugin library says about itself.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PluginInfo {
    /// The plugin's name, e.g. `mockcloud`.
    pub name: RString,
    /// The plugin's own version.
    pub version: RString,
    /// One line saying what the plugin does.
    pub description: RString,
    /// The roles the plugin can play.
    pub kinds: PluginKinds,
    /// The parameters with their defaults, as a JSON object.
    pub params: RString,
    /// The `plugin-api` version the plugin was built against.
    pub api_version: RString,
}

/// A set of [`PluginKinds`] flags: which roles a plugin can play.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginKinds(pub KindBits);

/// The integer behind [`PluginKinds`]. The compatibility tests build a
/// deliberately incompatible variant of this crate (`cfg(cloudmarker_api_broken)`)
/// that changes it, to check that the host refuses such a plugin.
#[cfg(not(cloudmarker_api_broken))]
pub type KindBits = u8;
#[cfg(cloudmarker_api_broken)]
pub type KindBits = u32;

impl PluginKinds {
    /// Produces records (`read`).
    pub const CLOUD: Self = Self(1);
    /// Evaluates records and produces events (`eval`).
    pub const EVENT: Self = Self(2);
    /// Receives records (`write`); usable under `stores:`.
    pub const STORE: Self = Self(4);
    /// Receives events (`write`); usable under `alerts:`.
    pub const ALERT: Self = Self(8);
    /// Both store and alert: every sink plugin is both.
    pub const SINK: Self = Self(4 | 8);

    /// Whether every flag of `other` is set in `self`.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// The names of the set flags, e.g. `["store", "alert"]`.
    pub fn names(self) -> Vec<&'static str> {
        [
            (Self::CLOUD, "cloud"),
            (Self::EVENT, "event"),
            (Self::STORE, "store"),
            (Self::ALERT, "alert"),
        ]
        .into_iter()
        .filter(|(kind, _)| self.contains(*kind))
        .map(|(_, name)| name)
        .collect()
    }
}

impl fmt::Display for PluginKinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join("/"))
    }
}

/// What kind of failure a [`PluginError`] is; decides what the host does next.
///
/// A code rather than an enum so that a code added later never makes an older
/// host misread memory: unknown codes are treated as [`ErrorKind::FAILED`].
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorKind(pub u8);

impl ErrorKind {
    /// The plugin could not do what was asked; the host stops using it.
    pub const FAILED: Self = Self(0);
    /// Bad parameters given to the constructor.
    pub const CONFIG: Self = Self(1);
    /// Some records in a batch could not be handled; the plugin goes on.
    pub const PARTIAL: Self = Self(2);
    /// A server or resource the plugin needs was unreachable.
    pub const UNAVAILABLE: Self = Self(3);
    /// The plugin panicked; it is unusable from now on.
    pub const PANIC: Self = Self(4);
    /// The plugin does not support the method it was called with.
    pub const UNSUPPORTED: Self = Self(5);

    /// Whether the plugin may be called again after this error.
    pub fn is_recoverable(self) -> bool {
        self == Self::PARTIAL
    }

    /// A short lower-case name, for logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::CONFIG => "config",
            Self::PARTIAL => "partial",
            Self::UNAVAILABLE => "unavailable",
            Self::PANIC => "panic",
            Self::UNSUPPORTED => "unsupported",
            _ => "failed",
        }
    }
}

/// An error returned by a plugin: what kind of failure and why.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PluginError {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// A message for people, naming what failed and why.
    pub message: RString,
    /// How many records were lost because of this error (0 when unknown or none).
    pub records_failed: u64,
}

impl From<serde_json::Error> for PluginError {
    /// A record or value that is not the JSON expected: a failure.
    fn from(error: serde_json::Error) -> Self {
        Self::failed(format!("invalid JSON: {error}"))
    }
}

impl From<std::io::Error> for PluginError {
    /// A file or network error: `unavailable` for timeouts and refused or
    /// dropped connections, a failure otherwise.
    fn from(error: std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        match error.kind() {
            Io::TimedOut
            | Io::ConnectionRefused
            | Io::ConnectionReset
            | Io::ConnectionAborted
            | Io::NotConnected
            | Io::BrokenPipe => Self::unavailable(error.to_string()),
            _ => Self::failed(error.to_string()),
        }
    }
}

impl PluginError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: RString::from(message.into()),
            records_failed: 0,
        }
    }

    /// A [`ErrorKind::FAILED`] error.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::FAILED, message)
    }

    /// A [`ErrorKind::CONFIG`] error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::CONFIG, message)
    }

    /// A [`ErrorKind::UNAVAILABLE`] error.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UNAVAILABLE, message)
    }

    /// A [`ErrorKind::PARTIAL`] error: `records_failed` records were lost.
    pub fn partial(records_failed: u64, message: impl Into<String>) -> Self {
        Self {
            records_failed,
            ..Self::new(ErrorKind::PARTIAL, message)
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

/// A log level, as `log::Level` numbers it (1 = error .. 5 = trace).
pub type LogLevel = u8;

/// The host's log function: level, target (module path) and message.
pub type LogFn = extern "C" fn(level: LogLevel, target: RStr<'_>, message: RStr<'_>);

/// What the host gives a plugin when it constructs it.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct HostContext {
    /// Where the plugin's log lines go.
    pub log: extern "C" fn(level: LogLevel, target: RStr<'_>, message: RStr<'_>),
    /// The most verbose level the host will print; the plugin need not send more.
    pub max_log_level: LogLevel,
}

/// What a plugin call produced: records (or events), and the problems that
/// did not stop the plugin (a record it could not handle, a resource it could
/// not read). A problem that does stop it is returned as the call's error.
#[repr(C)]
#[derive(StableAbi, Debug, Default, Clone, PartialEq)]
pub struct Outcome {
    /// Records produced, as JSON text.
    pub records: RVec<RString>,
    /// Problems that the plugin survived.
    pub problems: RVec<PluginError>,
}

/// Declares [`Plugin`] with the methods of every 0.1.x, then `$later`:
/// the methods appended since 0.1.0, which the compatibility tests' 0.1.0
/// build (`cfg(cloudmarker_api_0_1_0)`) leaves out.
macro_rules! declare_plugin_trait {
    ($($later:tt)*) => {
        /// A plugin instance. Which methods work depends on the plugin's kinds; the
        /// others return an [`ErrorKind::UNSUPPORTED`](crate::ErrorKind::UNSUPPORTED) error.
        ///
        /// Records cross as JSON text, in batches. An `RErr` means the plugin cannot
        /// go on (the host stops calling it except for `done`); problems it survived
        /// come back in [`Outcome::problems`](crate::Outcome::problems).
        #[sabi_trait]
        pub trait Plugin: Send {
            /// Cloud: returns the next batch of at most `max` records; a batch with no
            /// records means there are no more.
            fn read(&mut self, max: usize) -> RResult<Outcome, PluginError>;

            /// Event: evaluates a batch of records and returns the events they raise.
            fn eval(&mut self, records: RSlice<'_, RStr<'_>>) -> RResult<Outcome, PluginError>;

            /// Store/alert: writes a batch of records.
            fn write(&mut self, records: RSlice<'_, RStr<'_>>) -> RResult<Outcome, PluginError>;

            /// Called once at the end: flush and close. An event plugin may return
            /// final events.
            #[sabi(last_prefix_field)]
            fn done(&mut self) -> RResult<Outcome, PluginError>;

            $($later)*
        }
    };
}

#[cfg(not(cloudmarker_api_0_1_0))]
declare_plugin_trait! {
    /// Since 0.1.1: store/alert: writes a batch whose records were all
    /// produced by the worker `origin` (their `com.origin_worker`), so that
    /// the plugin need not read it from each record. A plugin built against
    /// 0.1.0 lacks it, and then this default calls `write`.
    fn write_from(
        &mut self,
        origin: RStr<'_>,
        records: RSlice<'_, RStr<'_>>,
    ) -> RResult<Outcome, PluginError> {
        let _ = origin;
        self.write(records)
    }
}

#[cfg(cloudmarker_api_0_1_0)]
declare_plugin_trait! {}

/// An owned plugin instance behind the FFI-safe trait object.
pub type PluginBox = Plugin_TO<'static, RBox<()>>;

/// The root module and plugin object as plugin-api 0.1.0 laid them out, as
/// a later 0.1.x keeps them: abi_stable refuses a library whose root module
/// or plugin object has fewer fields than the host's, so a host built against
/// a later 0.1.x loads older plugins through this older layout (what they
/// lack is then simply absent).
/// The host loads libraries built against plugin-api 0.1.0 through it.
pub mod v0_1_0 {
    use super::{HostContext, Outcome, PluginError, PluginInfo};
    use abi_stable::{
        declare_root_module_statics,
        library::RootModule,
        sabi_trait,
        sabi_types::VersionStrings,
        std_types::{RBox, RResult, RSlice, RStr},
        StableAbi,
    };

    // The 0.1.0 plugin object: abi_stable also refuses a plugin object whose
    // vtable has fewer methods than the host's.
    declare_plugin_trait! {}

    /// An owned plugin instance of a 0.1.0 library.
    pub type PluginBox = Plugin_TO<'static, RBox<()>>;

    /// The 0.1.0 root module.
    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
    pub struct PluginMod {
        /// As in the current layout.
        pub info: extern "C" fn() -> PluginInfo,
        /// As in the current layout, with the 0.1.0 plugin object.
        #[sabi(last_prefix_field)]
        pub new:
            extern "C" fn(params: RStr<'_>, host: HostContext) -> RResult<PluginBox, PluginError>,
    }

    impl RootModule for PluginModRef {
        declare_root_module_statics! {PluginModRef}
        const BASE_NAME: &'static str = "cloudmarker_plugin";
        const NAME: &'static str = "cloudmarker_plugin";
        const VERSION_STRINGS: VersionStrings = VersionStrings::new("0.1.0");
    }
}
