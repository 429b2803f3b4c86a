//! The registry cache: what probing each plugin library found, so that a
//! start does not probe every library on the search path again.
//!
//! It lives in `$XDG_CACHE_HOME/cloudmarker/registry.json` (else
//! `~/.cache/cloudmarker/registry.json`). An entry is keyed by the library's
//! canonical path and trusted only while the file's device, inode, size,
//! modification and change times are the ones recorded, so a rebuilt,
//! replaced or touched library is probed again; a library that crashed while
//! being probed stays `crashed` until its file changes. Entries are also tied
//! to this host's version, which decides what is compatible.
//!
//! The cache is only a shortcut: a missing, unreadable, corrupt or
//! unwritable cache is rebuilt or bypassed (said at debug level), never
//! fatal. It is replaced atomically (a temporary file renamed over it), 0600
//! in a 0700 directory.

use super::probe::Probed;
use cloudmarker_plugin_api::sdk::files;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The largest cache file read; a bigger one is ignored.
const MAX_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// What identifies one version of a library file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stamp {
    fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        Some(Self {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    stamp: Stamp,
    probed: Probed,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Contents {
    /// The host that probed (its version and plugin-api version).
    host: String,
    libraries: BTreeMap<PathBuf, Entry>,
}

/// The registry cache of this process.
#[derive(Debug, Default)]
pub struct Cache {
    file: Option<PathBuf>,
    contents: Contents,
    changed: bool,
}

/// This host, as the cache records it.
fn this_host() -> String {
    format!(
        "cloudmarker {} plugin-api {}",
        env!("CARGO_PKG_VERSION"),
        cloudmarker_plugin_api::API_VERSION
    )
}

impl Cache {
    /// The user's cache (`$XDG_CACHE_HOME/cloudmarker/registry.json`).
    pub fn for_user() -> Self {
        Self::open(crate::dirs::cache_dir().map(|d| d.join("registry.json")))
    }

    /// The cache in `file` (none: a cache kept in memory only).
    pub fn open(file: Option<PathBuf>) -> Self {
        let contents = file
            .as_deref()
            .and_then(|path| match read(path) {
                Ok(contents) if contents.host == this_host() => Some(contents),
                Ok(_) => {
                    log::debug!(
                        "Plugin registry cache {} is of another cloudmarker; rebuilding it.",
                        path.display()
                    );
                    None
                }
                Err(why) => {
                    log::debug!(
                        "Plugin registry cache {} not used: {why}; rebuilding it.",
                        path.display()
                    );
                    None
                }
            })
            .unwrap_or_else(|| Contents {
                host: this_host(),
                libraries: BTreeMap::new(),
            });
        Self {
            file,
            contents,
            changed: false,
        }
    }

    /// What probing `library` found, if the file has not changed since.
    pub fn get(&self, library: &Path) -> Option<Probed> {
        let entry = self.contents.libraries.get(&canonical(library))?;
        (Stamp::of(library)? == entry.stamp).then(|| entry.probed.clone())
    }

    /// Remembers what probing `library` found.
    pub fn put(&mut self, library: &Path, probed: &Probed) {
        let Some(stamp) = Stamp::of(library) else {
            return;
        };
        let entry = Entry {
            stamp,
            probed: probed.clone(),
        };
        self.contents.libraries.insert(canonical(library), entry);
        self.changed = true;
    }

    /// Writes the cache if anything changed, forgetting libraries that are
    /// gone. A failure is said at debug level: the cache is a shortcut.
    pub fn save(&mut self) {
        let Some(path) = self.file.clone().filter(|_| self.changed) else {
            return;
        };
        self.contents
            .libraries
            .retain(|library, _| library.exists());
        match write(&path, &self.contents) {
            Ok(()) => self.changed = false,
            Err(e) => log::debug!(
                "Cannot write the plugin registry cache {}: {e}; going on without it.",
                path.display()
            ),
        }
    }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn read(path: &Path) -> Result<Contents, String> {
    let bytes = files::read_limited(path, MAX_CACHE_BYTES).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| format!("unreadable ({e})"))
}

fn write(path: &Path, contents: &Contents) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    files::create_private_dir_all(dir)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".registry.")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temp.write_all(&serde_json::to_vec(contents)?)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::probe::ProbedInfo;

    fn plugins(name: &str) -> Probed {
        Probed::Plugins(vec![ProbedInfo {
            name: name.into(),
            ..ProbedInfo::default()
        }])
    }

    #[test]
    fn entries_survive_a_restart_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (cache_file, lib) = (
            dir.path().join("c/registry.json"),
            dir.path().join("libx.so"),
        );
        std::fs::write(&lib, "one").unwrap();
        let mut cache = Cache::open(Some(cache_file.clone()));
        assert_eq!(cache.get(&lib), None);
        cache.put(&lib, &plugins("x"));
        cache.save();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");

        let cache = Cache::open(Some(cache_file.clone()));
        assert_eq!(cache.get(&lib), Some(plugins("x")));
        std::fs::write(&lib, "two").unwrap();
        assert_eq!(cache.get(&lib), None, "a changed file is probed again");
    }

    #[test]
    fn a_corrupt_or_unwritable_cache_is_bypassed() {
        let dir = tempfile::tempdir().unwrap();
        let cache_file = dir.path().join("registry.json");
        let lib = dir.path().join("libx.so");
        std::fs::write(&lib, "one").unwrap();
        std::fs::write(&cache_file, "{ not json").unwrap();
        let mut cache = Cache::open(Some(cache_file.clone()));
        assert_eq!(cache.get(&lib), None);
        cache.put(&lib, &Probed::Crashed("boom".into()));
        cache.save();
        let cache = Cache::open(Some(cache_file));
        assert_eq!(cache.get(&lib), Some(Probed::Crashed("boom".into())));

        // A cache that cannot be written (its directory is a file) is only
        // not written.
        let mut cache = Cache::open(Some(lib.join("registry.json")));
        cache.put(&lib, &plugins("x"));
        cache.save();
        assert_eq!(cache.get(&lib), Some(plugins("x")));
    }
}
