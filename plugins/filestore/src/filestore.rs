//! A store that writes records to one JSON array file per worker.
//!
//! Records from worker `W` (their `com.origin_worker`) go to `<path>/W.json`.
//! The host's `end_audit` marker says whether the run was interrupted and
//! which producing workers failed: their files (all files, if interrupted)
//! stay `.tmp` and the previous `.json` is kept.
//! Records without an origin worker (the host's `begin_audit`/`end_audit`
//! markers) go to `<path>/audit_markers/<target_worker>_<target_type>.json`,
//! so the store and alert instances of one plugin never share a file. Each
//! file is written as `<name>.tmp` and renamed to `<name>.json` in `done`,
//! so a good file from an earlier run is never replaced by a partial one.

use cloudmarker_plugin_api::sdk::{self, PluginType, Records, Sink};
use cloudmarker_plugin_api::PluginError;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The subdirectory for records that have no origin worker.
pub const MARKERS_DIR: &str = "audit_markers";

/// Parameters of [`FileStore`].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileStoreParams {
    /// The output directory; a leading `~` is the home directory.
    pub path: String,
}

impl Default for FileStoreParams {
    fn default() -> Self {
        Self {
            path: "/tmp/cloudmarker".into(),
        }
    }
}

/// Writes records to JSON array files, one per worker.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    files: Vec<OutputFile>,
    /// What the `end_audit` marker said, once it arrived.
    end: Option<EndOfAudit>,
}

/// The parts of the `end_audit` marker that decide which files are complete.
#[derive(Debug, Default)]
struct EndOfAudit {
    interrupted: bool,
    failed_workers: Vec<String>,
}

/// One `.tmp` file being written.
#[derive(Debug)]
struct OutputFile {
    /// The file name without `.json`.
    name: String,
    tmp: PathBuf,
    writer: BufWriter<File>,
    /// How many records were written.
    records: u64,
    /// The first write error, if any: the file is then never renamed.
    error: Option<String>,
}

/// The `com` fields that name a record's file; everything else is skipped.
#[derive(Deserialize)]
struct RecordView<'a> {
    #[serde(borrow, default)]
    com: Option<ComView<'a>>,
}

#[derive(Deserialize, Default)]
struct ComView<'a> {
    #[serde(borrow, default)]
    record_type: Option<Cow<'a, str>>,
    #[serde(default)]
    interrupted: Option<bool>,
    #[serde(borrow, default)]
    failed_workers: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    origin_worker: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    target_worker: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    target_type: Option<Cow<'a, str>>,
}

impl PluginType for FileStore {
    type Params = FileStoreParams;
    const NAME: &'static str = "filestore";
    const DESCRIPTION: &'static str = "Writes records to one JSON array file per worker.";

    fn new(params: FileStoreParams) -> sdk::Result<Self> {
        let dir = expand_tilde(&params.path);
        fs::create_dir_all(&dir).map_err(|e| {
            PluginError::config(format!("filestore: cannot create {}: {e}", dir.display()))
        })?;
        Ok(Self {
            dir,
            files: Vec::new(),
            end: None,
        })
    }
}

impl Sink for FileStore {
    fn write(&mut self, records: Records<'_>) -> sdk::Result<()> {
        let mut refused = 0;
        let mut first_refusal = None;
        for record in records {
            match self.file_name(record) {
                Ok(name) => self.append(name, record)?,
                Err(reason) => {
                    refused += 1;
                    first_refusal.get_or_insert(reason);
                }
            }
        }
        match first_refusal {
            None => Ok(()),
            Some(reason) => Err(PluginError::partial(
                refused,
                format!("filestore: refused {refused} record(s): {reason}"),
            )),
        }
    }

