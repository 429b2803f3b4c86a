//! Turning a `plugin:` value into a library path.
//!
//! A value is one of:
//! 1. a path (it contains `/` or starts with `~`, or ends in the platform's
//!    library suffix): absolute, `~`-expanded, or relative to the directory
//!    of the config file that set it; the library's first plugin, or the one
//!    named after a `#` (`plugins/libazchecks.so#azkvkeynoexpiryevent`);
//! 2. an original Cloudmarker class name (`cloudmarker.clouds.mockcloud.MockCloud`),
//!    which names the plugin of its module (`mockcloud`);
//! 3. a bare name (`mockcloud`): the plugin of that name provided by the
//!    first library in search order (see [`SearchPath::candidates`]), be it
//!    `libmockcloud.so` (`.dylib` on macOS) or a library of several plugins.

use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
use std::fmt;
use std::path::{Path, PathBuf};

/// The directories where bare plugin names are looked up, in order.
#[derive(Debug, Clone, Default)]
pub struct SearchPath {
    dirs: Vec<PathBuf>,
    ignored: Vec<String>,
}

impl SearchPath {
    /// `--plugin-dir` directories, then `CLOUDMARKER_PLUGIN_PATH`
    /// (colon-separated), then the executable's directory, then
    /// `<exe dir>/../lib/cloudmarker/plugins`.
    ///
    /// Empty and relative entries of `CLOUDMARKER_PLUGIN_PATH` are ignored
    /// (see [`SearchPath::ignored`]): they would make the current directory,
    /// wherever cloudmarker happens to start, a source of code to run.
    pub fn new(plugin_dirs: &[PathBuf], env_path: Option<&str>, exe_dir: Option<&Path>) -> Self {
        let mut dirs: Vec<PathBuf> = plugin_dirs.to_vec();
        let mut ignored = Vec::new();
        for entry in env_path.into_iter().flat_map(|p| p.split(':')) {
            if Path::new(entry).is_absolute() {
                dirs.push(PathBuf::from(entry));
            } else {
                ignored.push(entry.to_string());
            }
        }
        if let Some(exe_dir) = exe_dir {
            dirs.push(exe_dir.to_path_buf());
            dirs.push(exe_dir.join("../lib/cloudmarker/plugins"));
        }
        Self { dirs, ignored }
    }

    /// The entries of `CLOUDMARKER_PLUGIN_PATH` that were ignored because
    /// they are empty or relative, as warnings for the log.
    pub fn ignored(&self) -> Vec<String> {
        self.ignored
            .iter()
            .map(|entry| {
                let what = if entry.is_empty() {
                    "an empty entry".to_string()
                } else {
                    format!("the relative entry {entry:?}")
                };
                format!("CLOUDMARKER_PLUGIN_PATH: ignoring {what}; only absolute directories are searched for plugins.")
            })
            .collect()
    }

    /// The search path of this process: `plugin_dirs`, the environment and
    /// the running executable.
    pub fn from_env(plugin_dirs: &[PathBuf]) -> Self {
        let env_path = std::env::var("CLOUDMARKER_PLUGIN_PATH").ok();
        let exe = std::env::current_exe().ok();
        let exe_dir = exe.as_deref().and_then(Path::parent);
        Self::new(plugin_dirs, env_path.as_deref(), exe_dir)
    }

    /// The directories, in search order.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Every library file in the search path's directories, in search
    /// order (directory by directory, by file name within one), each once.
    pub fn libraries(&self) -> Vec<PathBuf> {
        self.candidates("")
    }

    /// The libraries that may provide plugin `name`, in the order they are
    /// tried: directory by directory, and in each `lib<name>.so` first, then
    /// the others by file name. Each file appears once.
    pub fn candidates(&self, name: &str) -> Vec<PathBuf> {
        let named = library_file_name(name);
        let mut seen = std::collections::HashSet::new();
        let mut found = Vec::new();
        for dir in &self.dirs {
            let Ok(read) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut libraries: Vec<PathBuf> = read
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.to_string_lossy().ends_with(DLL_SUFFIX))
                .collect();
            libraries.sort_by_key(|p| (p.file_name() != Some(named.as_ref()), p.clone()));
            for library in libraries {
                if seen.insert(library.canonicalize().unwrap_or_else(|_| library.clone())) {
                    found.push(library);
                }
            }
        }
        found
    }

    /// Where plugin `name` would be as its own library, in each directory
    /// (for messages).
    pub fn named_files(&self, name: &str) -> Vec<PathBuf> {
        let file = library_file_name(name);
        self.dirs.iter().map(|d| d.join(&file)).collect()
    }
}

/// What a `plugin:` value names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginRef<'a> {
    /// A library file, and the plugin in it (none: its first).
    File {
        /// The library file.
        path: PathBuf,
        /// The plugin after `#`, if any.
        plugin: Option<&'a str>,
    },
    /// A plugin name to look up in the search path.
    Name(&'a str),
}

impl<'a> PluginRef<'a> {
    /// Parses `value`; `config_dir` is the directory of the config file
    /// that set it (None: base config or command line).
    pub fn parse(value: &'a str, config_dir: Option<&Path>) -> Self {
        if is_path(value)
            || value
                .rsplit_once('#')
                .is_some_and(|(file, _)| is_path(file))
        {
            let (file, plugin) = match value.rsplit_once('#') {
                Some((file, plugin)) if is_path(file) && !plugin.contains('/') => {
                    (file, Some(plugin))
                }
                _ => (value, None),
            };
            return Self::File {
                path: expand_path(file, config_dir),
                plugin,
            };
        }
        Self::Name(class_module_name(value).unwrap_or(value))
    }
}

