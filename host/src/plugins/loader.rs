//! Loading plugin libraries through `abi_stable`, with messages that say
//! which file failed and why, and finding the library that provides a
//! plugin.

use super::cache::Cache;
use super::probe::{self, Probed, ProbedInfo};
use super::resolve::{PluginRef, ResolveError, SearchPath};
use crate::config::PluginConfig;
use abi_stable::library::{lib_header_from_path, LibraryError, RootModule};
use abi_stable::std_types::{RResult, RSlice, RStr, RString};
use cloudmarker_plugin_api::sdk::files;
use cloudmarker_plugin_api::{
    v0_1_0, ErrorKind, HostContext, Outcome, PluginBox, PluginError, PluginInfo, PluginModRef,
    API_VERSION,
};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A library's root module, in the layout of the plugin-api it was built
/// against: 0.1.1 and later, or 0.1.0 (one plugin, no health check).
#[derive(Clone, Copy)]
enum Module {
    Current(PluginModRef),
    V0_1_0(v0_1_0::PluginModRef),
}

impl Module {
    /// The info of every plugin of the library, the first one first.
    fn plugins(self) -> Vec<PluginInfo> {
        match self {
            Self::Current(m) => match m.plugins() {
                Some(plugins) => plugins().into_vec(),
                None => vec![m.info()()],
            },
            Self::V0_1_0(m) => vec![m.info()()],
        }
    }

    /// Constructs plugin `name` (the library's first plugin is `first`).
    fn construct(
        self,
        name: &str,
        first: bool,
        params: RStr<'_>,
        host: HostContext,
    ) -> RResult<Instance, PluginError> {
        match self {
            Self::Current(m) => match m.new_named() {
                Some(new_named) => new_named(RStr::from_str(name), params, host),
                None => m.new()(params, host),
            }
            .map(Instance::Current),
            Self::V0_1_0(m) if first => m.new()(params, host).map(Instance::V0_1_0),
            Self::V0_1_0(_) => RResult::RErr(PluginError::failed(format!(
                "plugin {name} is not the first plugin of a plugin-api 0.1.0 library"
            ))),
        }
    }

    /// Runs plugin `name`'s health check.
    fn check(
        self,
        name: &str,
        params: RStr<'_>,
        host: HostContext,
    ) -> RResult<RString, PluginError> {
        let check = match self {
            Self::Current(m) => m.check(),
            Self::V0_1_0(_) => None,
        };
        match check {
            Some(check) => check(RStr::from_str(name), params, host),
            None => RResult::RErr(PluginError::new(
                ErrorKind::UNSUPPORTED,
                format!("plugin {name} has no health check (built against plugin-api 0.1.0)"),
            )),
        }
    }
}

/// A plugin instance, in the layout of the plugin-api its library was
/// built against.
pub enum Instance {
    /// plugin-api 0.1.1 and later.
    Current(PluginBox),
    /// plugin-api 0.1.0: no `write_from`.
    V0_1_0(v0_1_0::PluginBox),
    /// Running in a child process (`isolation: process`).
    Isolated(Box<super::isolate::Isolated>),
}

impl Instance {
    /// See [`cloudmarker_plugin_api::Plugin::read`].
    pub fn read(&mut self, max: usize) -> RResult<Outcome, PluginError> {
        match self {
            Self::Current(p) => p.read(max),
            Self::V0_1_0(p) => p.read(max),
            Self::Isolated(p) => p.read(max),
        }
    }

    /// See [`cloudmarker_plugin_api::Plugin::eval`].
    pub fn eval(&mut self, records: RSlice<'_, RStr<'_>>) -> RResult<Outcome, PluginError> {
        match self {
            Self::Current(p) => p.eval(records),
            Self::V0_1_0(p) => p.eval(records),
            Self::Isolated(p) => p.eval(records),
        }
    }

    /// See [`cloudmarker_plugin_api::Plugin::write`].
    pub fn write(&mut self, records: RSlice<'_, RStr<'_>>) -> RResult<Outcome, PluginError> {
        match self {
            Self::Current(p) => p.write(records),
            Self::V0_1_0(p) => p.write(records),
            Self::Isolated(p) => p.write(records),
        }
    }