    fn done(&mut self) -> sdk::Result<()> {
        let mut failures = Vec::new();
        let end = self.end.take().unwrap_or_default();
        for file in self.files.drain(..) {
            let json = self.dir.join(format!("{}.json", file.name));
            let incomplete = end.interrupted || end.failed_workers.contains(&file.name);
            let result = if incomplete {
                file.keep_as_tmp()
            } else {
                file.finish(&json)
            };
            match result {
                Err(e) => failures.push(format!("{}: {e}", json.display())),
                Ok(()) if incomplete => log::warn!(
                    "Kept the previous {} (if any): this output is incomplete, so it stays in {}.tmp.",
                    json.display(),
                    file_stem_path(&json).display()
                ),
                Ok(()) => {}
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            failures.sort();
            Err(PluginError::failed(format!(
                "filestore: kept the previous file(s), not written: {}",
                failures.join("; ")
            )))
        }
    }
}

impl FileStore {
    /// The file name (without `.json`) that `record` belongs in.
    fn file_name<'a>(&mut self, record: &'a str) -> Result<Cow<'a, str>, String> {
        let view: RecordView<'_> =
            serde_json::from_str(record).map_err(|e| format!("not a JSON record: {e}"))?;
        let com = view.com.unwrap_or_default();
        if com.record_type.as_deref() == Some("end_audit") && com.origin_worker.is_none() {
            self.end = Some(EndOfAudit {
                interrupted: com.interrupted.unwrap_or(false),
                failed_workers: com
                    .failed_workers
                    .iter()
                    .flatten()
                    .map(|w| w.to_string())
                    .collect(),
            });
        }
        match com.origin_worker {
            Some(worker) => {
                checked_name(&worker)?;
                Ok(worker)
            }
            None => {
                let worker = com.target_worker.unwrap_or(Cow::Borrowed("no_worker"));
                let kind = com.target_type.unwrap_or(Cow::Borrowed("sink"));
                let name = format!("{}_{}", checked_name(&worker)?, checked_name(&kind)?);
                Ok(Cow::Owned(format!("{MARKERS_DIR}/{name}")))
            }
        }
    }

    fn append(&mut self, name: Cow<'_, str>, record: &str) -> sdk::Result<()> {
        // Few files, and records of one file come in runs: a linear search
        // with the last file first beats hashing every name.
        let index = match self.files.iter().rposition(|f| f.name == name) {
            Some(index) => index,
            None => {
                self.files.push(OutputFile::create(&self.dir, &name)?);
                self.files.len() - 1
            }
        };
        let last = self.files.len() - 1;
        self.files.swap(index, last);
        let file = &mut self.files[last];
        file.append(record);
        match &file.error {
            None => Ok(()),
            Some(e) => Err(PluginError::failed(format!(
                "filestore: cannot write {}: {e}",
                file.tmp.display()
            ))),
        }
    }
}

impl OutputFile {
    fn create(dir: &Path, name: &str) -> sdk::Result<Self> {
        let tmp = dir.join(format!("{name}.tmp"));
        let create = || -> std::io::Result<File> {
            if let Some(parent) = tmp.parent() {
                fs::create_dir_all(parent)?;
            }
            File::create(&tmp)
        };
        let file = create().map_err(|e| {
            PluginError::failed(format!("filestore: cannot create {}: {e}", tmp.display()))
        })?;
        let mut writer = BufWriter::with_capacity(256 * 1024, file);
        let error = writer.write_all(b"[\n").err().map(|e| e.to_string());
        Ok(Self {
            name: name.to_string(),
            tmp,
            writer,
            records: 0,
            error,
        })
    }

    fn append(&mut self, record: &str) {
        if self.error.is_some() {
            return;
        }
        let result = if self.records == 0 {
            self.writer.write_all(record.as_bytes())
        } else {
            self.writer
                .write_all(b",\n")
                .and_then(|()| self.writer.write_all(record.as_bytes()))
        };
        self.records += 1;
        self.error = result.err().map(|e| e.to_string());
    }

    /// Flushes what was written and leaves the file as `.tmp`.
    fn keep_as_tmp(mut self) -> Result<(), String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.writer.flush().map_err(|e| e.to_string())
    }

    /// Closes the array, syncs and renames `.tmp` to `json`.
    fn finish(mut self, json: &Path) -> Result<(), String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let close = || -> std::io::Result<()> {
            self.writer.write_all(b"\n]\n")?;
            let file = self.writer.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            fs::rename(&self.tmp, json)
        };
        close().map_err(|e| e.to_string())
    }
}

/// `dir/name.json` -> `dir/name`.
fn file_stem_path(json: &Path) -> PathBuf {
    json.with_extension("")
}

/// Refuses names that would leave the output directory.
fn checked_name(name: &str) -> Result<&str, String> {
    let bad =
        name.is_empty() || name == "." || name.contains("..") || name.contains(['/', '\\', '\0']);
    if bad {
        Err(format!(
            "unsafe worker name {name:?} (empty, or with a path separator or '..')"
        ))
    } else {
        Ok(name)
    }
}