/// The library file name of plugin `name` on this platform (`libname.so`).
pub fn library_file_name(name: &str) -> String {
    format!("{DLL_PREFIX}{name}{DLL_SUFFIX}")
}

/// The bundled plugin name for an original Cloudmarker class name:
/// `cloudmarker.stores.filestore.FileStore` -> `filestore`.
pub fn class_module_name(value: &str) -> Option<&str> {
    let rest = value.strip_prefix("cloudmarker.")?;
    let mut parts = rest.rsplit('.');
    let _class = parts.next()?;
    let module = parts.next()?;
    (!module.is_empty()).then_some(module)
}

fn is_path(value: &str) -> bool {
    value.contains('/') || value.starts_with('~') || value.ends_with(DLL_SUFFIX)
}

fn expand_path(value: &str, config_dir: Option<&Path>) -> PathBuf {
    let path = cloudmarker_plugin_api::sdk::files::expand_tilde(value);
    match config_dir {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path,
    }
}

/// A `plugin:` value that names no existing library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError {
    /// The plugin key.
    pub key: String,
    /// The `plugin:` value.
    pub value: String,
    /// Every path that was tried (for a name: where its own library would be).
    pub searched: Vec<PathBuf>,
    /// Whether the value was a plugin name, also looked for in every other
    /// library of the search path.
    pub by_name: bool,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "plugin {:?}: plugin library {:?} not found; looked for ",
            self.key, self.value
        )?;
        let searched: Vec<String> = self
            .searched
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        if searched.is_empty() {
            f.write_str("it in no directory (no plugin directories are configured)")
        } else if self.by_name {
            write!(
                f,
                "{}, and no other library in those directories provides a plugin of that name",
                searched.join(", ")
            )
        } else {
            f.write_str(&searched.join(", "))
        }
    }
}

impl std::error::Error for ResolveError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"").unwrap();
    }

    #[test]
    fn class_names_map_to_module_names() {
        assert_eq!(
            class_module_name("cloudmarker.clouds.mockcloud.MockCloud"),
            Some("mockcloud")
        );
        assert_eq!(
            class_module_name("cloudmarker.stores.splunkhecstore.SplunkHECStore"),
            Some("splunkhecstore")
        );
        assert_eq!(class_module_name("mockcloud"), None);
        assert_eq!(class_module_name("cloudmarker.X"), None);
    }

    #[test]
    fn search_order_is_flag_env_exe_then_lib_dir() {
        let sp = SearchPath::new(&["/a".into()], Some("/b:/c"), Some(Path::new("/exe")));
        let dirs: Vec<_> = sp.dirs().iter().map(|d| d.to_str().unwrap()).collect();
        assert_eq!(
            dirs,
            ["/a", "/b", "/c", "/exe", "/exe/../lib/cloudmarker/plugins"]
        );
    }

    #[test]
    fn empty_and_relative_env_entries_are_ignored_with_a_warning() {
        let sp = SearchPath::new(&[], Some("/b::plugins:./x:/c:"), None);
        let dirs: Vec<_> = sp.dirs().iter().map(|d| d.to_str().unwrap()).collect();
        assert_eq!(dirs, ["/b", "/c"]);
        let warnings = sp.ignored();
        assert_eq!(warnings.len(), 4, "{warnings:#?}");
        assert!(warnings[0].contains("ignoring an empty entry"));
        assert!(warnings[1].contains("ignoring the relative entry \"plugins\""));
        assert!(warnings[2].contains("\"./x\""));
    }

    #[test]
    fn candidates_are_in_search_order_with_the_named_file_first_in_each_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
        for path in [
            first.join(library_file_name("zeta")),
            first.join(library_file_name("alpha")),
            second.join(library_file_name("mockcloud")),
            second.join(library_file_name("beta")),
        ] {
            touch(&path);
        }
        touch(&first.join("notes.txt"));
        let sp = SearchPath::new(&[first.clone(), second.clone(), first.clone()], None, None);
        let names = |paths: Vec<PathBuf>| -> Vec<String> {
            paths
                .iter()
                .map(|p| p.strip_prefix(tmp.path()).unwrap().display().to_string())
                .collect()
        };
        let lib = |dir: &str, name: &str| format!("{dir}/{}", library_file_name(name));
        assert_eq!(
            names(sp.candidates("mockcloud")),
            [
                lib("first", "alpha"),
                lib("first", "zeta"),
                lib("second", "mockcloud"),
                lib("second", "beta")
            ]
        );
        assert_eq!(
            names(sp.candidates("zeta")),
            [
                lib("first", "zeta"),
                lib("first", "alpha"),
                lib("second", "beta"),
                lib("second", "mockcloud")
            ]
        );
    }

    #[test]
    fn values_are_paths_with_an_optional_plugin_or_names() {
        let dir = Path::new("/cfg");
        assert_eq!(
            PluginRef::parse("plugins/libx.so", Some(dir)),
            PluginRef::File {
                path: "/cfg/plugins/libx.so".into(),
                plugin: None
            }
        );
        assert_eq!(
            PluginRef::parse("/lib/libfamily.so#kvcheck", Some(dir)),
            PluginRef::File {
                path: "/lib/libfamily.so".into(),
                plugin: Some("kvcheck")
            }
        );
        assert_eq!(
            PluginRef::parse("mockcloud", None),
            PluginRef::Name("mockcloud")
        );
        assert_eq!(
            PluginRef::parse(
                "cloudmarker.events.azkvkeynoexpiryevent.AzKVKeyNoExpiryEvent",
                None
            ),
            PluginRef::Name("azkvkeynoexpiryevent")
        );
    }
}
