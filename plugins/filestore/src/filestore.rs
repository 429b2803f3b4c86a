//! A store that writes records to one JSON array file per worker.
//!
//! Records from worker `W` (their `com.origin_worker`) go to `<path>/W.json`.
//! The host's `end_audit` marker says whether the run was interrupted and
//! which producing workers failed: their files (all files, if interrupted)
//! stay `.tmp` and the previous `.json` is kept.
//! Records without an origin worker (the host's `begin_audit`/`end_audit`
//! markers) go to `<path>/audit_markers/<target_worker>_<target_type>.json`,
//! so the store and alert instances of one plugin never share a file. Each
//! file is written as a private temporary file of its run (see [`outdir`])
//! and renamed to `<name>.json` in `done`, so a good file from an earlier
//! run is never replaced by a partial one.
//!
//! [`outdir`]: crate::outdir

use crate::outdir::{OutputDir, RANDOM_CHARS};
use cloudmarker_plugin_api::record::{Head, Marker};
use cloudmarker_plugin_api::sdk::{self, files, PluginType, Records, Sink};
use cloudmarker_plugin_api::PluginError;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub use crate::formats::Format;
pub use crate::outdir::MARKERS_DIR;

/// Parameters of [`FileStore`].
#[derive(Debug, Clone, Deserialize, Serialize, cloudmarker_plugin_api::sdk::schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct FileStoreParams {
    /// The output directory; a leading `~` is the home directory.
    pub path: String,
    /// `json` (the original's JSON array, `<worker>.json`), `ocsf` (OCSF
    /// Detection Findings, one JSON object per line, `<worker>.ocsf.jsonl`;
    /// records that are not findings are left out) or `csv` (one row per
    /// record with its `com` fields, `<worker>.csv`).
    pub format: Format,
    /// Also keep the HTML report of the run (`report.html`, as `cloudmarker
    /// report` writes it) in `path`: the host writes it from the findings
    /// state after each run (the plugin itself does nothing with it).
    pub report: bool,
}

impl Default for FileStoreParams {
    fn default() -> Self {
        Self {
            path: "/tmp/cloudmarker".into(),
            format: Format::Json,
            report: false,
        }
    }
}

/// Writes records to JSON array files, one per worker.
#[derive(Debug)]
pub struct FileStore {
    dir: OutputDir,
    format: Format,
    /// The audit version of the run, from the first record that has one.
    version: Option<String>,
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
    /// The file name without its extension.
    name: String,
    format: Format,
    /// Records left out (not findings, in the OCSF format).
    skipped: u64,
    tmp: PathBuf,
    writer: BufWriter<File>,
    /// How many records were written.
    records: u64,
    /// The first write error, if any: the file is then never renamed.
    error: Option<String>,
}

impl PluginType for FileStore {
    type Params = FileStoreParams;

    const NAME: &'static str = "filestore";
    const CLASS: Option<&'static str> = Some("FileStore");
    const DESCRIPTION: &'static str = "Writes records to one JSON array file per worker.";

    fn new(params: FileStoreParams) -> sdk::Result<Self> {
        let dir = OutputDir::open(&files::expand_tilde(&params.path))
            .map_err(|e| PluginError::config(format!("filestore: {e}")))?;
        Ok(Self {
            dir,
            format: params.format,
            version: None,
            files: Vec::new(),
            end: None,
        })
    }

