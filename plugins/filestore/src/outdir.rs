//! The output directory: checked, locked against other cloudmarker
//! processes, and cleared of the temporary files of earlier runs.
//!
//! The lock is an `flock` on `<dir>/.cloudmarker.lock`, taken without
//! waiting: a second process that wants the same directory fails with a
//! message naming the process that holds it. Instances in one process (the
//! store and the alert instance, several audits) share the lock.
//!
//! Temporary files are named `<name>.<audit_version>-<random>.tmp` and
//! created with `O_EXCL` (never through a planted link). When the first
//! record of a run arrives, the temporary files of other runs in the
//! directory and its marker subdirectory are removed: a crashed run's
//! leftovers, or an interrupted run's partial outputs, live until the next
//! run in the same directory.

use cloudmarker_plugin_api::sdk::files;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The subdirectory for records that have no origin worker.
pub const MARKERS_DIR: &str = "audit_markers";

/// The lock file in the output directory.
pub const LOCK_FILE: &str = ".cloudmarker.lock";

/// The length of the random part of a temporary file name.
pub const RANDOM_CHARS: usize = 6;

/// The locks this process holds: directory -> (lock file, users, the audit
/// version whose leftovers were already cleared).
static HELD: Mutex<Option<HashMap<PathBuf, Held>>> = Mutex::new(None);

struct Held {
    _file: File,
    users: usize,
    cleaned_for: Option<String>,
}

/// A share of this process's lock on an output directory.
#[derive(Debug)]
pub struct OutputDir {
    dir: PathBuf,
}

impl OutputDir {
    /// Creates `dir` (mode `0700`) if missing, checks that it is private,
    /// and takes (or shares) the lock.
    pub fn open(dir: &Path) -> Result<Self, String> {
        files::create_private_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        files::check_private_dir(dir)?;
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        let held = held.get_or_insert_with(HashMap::new);
        if let Some(entry) = held.get_mut(&dir) {
            entry.users += 1;
        } else {
            let file = lock(&dir)?;
            held.insert(
                dir.clone(),
                Held {
                    _file: file,
                    users: 1,
                    cleaned_for: None,
                },
            );
        }
        Ok(Self { dir })
    }

    /// The directory (canonical).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Removes the temporary files of runs other than `audit_version`, once
    /// per run and directory. Returns how many were removed.
    pub fn clean_other_runs(&self, audit_version: &str) -> usize {
        {
            let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
            let entry = held.as_mut().and_then(|h| h.get_mut(&self.dir));
            match entry {
                Some(entry) if entry.cleaned_for.as_deref() != Some(audit_version) => {
                    entry.cleaned_for = Some(audit_version.to_string());
                }
                _ => return 0,
            }
        }
        let mut removed = 0;
        for dir in [self.dir.clone(), self.dir.join(MARKERS_DIR)] {
            removed += remove_stale(&dir, audit_version);
        }
        if removed > 0 {
            log::info!(
                "Removed {removed} temporary file(s) of earlier runs from {}.",
                self.dir.display()
            );
        }
        removed
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = held.as_mut() {
            if let Some(entry) = held.get_mut(&self.dir) {
                entry.users -= 1;
                if entry.users == 0 {
                    // Closing the file releases the lock.
                    held.remove(&self.dir);
                }
            }
        }
    }
}

/// Takes the lock on `dir` and writes this process's id into the lock file.
fn lock(dir: &Path) -> Result<File, String> {
    let path = dir.join(LOCK_FILE);
    let mut file = files::open_private_rw(&path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    // A holder writes its pid right after locking, so for a moment the file
    // may be empty or still name an earlier run's process, gone since; and
    // a sibling may end its part and let go while this one looks. Only a
    // live process that is not a sibling is another run: until one is
    // named (for up to a second), the lock is tried again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let locked = files::try_lock_exclusive(&file)
            .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
        if locked {
            break;
        }
        let holder = holder_of(&mut file);
        let holder = holder.trim();
        match process(holder) {
            // Another plugin instance of this same run, isolated in its own
            // process as this one is: the directory is shared, as it is
            // between the instances of one process.
            Some(parent) if is_sibling(&parent) => return Ok(file),
            None if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
            _ => {}
        }
        let by = if holder.is_empty() {
            "another process".to_string()
        } else {
            format!("process {holder}")
        };
        return Err(format!(
            "the output directory {} is in use by another cloudmarker run ({by} holds {}); let it finish, or give this run its own `path`",
            dir.display(),
            path.display()
        ));
    }
    if let Err(e) = files::rewrite(&mut file, &std::process::id().to_string()) {
        log::warn!("Cannot note this process in {}: {e}", path.display());
    }
    Ok(file)
}

