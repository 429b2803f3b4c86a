//! A cloud plugin that reads records back from filestore output files (this
//! project's, and upstream Cloudmarker's, which are the same JSON arrays),
//! so that a saved inventory can be evaluated again, with new or changed
//! event plugins, without calling any cloud.
//!
//! Each file is read as a stream (one record in memory at a time). The
//! host's markers and events in the files are left out: only what a cloud
//! read goes on, with its `raw`, `ext` and `com` as saved (the host stamps
//! it again as this run's). In a sharded run it passes on the records of
//! the subscriptions, projects and accounts of its shard (`ext.subscription_id`,
//! `project_id` or `account_id`; a record with none of them by its
//! `com.reference`), so that a saved estate divides as its clouds divide
//! it (AWS by account, also when there is one).

use cloudmarker_plugin_api::record::Head;
use cloudmarker_plugin_api::sdk::stream::{Emitter, StreamCloud, StreamReader};
use cloudmarker_plugin_api::sdk::{self, files};
use cloudmarker_plugin_api::PluginError;
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use std::fmt;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Parameters of [`FileCloud`].
#[derive(Debug, Clone, Default, Deserialize, Serialize, sdk::schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct FileCloudParams {
    /// A filestore output file (`<worker>.json`), or a directory whose
    /// `.json` files are all read (in name order; `audit_markers/` is not).
    pub path: String,
}

/// Reads saved records; see the module documentation.
pub type FileCloud = StreamCloud<Files>;

/// What `filecloud` reads: its files, in order.
pub struct Files(Vec<PathBuf>);

impl StreamReader for Files {
    type Params = FileCloudParams;
    const NAME: &'static str = "filecloud";
    const DESCRIPTION: &'static str =
        "Reads records back from filestore output files, to evaluate a saved inventory again.";
    const SHARDS: bool = true;

    fn open(params: FileCloudParams) -> sdk::Result<Self> {
        let config = |e: String| PluginError::config(format!("filecloud: {e}"));
        if params.path.trim().is_empty() {
            return Err(config("path must be set".into()));
        }
        let path = files::expand_tilde(&params.path);
        let files = inputs(&path).map_err(config)?;
        if files.is_empty() {
            return Err(config(format!("no .json file in {}", path.display())));
        }
        Ok(Self(files))
    }

    fn collect(&self, emit: Emitter) {
        for file in &self.0 {
            if !read_file(file, &emit) {
                return;
            }
        }
    }
}