    /// See [`cloudmarker_plugin_api::Plugin::write_from`]; `write` for a
    /// 0.1.0 plugin.
    pub fn write_from(
        &mut self,
        origin: RStr<'_>,
        records: RSlice<'_, RStr<'_>>,
    ) -> RResult<Outcome, PluginError> {
        match self {
            Self::Current(p) => p.write_from(origin, records),
            Self::V0_1_0(p) => p.write(records),
            Self::Isolated(p) => p.write_from(origin, records),
        }
    }

    /// See [`cloudmarker_plugin_api::Plugin::done`].
    pub fn done(&mut self) -> RResult<Outcome, PluginError> {
        match self {
            Self::Current(p) => p.done(),
            Self::V0_1_0(p) => p.done(),
            Self::Isolated(p) => p.done(),
        }
    }
}

/// A plugin library that passed the version and layout checks.
pub struct Library {
    /// The library file (None for plugins linked into this process).
    pub path: Option<PathBuf>,
    /// The info of each plugin it provides, the first one first.
    pub plugins: Vec<PluginInfo>,
    module: Module,
}

impl Library {
    fn new(path: Option<PathBuf>, module: Module) -> Self {
        Self {
            path,
            plugins: module.plugins(),
            module,
        }
    }

    /// Plugin `name` of this library (none: its first plugin).
    pub(crate) fn plugin(self: &Arc<Self>, name: Option<&str>) -> Result<LoadedPlugin, String> {
        let index = match name {
            None => 0,
            Some(name) => self
                .plugins
                .iter()
                .position(|p| p.name.as_str() == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = self.plugins.iter().map(|p| p.name.as_str()).collect();
                    format!(
                        "it provides no plugin named {name:?} (it provides {})",
                        names.join(", ")
                    )
                })?,
        };
        let info = self
            .plugins
            .get(index)
            .cloned()
            .ok_or("it provides no plugins")?;
        Ok(LoadedPlugin {
            path: self.path.clone(),
            info,
            first: index == 0,
            library: Arc::clone(self),
        })
    }
}

/// One plugin of a loaded library.
pub struct LoadedPlugin {
    /// The library file (None for a plugin linked into this process).
    pub path: Option<PathBuf>,
    /// What the plugin says about itself.
    pub info: PluginInfo,
    first: bool,
    library: Arc<Library>,
}

impl LoadedPlugin {
    /// Constructs an instance from JSON `params`.
    pub fn construct(&self, params: &str, host: HostContext) -> RResult<Instance, PluginError> {
        self.library
            .module
            .construct(&self.info.name, self.first, RStr::from_str(params), host)
    }

    /// Runs the plugin's health check with JSON `params`.
    pub fn health_check(&self, params: &str, host: HostContext) -> RResult<RString, PluginError> {
        self.library
            .module
            .check(&self.info.name, RStr::from_str(params), host)
    }

    /// All plugins of its library.
    pub fn library_plugins(&self) -> &[PluginInfo] {
        &self.library.plugins
    }
}