/// The pid written in the lock file.
fn holder_of(file: &mut File) -> String {
    let mut holder = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = Read::by_ref(file).take(32).read_to_string(&mut holder);
    holder
}

/// The parent of process `pid` if it is running (not a zombie, which has
/// let go of its locks).
fn process(pid: &str) -> Option<String> {
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces, so read after the last `)`.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?;
    let parent = fields.next()?;
    (state != "Z" && state != "X").then(|| parent.to_string())
}

/// Whether a process whose parent is `parent` is, like this one, a plugin
/// instance that the same cloudmarker host runs in its own process
/// (`isolation: process`): both are children of the host named by
/// `CLOUDMARKER_ISOLATED_BY`.
fn is_sibling(parent: &str) -> bool {
    let host = std::env::var("CLOUDMARKER_ISOLATED_BY").ok();
    let own_parent = std::os::unix::process::parent_id().to_string();
    host.as_deref() == Some(own_parent.as_str()) && parent == own_parent
}

/// Whether `file_name` is a temporary file of this plugin, and of which
/// audit version: `<name>.<audit_version>-<random>.tmp`.
pub fn temporary_of(file_name: &str) -> Option<&str> {
    let stem = file_name.strip_suffix(".tmp")?;
    let (_, tag) = stem.rsplit_once('.')?;
    let (version, random) = tag.rsplit_once('-')?;
    let random_ok =
        random.len() == RANDOM_CHARS && random.bytes().all(|b| b.is_ascii_alphanumeric());
    (random_ok && !version.is_empty()).then_some(version)
}

/// Removes the regular files in `dir` (links are never followed or
/// removed) owned by this user that are temporaries of another run. One
/// that is not (a symbolic link, a directory, another user's file: planted,
/// or left by something else) is left alone, and the log says so.
fn remove_stale(dir: &Path, audit_version: &str) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let euid = files::effective_uid();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(version) = name.to_str().and_then(temporary_of) else {
            continue;
        };
        if version == audit_version {
            continue;
        }
        let path = entry.path();
        // `DirEntry::metadata` does not follow a link.
        let refused = match entry.metadata() {
            Ok(m) => refusal(&m, euid),
            Err(e) => Some(format!("it cannot be inspected ({e})")),
        };
        if let Some(why) = refused {
            log::warn!(
                "Left {} alone: it is named like a temporary file of an earlier run, but {why}; it was neither followed nor removed.",
                path.display()
            );
            continue;
        }
        match fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(e) => log::warn!("Cannot remove {}: {e}", path.display()),
        }
    }
    removed
}

/// Why an entry named like a temporary file is not one this process may
/// remove (`None`: it may): a symbolic link, not a regular file, or owned
/// by another user than `euid`.
fn refusal(meta: &fs::Metadata, euid: u32) -> Option<String> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        Some("it is a symbolic link (planted?)".into())
    } else if kind.is_dir() {
        Some("it is a directory".into())
    } else if !kind.is_file() {
        Some("it is not a regular file".into())
    } else if meta.uid() != euid {
        Some(format!(
            "it belongs to another user (uid {}, not {euid})",
            meta.uid()
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Locks `dir` as another process would, naming `pid` as the holder.
    fn hold(dir: &Path, pid: &str) -> File {
        let mut file = files::open_private_rw(&dir.join(LOCK_FILE)).unwrap();
        assert!(files::try_lock_exclusive(&file).unwrap());
        files::rewrite(&mut file, pid).unwrap();
        file
    }

    #[test]
    fn a_live_holder_is_another_run_at_once() {
        let dir = tempfile::tempdir().unwrap();
        // This test process is alive and is not a sibling plugin process.
        let _held = hold(dir.path(), &std::process::id().to_string());
        let started = std::time::Instant::now();
        let refused = lock(dir.path()).unwrap_err();
        assert!(
            refused.contains("is in use by another cloudmarker run"),
            "{refused}"
        );
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
    }

    #[test]
    fn a_holder_that_is_gone_or_not_yet_named_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        // The file names no live process (an earlier run's, or none yet);
        // the lock is let go a moment later, as a sibling that ends does.
        for named in ["", "4194304999"] {
            let held = hold(dir.path(), named);
            let release = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(100));
                drop(held);
            });
            let mut file = lock(dir.path()).unwrap();
            release.join().unwrap();
            assert_eq!(holder_of(&mut file).trim(), std::process::id().to_string());
        }
    }
}
