//! Loading plugin libraries through `abi_stable`, with messages that say
//! which file failed and why.

use super::resolve::{class_module_name, ResolveError, SearchPath};
use crate::config::PluginConfig;
use abi_stable::library::{lib_header_from_path, LibraryError, RootModule};
use cloudmarker_plugin_api::sdk::files;
use cloudmarker_plugin_api::{PluginInfo, PluginModRef, API_VERSION};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A plugin library that passed the version and layout checks.
pub struct LoadedPlugin {
    /// The library file (None for a plugin linked into this process).
    pub path: Option<PathBuf>,
    /// The library's root module.
    pub module: PluginModRef,
    /// What the plugin says about itself.
    pub info: PluginInfo,
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
    builtins: HashMap<String, PluginModRef>,
    /// The `cloudmarker` executable that probes libraries before they are
    /// loaded (see [`super::probe`]); none: load without probing.
    prober: Option<PathBuf>,
    /// Whether libraries that other users could change may be loaded.
    allow_insecure: bool,
    loaded: Mutex<HashMap<PathBuf, Result<Arc<LoadedPlugin>, String>>>,
}

impl Registry {
    /// A registry that looks for libraries in `search`.
    pub fn new(search: SearchPath) -> Self {
        Self {
            search,
            builtins: HashMap::new(),
            prober: None,
            allow_insecure: false,
            loaded: Mutex::new(HashMap::new()),
        }
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

    /// Adds a plugin linked into this process, found by its bare name before
    /// the search path (used by benchmarks and tests).
    pub fn with_builtin(mut self, module: PluginModRef) -> Self {
        let name = module.info()().name.to_string();
        self.builtins.insert(name, module);
        self
    }

    /// The search path.
    pub fn search_path(&self) -> &SearchPath {
        &self.search
    }

    /// Resolves and loads the plugin configured under `key`.
    pub fn load(&self, key: &str, config: &PluginConfig) -> Result<Arc<LoadedPlugin>, LoadError> {
        let name = class_module_name(&config.plugin).unwrap_or(&config.plugin);
        if let Some(module) = self.builtins.get(name) {
            return Ok(Arc::new(LoadedPlugin {
                path: None,
                module: *module,
                info: module.info()(),
            }));
        }
        let path = self
            .search
            .resolve(key, &config.plugin, config.config_dir.as_deref())
            .map_err(LoadError::NotFound)?;
        self.load_path(&path).map_err(|reason| LoadError::Library {
            key: key.to_string(),
            path,
            reason,
        })
    }

    /// Loads the library at `path` (once; later calls share the result).
    pub fn load_path(&self, path: &Path) -> Result<Arc<LoadedPlugin>, String> {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        loaded
            .entry(canonical)
            .or_insert_with_key(|p| {
                if !self.allow_insecure {
                    check_library_safety(p)?;
                }
                if let Some(exe) = &self.prober {
                    super::probe::probe(exe, p)?;
                }

                let plugin = load_library(p)?;
                log::info!(
                    "Loaded plugin {} {} (plugin-api {}) from {}.",
                    plugin.info.name,
                    plugin.info.version,
                    plugin.info.api_version,
                    p.display()
                );
                Ok(Arc::new(plugin))
            })
            .clone()
    }
}

/// Refuses a library that a user other than this one (or root) could
/// change: the file or its directory writable by group or others, or owned
/// by someone else (OpenSSH's StrictModes).
fn check_library_safety(path: &Path) -> Result<(), String> {
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
/// `plugin-api` version and layout.
pub fn load_library(path: &Path) -> Result<LoadedPlugin, String> {
    let header = lib_header_from_path(path).map_err(|e| describe(e, None))?;
    let built_against = header.version_strings().version.to_string();
    let module = header
        .init_root_module::<PluginModRef>()
        .map_err(|e| describe(e, Some(&built_against)))?;
    Ok(LoadedPlugin {
        path: Some(path.to_path_buf()),
        module,
        info: module.info()(),
    })
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