/// Why a plugin could not be loaded.
#[derive(Debug, Clone)]
pub enum LoadError {
    /// No library matches the `plugin:` value.
    NotFound(ResolveError),
    /// The library exists but cannot be used.
    Library {
        /// The plugin key.
        key: String,
        /// The library file.
        path: PathBuf,
        /// Why, in a sentence.
        reason: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound(e) => e.fmt(f),
            Self::Library { key, path, reason } => {
                write!(
                    f,
                    "plugin {key:?}: cannot load {}: {reason}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for LoadError {}

impl fmt::Debug for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Library")
            .field("path", &self.path)
            .field("plugins", &self.plugins)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("path", &self.path)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// Finds and loads plugin libraries; each file is loaded once per process.
/// Libraries are never unloaded.
pub struct Registry {
    search: SearchPath,
    builtins: HashMap<String, Arc<LoadedPlugin>>,
    /// The `cloudmarker` executable that probes libraries before they are
    /// loaded (see [`super::probe`]); none: load without probing.
    prober: Option<PathBuf>,
    /// Whether libraries that other users could change may be loaded.
    allow_insecure: bool,
    cache: Mutex<Cache>,
    loaded: Mutex<HashMap<PathBuf, Result<Arc<Library>, String>>>,
    /// Where warnings go (see [`Registry::reporting_warnings_to`]).
    warn: fn(&str),
    /// The libraries already reported as passed over, each reported once.
    passed_over: Mutex<HashSet<PathBuf>>,
}

impl Registry {
    /// A registry that looks for libraries in `search`, with a cache kept
    /// in memory only (see [`Registry::with_cache`]).
    pub fn new(search: SearchPath) -> Self {
        Self {
            search,
            builtins: HashMap::new(),
            prober: None,
            allow_insecure: false,
            cache: Mutex::new(Cache::default()),
            loaded: Mutex::new(HashMap::new()),
            warn: |warning| log::warn!("{warning}"),
            passed_over: Mutex::new(HashSet::new()),
        }
    }

    /// Sends the registry's warnings (libraries passed over while looking
    /// for a plugin) to `warn` instead of the log.
    pub fn reporting_warnings_to(mut self, warn: fn(&str)) -> Self {
        self.warn = warn;
        self
    }

    /// Keeps what probing found in `cache` (see [`super::cache`]).
    pub fn with_cache(mut self, cache: Cache) -> Self {
        self.cache = Mutex::new(cache);
        self
    }

    /// Loads libraries that other users could change (`--allow-insecure-plugins`).
    pub fn allowing_insecure_plugins(mut self, allow: bool) -> Self {
        self.allow_insecure = allow;
        self
    }

    /// Probes every library in a child process (`exe __probe PATH`) before
    /// loading it into this one.
    pub fn with_prober(mut self, exe: PathBuf) -> Self {
        self.prober = Some(exe);
        self
    }

    /// Adds the plugins of a module linked into this process, found by their
    /// bare names before the search path (used by benchmarks and tests).
    pub fn with_builtin(mut self, module: PluginModRef) -> Self {
        let library = Arc::new(Library::new(None, Module::Current(module)));
        for info in &library.plugins {
            if let Ok(plugin) = library.plugin(Some(&info.name)) {
                self.builtins
                    .insert(info.name.to_string(), Arc::new(plugin));
            }
        }
        self
    }

    /// Whether libraries that other users could change may be loaded.
    pub fn allows_insecure_plugins(&self) -> bool {
        self.allow_insecure
    }

    /// The search path.
    pub fn search_path(&self) -> &SearchPath {
        &self.search
    }

    /// Resolves and loads the plugin configured under `key`.
    pub fn load(&self, key: &str, config: &PluginConfig) -> Result<Arc<LoadedPlugin>, LoadError> {
        let reference = PluginRef::parse(&config.plugin, config.config_dir.as_deref());
        if let PluginRef::Name(name) = reference {
            if let Some(plugin) = self.builtins.get(name) {
                return Ok(Arc::clone(plugin));
            }
        }
        let (path, name) = self.find(key, &config.plugin, reference)?;
        let failed = |reason: String| LoadError::Library {
            key: key.to_string(),
            path: path.clone(),
            reason,
        };
        let library = self.load_path(&path).map_err(failed)?;
        library
            .plugin(name.as_deref())
            .map(Arc::new)
            .map_err(failed)
    }

    /// The library that `value` (a `plugin:` value, see [`PluginRef`]) names,
    /// and the plugin in it (none: its first), found without loading
    /// anything into this process.
    pub fn find(
        &self,
        key: &str,
        value: &str,
        reference: PluginRef<'_>,
    ) -> Result<(PathBuf, Option<String>), LoadError> {
        match reference {
            PluginRef::File { path, plugin } if path.is_file() => {
                Ok((path, plugin.map(str::to_string)))
            }
            PluginRef::File { path, .. } => Err(LoadError::NotFound(ResolveError {
                key: key.to_string(),
                value: value.to_string(),
                searched: vec![path],
                by_name: false,
            })),
            PluginRef::Name(name) => self.provider(key, value, name),
        }
    }

    /// The first library in search order (see [`SearchPath::candidates`])
    /// that provides plugin `name` or is named after it (`lib<name>.so`, which
    /// then serves its first plugin). When none does but `lib<name>.so`
    /// exists, why that one cannot be used.
    ///
    /// Libraries passed over on the way are warned about (see
    /// [`Registry::report_passed_over`]): every one refused because other
    /// users could change it, and a `lib<name>.so` that could not be used.
    fn provider(
        &self,
        key: &str,
        value: &str,
        name: &str,
    ) -> Result<(PathBuf, Option<String>), LoadError> {
        let own_file = super::resolve::library_file_name(name);
        let mut own_problem: Option<(PathBuf, String)> = None;
        let mut passed_over = Vec::new();
        let mut found = None;
        for library in self.search.candidates(name) {
            let own = library.file_name() == Some(own_file.as_ref());
            let refused = self.refusal(&library).err();
            let probed = match &refused {
                Some(reason) => Err(reason.clone()),
                None => self.probe(&library).into_result(),
            };
            match probed {
                Ok(plugins) if plugins.iter().any(|p| p.name == name) => {
                    found = Some((library, Some(name.to_string())));
                    break;
                }
                // A library file named after the value serves its first plugin.
                Ok(_) if own => {
                    found = Some((library, None));
                    break;
                }
                Ok(_) => {}
                Err(reason) => {
                    if own || refused.is_some() {
                        passed_over.push((library.clone(), reason.clone()));
                    }
                    if own && own_problem.is_none() {
                        own_problem = Some((library, reason));
                    }
                }
            }
        }
        if found.is_none() {
            // The error says why lib<name>.so could not be used.
            passed_over
                .retain(|(library, _)| own_problem.as_ref().map(|(own, _)| own) != Some(library));
        }
        self.report_passed_over(name, &passed_over, found.as_ref().map(|(path, _)| path));
        if let Some(found) = found {
            return Ok(found);
        }
        Err(match own_problem {
            Some((path, reason)) => LoadError::Library {
                key: key.to_string(),
                path,
                reason,
            },
            None => LoadError::NotFound(ResolveError {
                key: key.to_string(),
                value: value.to_string(),
                searched: self.search.named_files(name),
                by_name: true,
            }),
        })
    }

    /// Warns, once per library, about each library in `passed_over` (with
    /// why) that was passed over while looking for plugin `name`, and which
    /// library provides it instead, if any.
    fn report_passed_over(
        &self,
        name: &str,
        passed_over: &[(PathBuf, String)],
        used: Option<&PathBuf>,
    ) {
        let mut reported = self.passed_over.lock().unwrap_or_else(|e| e.into_inner());
        for (library, reason) in passed_over {
            if !reported.insert(library.clone()) {
                continue;
            }
            let instead = match used {
                Some(used) => format!("plugin {name:?} is loaded from {} instead", used.display()),
                None => format!("no other library provides plugin {name:?}"),
            };
            (self.warn)(&format!(
                "Skipped plugin library {}: {reason}; {instead}.",
                library.display()
            ));
        }
    }

    /// Why library `path` must not be loaded: other users could change it
    /// (unless such libraries are allowed).
    fn refusal(&self, path: &Path) -> Result<(), String> {
        if self.allow_insecure {
            Ok(())
        } else {
            check_library_safety(path)
        }
    }

    /// What library `path` provides, from the cache or by probing it;
    /// otherwise why it cannot be used. A library that other users could
    /// change is refused before anything of it runs.
    pub fn probed(&self, path: &Path) -> Result<Vec<ProbedInfo>, String> {
        self.refusal(path)?;
        self.probe(path).into_result()
    }

    /// What probing `path` found (from the cache when the file has not
    /// changed), without the safety check.
    pub fn probe(&self, path: &Path) -> Probed {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(probed) = cache.get(path) {
            return probed;
        }
        let probed = match &self.prober {
            Some(exe) => probe::inspect(exe, path),
            None => match load_library(path) {
                Ok(library) => {
                    Probed::Plugins(library.plugins.iter().map(ProbedInfo::of).collect())
                }
                Err(reason) => Probed::Refused(reason),
            },
        };
        cache.put(path, &probed);
        cache.save();
        probed
    }

    /// Loads the library at `path` (once; later calls share the result),
    /// after the safety check and the probe.
    pub fn load_path(&self, path: &Path) -> Result<Arc<Library>, String> {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        loaded
            .entry(canonical)
            .or_insert_with_key(|p| {
                self.probed(p)?;
                let library = load_library(p)?;
                for plugin in &library.plugins {
                    log::info!(
                        "Loaded plugin {} {} (plugin-api {}) from {}.",
                        plugin.name,
                        plugin.version,
                        plugin.api_version,
                        p.display()
                    );
                }
                Ok(Arc::new(library))
            })
            .clone()
    }
}

/// Whether plugin-api `version` (`0.1.2`) is `minimum` or later; a part
/// that is not a number (a pre-release tag) counts as 0.
pub fn api_at_least(version: &str, minimum: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> {
        v.split(['.', '-', '+'])
            .take(3)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parts(version) >= parts(minimum)
}

/// Refuses a library that a user other than this one (or root) could
/// change: the file or its directory writable by group or others, or owned
/// by someone else (OpenSSH's StrictModes).
pub fn check_library_safety(path: &Path) -> Result<(), String> {
    let refuse = |problem: String| {
        format!("refused: {problem}; a plugin is code that runs with your rights (--allow-insecure-plugins loads it anyway)")
    };
    files::check_trusted(path).map_err(refuse)?;
    if let Some(dir) = path.parent() {
        files::check_trusted(dir).map_err(refuse)?;
    }
    Ok(())
}

/// Loads the library at `path` into this process and checks its
/// `plugin-api` version and layout; a library built against plugin-api
/// 0.1.0 is loaded through the 0.1.0 layout.
pub fn load_library(path: &Path) -> Result<Library, String> {
    let header = lib_header_from_path(path).map_err(|e| describe(e, None))?;
    let built_against = header.version_strings().version.to_string();
    // abi_stable wants a library's root module to have every field of the
    // host's, so a 0.1.0 library is checked against the 0.1.0 layout.
    let module = if built_against == "0.1.0" {
        header
            .init_root_module::<v0_1_0::PluginModRef>()
            .map(Module::V0_1_0)
    } else {
        header
            .init_root_module::<PluginModRef>()
            .map(Module::Current)
    }
    .map_err(|e| describe(e, Some(&built_against)))?;
    Ok(Library::new(Some(path.to_path_buf()), module))
}

/// Turns an `abi_stable` loading error into one sentence for users.
fn describe(error: LibraryError, built_against: Option<&str>) -> String {
    let host = PluginModRef::VERSION_STRINGS.version.as_str();
    let built = built_against.unwrap_or("an unknown version");
    match error {
        LibraryError::OpenError { err, .. } => format!("not a loadable shared library ({err})"),
        LibraryError::GetSymbolError { .. } => {
            "not a cloudmarker plugin: it exports no abi_stable root module".to_string()
        }
        LibraryError::IncompatibleVersionNumber { actual_version, .. } => format!(
            "built against cloudmarker-plugin-api {actual_version}, but this cloudmarker expects plugin-api {}; rebuild the plugin against plugin-api {}",
            compatible_range(host),
            API_VERSION
        ),
        LibraryError::AbiInstability(details) => format!(
            "built against an incompatible cloudmarker-plugin-api interface (plugin: plugin-api {built}, this cloudmarker: plugin-api {API_VERSION}): {}; rebuild the plugin against plugin-api {API_VERSION}",
            summarize_abi_error(&details.to_string())
        ),
        LibraryError::InvalidAbiHeader(_) | LibraryError::InvalidCAbi { .. } => format!(
            "built with an incompatible abi_stable version (this cloudmarker uses abi_stable 0.11; plugin-api {API_VERSION})"
        ),
        LibraryError::RootModule { err, .. } => format!("the plugin failed to initialise: {err}"),
        LibraryError::ParseVersionError(e) => format!("unreadable plugin-api version: {e}"),
        LibraryError::Many(errors) => errors
            .into_iter()
            .map(|e| describe(e, built_against))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// `0.1.x` for 0.1.z, `1.x` for 1.y.z: the versions the abi_stable check accepts.
fn compatible_range(v: &str) -> String {
    let parts: Vec<&str> = v.split('.').collect();
    match parts.as_slice() {
        ["0", minor, ..] => format!("0.{minor}.x"),
        [major, ..] => format!("{major}.x"),
        [] => v.to_string(),
    }
}

/// abi_stable explains a layout mismatch in a long dump whose useful parts
/// are where it is (the field path of the last `inside:` block, e.g.
/// `PluginMod.info -> PluginInfo.kinds -> PluginKinds.field_0`) and its last
/// `Error:` block, e.g. `Error:mismatched type Expected: u8 Found: u32`.
fn summarize_abi_error(dump: &str) -> String {
    match field_path(dump) {
        Some(path) => format!("in {path}: {}", error_block(dump)),
        None => error_block(dump),
    }
}

/// The fields leading to the mismatch, from the dump's last `inside:` block.
fn field_path(dump: &str) -> Option<String> {
    let lines: Vec<&str> = dump.lines().map(str::trim).collect();
    let start = lines.iter().rposition(|l| l.ends_with("inside:"))?;
    let mut pairs = Vec::new();
    let mut name = None;
    for line in &lines[start + 1..] {
        if line.starts_with("Layout of") {
            break;
        }
        if let Some(field) = line.strip_prefix("field_name:") {
            name = Some(field);
        } else if let (Some(ty), Some(field)) = (line.strip_prefix("type:"), name.take()) {
            pairs.push((field, ty));
        }
    }
    let (_, mut owner) = *pairs.first()?;
    let mut path = Vec::new();
    for (field, ty) in pairs.into_iter().skip(1) {
        if field != "__returns" {
            path.push(format!("{owner}.{field}"));
        }
        owner = ty;
    }
    (!path.is_empty()).then(|| path.join(" -> "))
}

/// The dump's last `Error:` block on one line, at most 300 bytes.
fn error_block(dump: &str) -> String {
    let lines: Vec<&str> = dump.lines().map(str::trim).collect();
    let start = lines
        .iter()
        .rposition(|l| l.starts_with("Error:"))
        .unwrap_or(lines.len().saturating_sub(3));
    let summary = lines[start..]
        .iter()
        .filter(|l| !l.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let mut end = summary.len().min(300);
    while !summary.is_char_boundary(end) {
        end -= 1;
    }
    summary[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_compare_as_numbers() {
        assert!(api_at_least("0.1.2", "0.1.2"));
        assert!(api_at_least("0.1.10", "0.1.2"));
        assert!(api_at_least("0.1.99", "0.1.2"));
        assert!(!api_at_least("0.1.1", "0.1.2"));
        assert!(!api_at_least("0.1.0", "0.1.2"));
    }

    #[test]
    fn version_ranges() {
        assert_eq!(compatible_range("0.1.0"), "0.1.x");
        assert_eq!(compatible_range("2.3.4"), "2.x");
    }

    #[test]
    fn abi_dump_is_summarized() {
        let dump = "Compared\nError:first\n   lots\n   of\n   layout\nError:mismatched type\nExpected:\n    u64\nFound:\n    u32\n\n";
        assert_eq!(
            summarize_abi_error(dump),
            "Error:mismatched type Expected: u64 Found: u32"
        );
    }

    #[test]
    fn the_field_that_differs_is_named() {
        let dump = "1 error(s)inside:\n    <other>\n    field_name:0\n    type:PluginMod\n    size:16\n    field_name:info\n    type:AFunctionPointer\n    fn pointer(s):\n    field_name:__returns\n    type:PluginInfo\n    field_name:kinds\n    type:PluginKinds\n    field_name:field_0\n    type:u32\nLayout of expected type:\n    type:u8\nError:mismatched type\nExpected:\n    u8\nFound:\n    u32\n";
        assert_eq!(
            summarize_abi_error(dump),
            "in PluginMod.info -> PluginInfo.kinds -> PluginKinds.field_0: Error:mismatched type Expected: u8 Found: u32"
        );
    }

    #[test]
    fn a_file_that_is_not_a_library_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("libfake.so");
        std::fs::write(&path, "not an ELF file").unwrap();
        let registry = Registry::new(SearchPath::default());
        let err = registry.load_path(&path).unwrap_err();
        assert!(err.starts_with("not a loadable shared library"), "{err}");
    }
}
