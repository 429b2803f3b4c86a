//! Turning a `plugin:` value into a library path.
//!
//! A value is one of:
//! 1. a path (it contains `/` or starts with `~`, or ends in the platform's
//!    library suffix): absolute, `~`-expanded, or relative to the directory
//!    of the config file that set it;
//! 2. an original Cloudmarker class name (`cloudmarker.clouds.mockcloud.MockCloud`),
//!    which names the bundled plugin of its module (`mockcloud`);
//! 3. a bare name (`mockcloud`), looked up as `libmockcloud.so` (`.dylib` on
//!    macOS) in the search path.

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

    /// Resolves the `plugin:` value `value` of plugin key `key`; `config_dir`
    /// is the directory of the config file that set it (None: base config).
    pub fn resolve(
        &self,
        key: &str,
        value: &str,
        config_dir: Option<&Path>,
    ) -> Result<PathBuf, ResolveError> {
        let not_found = |searched: Vec<PathBuf>| ResolveError {
            key: key.to_string(),
            value: value.to_string(),
            searched,
        };
        if is_path(value) {
            let path = expand_path(value, config_dir);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(not_found(vec![path]))
            };
        }
        let name = class_module_name(value).unwrap_or(value);
        let file = library_file_name(name);
        let candidates: Vec<PathBuf> = self.dirs.iter().map(|d| d.join(&file)).collect();
        candidates
            .iter()
            .find(|p| p.is_file())
            .cloned()
            .ok_or_else(|| not_found(candidates))
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
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let path = match (value.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            home.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(value),
    };
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
    /// Every path that was tried.
    pub searched: Vec<PathBuf>,
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
    fn bare_and_class_names_find_the_first_match() {
        let tmp = tempfile::tempdir().unwrap();
        let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
        let file = library_file_name("mockcloud");
        touch(&second.join(&file));
        let sp = SearchPath::new(&[first.clone(), second.clone()], None, None);
        assert_eq!(
            sp.resolve("k", "mockcloud", None).unwrap(),
            second.join(&file)
        );
        touch(&first.join(&file));
        assert_eq!(
            sp.resolve("k", "cloudmarker.clouds.mockcloud.MockCloud", None)
                .unwrap(),
            first.join(&file)
        );
    }

    #[test]
    fn relative_paths_are_relative_to_the_config_file() {
        let tmp = tempfile::tempdir().unwrap();
        touch(&tmp.path().join("plugins/libx.so"));
        let sp = SearchPath::default();
        let got = sp
            .resolve("x", "plugins/libx.so", Some(tmp.path()))
            .unwrap();
        assert_eq!(got, tmp.path().join("plugins/libx.so"));
    }

    #[test]
    fn not_found_names_key_value_and_every_place() {
        let sp = SearchPath::new(&["/nowhere/a".into(), "/nowhere/b".into()], None, None);
        let err = sp.resolve("myplugin", "nosuch", None).unwrap_err();
        let file = library_file_name("nosuch");
        assert_eq!(
            err.to_string(),
            format!("plugin \"myplugin\": plugin library \"nosuch\" not found; looked for /nowhere/a/{file}, /nowhere/b/{file}")
        );
        let err = sp
            .resolve("p", "/abs/libp.so", Some(Path::new("/cfg")))
            .unwrap_err();
        assert_eq!(err.searched, [PathBuf::from("/abs/libp.so")]);
    }
}