fn expand_tilde(path: &str) -> PathBuf {
    match (path.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(home).join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::{RStr, RVec};
    use serde_json::{json, Value};

    fn store(dir: &Path) -> FileStore {
        FileStore::new(FileStoreParams {
            path: dir.to_str().unwrap().into(),
        })
        .unwrap()
    }

    fn write(store: &mut FileStore, records: &[Value]) -> sdk::Result<()> {
        let texts: Vec<String> = records.iter().map(Value::to_string).collect();
        let strs: RVec<RStr<'_>> = texts.iter().map(|s| RStr::from_str(s)).collect();
        store.write(Records::new(strs.as_rslice()))
    }

    fn read(path: PathBuf) -> Value {
        serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn one_array_file_per_worker_after_done() {
        let dir = tempfile::tempdir().unwrap();
        let mut fs_store = store(dir.path());
        let a = |i| json!({"raw": {"i": i}, "com": {"origin_worker": "audit_a"}});
        let b = json!({"raw": {}, "com": {"origin_worker": "audit_b"}});
        write(&mut fs_store, &[a(0), b.clone(), a(1)]).unwrap();
        assert!(
            !dir.path().join("audit_a.json").exists(),
            "renamed only in done"
        );
        fs_store.done().unwrap();
        assert_eq!(read(dir.path().join("audit_a.json")), json!([a(0), a(1)]));
        assert_eq!(read(dir.path().join("audit_b.json")), json!([b]));
        assert!(!dir.path().join("audit_a.tmp").exists());
    }

    #[test]
    fn markers_of_store_and_alert_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        let marker = |t| json!({"com": {"record_type": "begin_audit", "target_worker": "audit_fs", "target_type": t}});
        let (mut as_store, mut as_alert) = (store(dir.path()), store(dir.path()));
        write(&mut as_store, &[marker("store")]).unwrap();
        write(&mut as_alert, &[marker("alert")]).unwrap();
        as_store.done().unwrap();
        as_alert.done().unwrap();
        let markers = dir.path().join(MARKERS_DIR);
        assert_eq!(
            read(markers.join("audit_fs_store.json")),
            json!([marker("store")])
        );
        assert_eq!(
            read(markers.join("audit_fs_alert.json")),
            json!([marker("alert")])
        );
    }

    #[test]
    fn unsafe_worker_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut fs_store = store(&dir.path().join("out"));
        let bad = [
            json!({"com": {"origin_worker": "../escape"}}),
            json!({"com": {"origin_worker": "a/b"}}),
            json!({"com": {"origin_worker": ""}}),
        ];
        let err = write(&mut fs_store, &bad).unwrap_err();
        assert!(err.kind.is_recoverable());
        assert_eq!(err.records_failed, 3);
        fs_store.done().unwrap();
        assert!(!dir.path().join("escape.json").exists());
        assert_eq!(fs::read_dir(dir.path().join("out")).unwrap().count(), 0);
    }

    #[test]
    fn previous_file_survives_a_run_that_never_finishes() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("w.json"), "[\"old\"]").unwrap();
        let mut fs_store = store(dir.path());
        write(&mut fs_store, &[json!({"com": {"origin_worker": "w"}})]).unwrap();
        drop(fs_store);
        assert_eq!(read(dir.path().join("w.json")), json!(["old"]));
        assert!(dir.path().join("w.tmp").exists());
    }

    #[test]
    fn interrupted_or_failed_outputs_stay_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        fs::write(path("audit_bad.json"), "[\"old\"]").unwrap();
        let mut fs_store = store(dir.path());
        let end = json!({"com": {"record_type": "end_audit", "interrupted": false, "failed_workers": ["audit_bad"], "target_worker": "audit_fs", "target_type": "store"}});
        let rec = |w: &str| json!({"com": {"origin_worker": w}});
        write(&mut fs_store, &[rec("audit_good"), rec("audit_bad"), end]).unwrap();
        fs_store.done().unwrap();
        assert!(path("audit_good.json").exists());
        assert_eq!(
            read(path("audit_bad.json")),
            json!(["old"]),
            "a failed worker's previous output is kept"
        );
        assert!(path("audit_bad.tmp").exists());

        let mut fs_store = store(dir.path());
        let end = json!({"com": {"record_type": "end_audit", "interrupted": true, "failed_workers": [], "target_worker": "audit_fs", "target_type": "store"}});
        write(&mut fs_store, &[rec("audit_other"), end]).unwrap();
        fs_store.done().unwrap();
        assert!(
            !path("audit_other.json").exists(),
            "nothing is renamed after an interruption"
        );
        assert!(path("audit_other.tmp").exists());
    }

    #[test]
    fn unwritable_directory_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let err = FileStore::new(FileStoreParams {
            path: file.join("sub").to_str().unwrap().into(),
        })
        .unwrap_err();
        assert!(err.message.contains("cannot create"), "{err}");
    }

    #[test]
    fn tilde_is_the_home_directory() {
        let home = PathBuf::from(std::env::var_os("HOME").unwrap());
        assert_eq!(expand_tilde("~/x/y"), home.join("x/y"));
        assert_eq!(expand_tilde("~"), home);
        assert_eq!(expand_tilde("/a/~b"), PathBuf::from("/a/~b"));
    }
}