    /// The directory exists (or was created), is private, is not locked by
    /// another run (checked by `new`), and takes a file.
    fn health_check(&mut self) -> sdk::Result<String> {
        let dir = self.dir.path();
        tempfile::Builder::new()
            .prefix(".cloudmarker-check-")
            .tempfile_in(dir)
            .map_err(|e| {
                PluginError::unavailable(format!(
                    "filestore: cannot write to {}: {e}",
                    dir.display()
                ))
            })?;
        Ok(format!("can write to {}", dir.display()))
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

    /// Records of one producer go to its file without reading each one's
    /// `com` (the host already checked that they are JSON objects stamped
    /// with this origin). Before the first marker has named the run, the
    /// records are read one by one, as `write` does.
    fn write_from(&mut self, origin: &str, records: Records<'_>) -> sdk::Result<()> {
        if self.version.is_none() {
            return self.write(records);
        }
        if let Err(reason) = checked_name(origin) {
            let refused = records.len() as u64;
            return Err(PluginError::partial(
                refused,
                format!("filestore: refused {refused} record(s): {reason}"),
            ));
        }
        for record in records {
            self.append(Cow::Borrowed(origin), record)?;
        }
        Ok(())
    }

    fn done(&mut self) -> sdk::Result<()> {
        let mut failures = Vec::new();
        let end = self.end.take().unwrap_or_default();
        for file in self.files.drain(..) {
            let json = self
                .dir
                .path()
                .join(format!("{}.{}", file.name, file.format.extension()));
            if file.skipped > 0 {
                log::info!(
                    "Left {} record(s) that are not findings out of {}.",
                    file.skipped,
                    json.display()
                );
            }
            let incomplete = end.interrupted || end.failed_workers.contains(&file.name);
            let result = if incomplete {
                file.keep_as_tmp()
            } else {
                file.finish(&json)
            };
            match result {
                Err(e) => failures.push(format!("{}: {e}", json.display())),
                Ok(tmp) if incomplete => log::warn!(
                    "Kept the previous {} (if any): this output is incomplete, so it stays in {} until the next run.",
                    json.display(),
                    tmp.display()
                ),
                Ok(_) => {}
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
        let head = Head::parse_stamped(record).map_err(|e| format!("not a JSON record: {e}"))?;
        if let Some(Marker::End {
            interrupted,
            failed_workers,
        }) = head.marker()
        {
            self.end = Some(EndOfAudit {
                interrupted,
                failed_workers,
            });
        }
        let com = head.com;
        if self.version.is_none() {
            if let Some(version) = com.audit_version.as_deref() {
                let version = checked_name(version)?.to_string();
                self.dir.clean_other_runs(&version);
                self.version = Some(version);
            }
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
                let version = self.version.as_deref().unwrap_or("unversioned");
                // The host's markers stay JSON: they are the run's own record.
                let format = if name.starts_with(MARKERS_DIR) {
                    Format::Json
                } else {
                    self.format
                };
                let file = OutputFile::create(self.dir.path(), &name, version, format)?;
                self.files.push(file);
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
    /// Creates `<dir>/<name>.<version>-<random>.tmp`, mode `0600`, with
    /// `O_EXCL` (a planted file or link at that name is never opened).
    fn create(dir: &Path, name: &str, version: &str, format: Format) -> sdk::Result<Self> {
        let path = dir.join(name);
        let parent = path.parent().unwrap_or(dir);
        let base = path.file_name().and_then(|n| n.to_str()).unwrap_or(name);
        let create = || -> std::io::Result<(File, PathBuf)> {
            files::create_private_dir_all(parent)?;
            let temporary = tempfile::Builder::new()
                .prefix(&format!("{base}.{version}-"))
                .suffix(".tmp")
                .rand_bytes(RANDOM_CHARS)
                .tempfile_in(parent)?;
            temporary.keep().map_err(|e| e.error)
        };
        let (file, tmp) = create().map_err(|e| {
            PluginError::failed(format!(
                "filestore: cannot create a temporary file for {}: {e}",
                path.display()
            ))
        })?;
        let mut writer = BufWriter::with_capacity(256 * 1024, file);
        let error = writer
            .write_all(format.header().as_bytes())
            .err()
            .map(|e| e.to_string());
        Ok(Self {
            name: name.to_string(),
            format,
            skipped: 0,
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
        let result = match self.format {
            Format::Json if self.records == 0 => self.writer.write_all(record.as_bytes()),
            Format::Json => self
                .writer
                .write_all(b",\n")
                .and_then(|()| self.writer.write_all(record.as_bytes())),
            Format::Ocsf | Format::Csv => match crate::formats::encode(self.format, record) {
                Some(line) => self.writer.write_all(line.as_bytes()),
                None => {
                    self.skipped += 1;
                    return;
                }
            },
        };
        self.records += 1;
        self.error = result.err().map(|e| e.to_string());
    }

    /// Flushes what was written and leaves the temporary file; returns it.
    fn keep_as_tmp(mut self) -> Result<PathBuf, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.writer.flush().map_err(|e| e.to_string())?;
        Ok(self.tmp)
    }

    /// Closes the array, syncs, renames the temporary file to `json` (an
    /// existing file or link there is replaced, never followed) and syncs
    /// the directory so the rename survives a crash.
    fn finish(mut self, json: &Path) -> Result<PathBuf, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let close = || -> std::io::Result<()> {
            self.writer
                .write_all(self.format.footer(self.records).as_bytes())?;
            let file = self.writer.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            fs::rename(&self.tmp, json)?;
            match json.parent() {
                Some(dir) => File::open(dir)?.sync_all(),
                None => Ok(()),
            }
        };
        close().map_err(|e| e.to_string())?;
        Ok(json.to_path_buf())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::{RStr, RVec};
    use cloudmarker_plugin_api::record::{com, BEGIN_AUDIT, END_AUDIT};
    use serde_json::{json, Value};

    fn store(dir: &Path) -> FileStore {
        FileStore::new(FileStoreParams {
            path: dir.to_str().unwrap().into(),
            format: Format::Json,
            report: false,
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
    fn a_batch_of_one_origin_goes_to_its_file_unread() {
        let dir = tempfile::tempdir().unwrap();
        let mut fs_store = store(dir.path());
        let texts = [json!({"raw": 1}).to_string(), "{\"raw\": 2}".to_string()];
        let strs: RVec<RStr<'_>> = texts.iter().map(|s| RStr::from_str(s)).collect();
        let begin = json!({"com": {com::RECORD_TYPE: BEGIN_AUDIT, "audit_version": "20260101_000000", "target_worker": "audit_fs", "target_type": "store"}});
        write(&mut fs_store, &[begin]).unwrap();
        fs_store
            .write_from("audit_a", Records::new(strs.as_rslice()))
            .unwrap();
        let refused = fs_store
            .write_from("../escape", Records::new(strs.as_rslice()))
            .unwrap_err();
        assert_eq!(refused.records_failed, 2, "{refused}");
        fs_store.done().unwrap();
        assert_eq!(
            read(dir.path().join("audit_a.json")),
            json!([{"raw": 1}, {"raw": 2}])
        );
    }

    #[test]
    fn markers_of_store_and_alert_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        let marker = |t| json!({"com": {com::RECORD_TYPE: BEGIN_AUDIT, "target_worker": "audit_fs", "target_type": t}});
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
        let names: Vec<_> = fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [crate::outdir::LOCK_FILE], "nothing but the lock");
    }

    #[test]
    fn previous_file_survives_a_run_that_never_finishes() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("w.json"), "[\"old\"]").unwrap();
        let mut fs_store = store(dir.path());
        write(&mut fs_store, &[json!({"com": {"origin_worker": "w"}})]).unwrap();
        drop(fs_store);
        assert_eq!(read(dir.path().join("w.json")), json!(["old"]));
        assert_eq!(temporaries(dir.path(), "w"), 1);
    }

    /// How many temporary files of worker file `name` are in `dir`.
    fn temporaries(dir: &Path, name: &str) -> usize {
        fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| {
                let file = e.file_name().into_string().unwrap();
                crate::outdir::temporary_of(&file).is_some()
                    && file.starts_with(&format!("{name}."))
            })
            .count()
    }

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn planted_links_are_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        // Today's and yesterday's fixed names, and the final name.
        for name in ["w.tmp", "w.json", "w.unversioned-abcdef.tmp"] {
            std::os::unix::fs::symlink(&victim, out.join(name)).unwrap();
        }
        let mut fs_store = store(&out);
        let record = json!({"raw": 1, "com": {"origin_worker": "w"}});
        write(&mut fs_store, std::slice::from_ref(&record)).unwrap();
        fs_store.done().unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(read(out.join("w.json")), json!([record]));
        assert!(!out.join("w.json").is_symlink(), "the link was replaced");
        assert_eq!(mode(&out.join("w.json")), 0o600);
    }

    #[test]
    fn new_directories_and_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        let mut fs_store = store(&out);
        let marker = json!({"com": {com::RECORD_TYPE: BEGIN_AUDIT, "audit_version": "v1", "target_worker": "audit_fs", "target_type": "store"}});
        write(
            &mut fs_store,
            &[marker, json!({"com": {"origin_worker": "w"}})],
        )
        .unwrap();
        fs_store.done().unwrap();
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&out), 0o700);
        assert_eq!(mode(&out.join(MARKERS_DIR)), 0o700);
        assert_eq!(mode(&out.join("w.json")), 0o600);
        assert_eq!(
            mode(&out.join(MARKERS_DIR).join("audit_fs_store.json")),
            0o600
        );
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let err = FileStore::new(FileStoreParams {
            path: dir.path().to_str().unwrap().into(),
            format: Format::Json,
            report: false,
        })
        .unwrap_err();
        assert!(err.message.contains("writable by others"), "{err}");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing written"
        );
    }

    #[test]
    fn temporaries_of_earlier_runs_are_removed_at_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let marker = |v: &str| json!({"com": {com::RECORD_TYPE: BEGIN_AUDIT, "audit_version": v, "target_worker": "audit_fs", "target_type": "store"}});
        let end = json!({"com": {com::RECORD_TYPE: END_AUDIT, "interrupted": true, "target_worker": "audit_fs", "target_type": "store"}});
        let mut first = store(out);
        write(
            &mut first,
            &[marker("v1"), json!({"com": {"origin_worker": "w"}}), end],
        )
        .unwrap();
        first.done().unwrap();
        drop(first);
        assert_eq!(temporaries(out, "w"), 1, "an interrupted output is kept");
        fs::write(out.join("notes.tmp"), "not ours").unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, out.join("x.v0-abcdef.tmp")).unwrap();

        let mut second = store(out);
        let mut alert = store(out);
        write(
            &mut second,
            &[marker("v2"), json!({"com": {"origin_worker": "w"}})],
        )
        .unwrap();
        assert_eq!(temporaries(out, "w"), 1, "v1's is gone, v2's is there");
        write(&mut alert, &[marker("v2")]).unwrap();
        assert_eq!(
            temporaries(out, "w"),
            1,
            "a second instance of the run keeps it"
        );
        assert!(out.join("notes.tmp").exists());
        assert!(
            out.join("x.v0-abcdef.tmp").is_symlink(),
            "links are left alone"
        );
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn interrupted_or_failed_outputs_stay_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        fs::write(path("audit_bad.json"), "[\"old\"]").unwrap();
        let mut fs_store = store(dir.path());
        let end = json!({"com": {com::RECORD_TYPE: END_AUDIT, "interrupted": false, "failed_workers": ["audit_bad"], "target_worker": "audit_fs", "target_type": "store"}});
        let rec = |w: &str| json!({"com": {"origin_worker": w}});
        write(&mut fs_store, &[rec("audit_good"), rec("audit_bad"), end]).unwrap();
        fs_store.done().unwrap();
        assert!(path("audit_good.json").exists());
        assert_eq!(
            read(path("audit_bad.json")),
            json!(["old"]),
            "a failed worker's previous output is kept"
        );
        assert_eq!(temporaries(dir.path(), "audit_bad"), 1);

        let mut fs_store = store(dir.path());
        let end = json!({"com": {com::RECORD_TYPE: END_AUDIT, "interrupted": true, "failed_workers": [], "target_worker": "audit_fs", "target_type": "store"}});
        write(&mut fs_store, &[rec("audit_other"), end]).unwrap();
        fs_store.done().unwrap();
        assert!(
            !path("audit_other.json").exists(),
            "nothing is renamed after an interruption"
        );
        assert_eq!(temporaries(dir.path(), "audit_other"), 1);
    }

    #[test]
    fn unwritable_directory_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let err = FileStore::new(FileStoreParams {
            path: file.join("sub").to_str().unwrap().into(),
            format: Format::Json,
            report: false,
        })
        .unwrap_err();
        assert!(err.message.contains("cannot create"), "{err}");
    }

    #[test]
    fn temporary_names_are_recognised() {
        assert_eq!(
            crate::outdir::temporary_of("audit_cloud.20261203_081500-aZ09bc.tmp"),
            Some("20261203_081500")
        );
        assert_eq!(
            crate::outdir::temporary_of("a.b.20261203_081500_2-aZ09bc.tmp"),
            Some("20261203_081500_2")
        );
        for other in [
            "audit_cloud.tmp",
            "audit_cloud.json",
            "x.v-toolong1.tmp",
            "x.v-sh.tmp",
            "x.-abcdef.tmp",
            "notes-abcdef.tmp",
        ] {
            assert_eq!(crate::outdir::temporary_of(other), None, "{other}");
        }
    }

    #[test]
    fn a_second_process_is_refused_and_instances_of_one_share() {
        let dir = tempfile::tempdir().unwrap();
        let first = crate::outdir::OutputDir::open(dir.path()).unwrap();
        let second = crate::outdir::OutputDir::open(dir.path()).unwrap();
        // Another process: an independent open file description.
        let other = File::open(dir.path().join(crate::outdir::LOCK_FILE)).unwrap();
        assert!(!sdk::files::try_lock_exclusive(&other).unwrap());
        drop(first);
        assert!(
            !sdk::files::try_lock_exclusive(&other).unwrap(),
            "still shared"
        );
        drop(second);
        assert!(sdk::files::try_lock_exclusive(&other).unwrap(), "released");
        let err = crate::outdir::OutputDir::open(dir.path()).unwrap_err();
        assert!(
            err.contains("is in use by another cloudmarker run"),
            "{err}"
        );
    }
}