/// The files to read at `path`.
fn inputs(path: &Path) -> Result<Vec<PathBuf>, String> {
    let metadata =
        std::fs::metadata(path).map_err(|e| format!("cannot read path {}: {e}", path.display()))?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("cannot list {}: {e}", path.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Emits the cloud records of one file; false once the host stops reading.
fn read_file(file: &Path, emit: &Emitter) -> bool {
    let opened = std::fs::File::open(file);
    let reader = match opened {
        Ok(reader) => BufReader::with_capacity(256 * 1024, reader),
        Err(e) => {
            return emit.problem(PluginError::partial(
                0,
                format!("filecloud: cannot read {}: {e}", file.display()),
            ))
        }
    };
    let mut left_out = 0u64;
    let mut read = 0u64;
    let mut other_shards = 0u64;
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let result = deserializer.deserialize_seq(Records {
        emit,
        shard: sdk::shard::current(),
        read: &mut read,
        left_out: &mut left_out,
        other_shards: &mut other_shards,
    });
    let result = result.and_then(|going_on| deserializer.end().map(|()| going_on));
    log::info!(
        "Read {read} record(s) from {}{}{}.",
        file.display(),
        if left_out > 0 {
            format!(" (left out {left_out} marker(s) and event(s))")
        } else {
            String::new()
        },
        match sdk::shard::current() {
            Some(shard) => format!(" (shard {shard}: {read} of {})", read + other_shards),
            None => String::new(),
        }
    );
    match result {
        Ok(going_on) => going_on,
        Err(e) => emit.problem(PluginError::partial(
            0,
            format!(
                "filecloud: {} is not a filestore JSON array of records: {e}",
                file.display()
            ),
        )),
    }
}

/// The elements of one file's array, each sent on as it is parsed.
struct Records<'a> {
    emit: &'a Emitter,
    shard: Option<sdk::shard::Shard>,
    read: &'a mut u64,
    left_out: &'a mut u64,
    other_shards: &'a mut u64,
}

impl<'de> Visitor<'de> for Records<'_> {
    /// Whether the host still reads.
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while let Some(record) = seq.next_element::<Box<RawValue>>()? {
            let text = record.get();
            if !is_cloud_record(text) {
                *self.left_out += 1;
                continue;
            }
            if self
                .shard
                .is_some_and(|shard| !shard.takes(&scope_of(text)))
            {
                *self.other_shards += 1;
                continue;
            }
            *self.read += 1;
            if !self.emit.record(text.to_string()) {
                // The host stopped reading: skip the rest quickly.
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The subscription, project or account of a saved record (else its
/// resource, else the record itself), which decides its shard.
fn scope_of(record: &str) -> String {
    #[derive(Deserialize, Default)]
    struct Scoped {
        #[serde(default)]
        ext: ScopeIds,
        #[serde(default)]
        com: Reference,
    }
    #[derive(Deserialize, Default)]
    struct ScopeIds {
        subscription_id: Option<String>,
        project_id: Option<String>,
        account_id: Option<String>,
    }
    #[derive(Deserialize, Default)]
    struct Reference {
        reference: Option<String>,
    }
    let scoped: Scoped = serde_json::from_str(record).unwrap_or_default();
    let ScopeIds {
        subscription_id,
        project_id,
        account_id,
    } = scoped.ext;
    subscription_id
        .or(project_id)
        .or(account_id)
        .or(scoped.com.reference)
        .unwrap_or_else(|| record.to_string())
}

/// Whether `record` is what a cloud read: not a host marker, not an event.
fn is_cloud_record(record: &str) -> bool {
    match Head::parse(record) {
        Ok(head) => head.marker().is_none() && head.com.origin_type.as_deref() != Some("event"),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::record::{com, BEGIN_AUDIT};
    use serde_json::{json, Value};

    fn text(record: Value) -> String {
        record.to_string()
    }

    #[test]
    fn cloud_records_only() {
        assert!(is_cloud_record(&text(
            json!({"com": {com::RECORD_TYPE: "vm", com::ORIGIN_TYPE: "cloud"}})
        )));
        assert!(is_cloud_record(r#"{"raw": {}}"#));
        assert!(!is_cloud_record(&text(
            json!({"com": {com::RECORD_TYPE: BEGIN_AUDIT}})
        )));
        assert!(!is_cloud_record(&text(
            json!({"com": {com::RECORD_TYPE: "x_event", com::ORIGIN_TYPE: "event"}})
        )));
    }

    #[test]
    fn a_record_is_sharded_by_its_subscription_project_or_account() {
        assert_eq!(
            scope_of(&text(
                json!({"ext": {"subscription_id": "s1", "account_id": "a"}, "com": {com::REFERENCE: "/r"}})
            )),
            "s1"
        );
        assert_eq!(scope_of(r#"{"ext": {"project_id": "p"}}"#), "p");
        assert_eq!(scope_of(r#"{"ext": {"account_id": "a"}}"#), "a");
        assert_eq!(
            scope_of(&text(json!({"ext": {}, "com": {com::REFERENCE: "/r"}}))),
            "/r"
        );
        assert_eq!(scope_of(r#"{"raw": 1}"#), r#"{"raw": 1}"#);
    }

    #[test]
    fn a_directory_is_its_json_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.json", "a.json", "c.tmp"] {
            std::fs::write(dir.path().join(name), "[]").unwrap();
        }
        std::fs::create_dir(dir.path().join("audit_markers")).unwrap();
        let found = inputs(dir.path()).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.json", "b.json"]);
        assert!(inputs(&dir.path().join("nope")).is_err());
    }
}
