//! `report: true` on a `filestore` entry: after each run, the host writes
//! the run's report (`report.html`) into that store's `path`, so that a
//! scheduled run produces it without another command.

use super::gather::{self, Which};
use crate::config::Config;
use chrono::{Duration, Utc};
use std::path::PathBuf;

/// The report's file name in a filestore directory.
pub const FILE_NAME: &str = "report.html";

/// The directories of the filestore entries of the run's audits that ask
/// for the report (`report: true`), each once.
pub fn filestore_dirs(config: &Config) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for audit in &config.run {
        let Some(audit) = config.audits.get(audit) else {
            continue;
        };
        for key in audit.stores.iter().chain(&audit.alerts) {
            let Some(entry) = config.plugins.get(key) else {
                continue;
            };
            if !is_filestore(&entry.plugin) {
                continue;
            }
            let params = entry.params.as_ref();
            let wanted = params
                .and_then(|p| p.get("report"))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
            if !wanted {
                continue;
            }
            let path = params
                .and_then(|p| p.get("path"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("/tmp/cloudmarker");
            let dir = cloudmarker_plugin_api::sdk::files::expand_tilde(path);
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    dirs
}

/// Whether a `plugin:` value names the bundled filestore (its name, its
/// original class name, or its library file).
fn is_filestore(plugin: &str) -> bool {
    let library = format!(
        "{}filestore{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    plugin == "filestore"
        || plugin == "cloudmarker.stores.filestore.FileStore"
        || std::path::Path::new(plugin)
            .file_name()
            .is_some_and(|f| f.to_string_lossy() == library)
}

/// Writes the report into every directory [`filestore_dirs`] names; a
/// failure is logged, never the run's failure.
pub fn write_after_run(config: &Config) {
    let dirs = filestore_dirs(config);
    if dirs.is_empty() {
        return;
    }
    let frameworks = match crate::compliance::load(config) {
        Ok(frameworks) => frameworks,
        Err(e) => {
            log::error!("Cannot write the run's report: the frameworks cannot be read, error: {e}");
            return;
        }
    };
    let now = Utc::now();
    let page = match gather::gather(
        config,
        &frameworks,
        Which::Seen,
        now,
        now - Duration::days(7),
    ) {
        Ok(input) => super::page(&input),
        Err(e) => {
            log::error!("Cannot write the run's report, error: {e}");
            return;
        }
    };
    for dir in dirs {
        let path = dir.join(FILE_NAME);
        match super::write_file(&path, page.as_bytes()) {
            Ok(()) => log::info!("Wrote the run's report {}.", path.display()),
            Err(e) => log::error!(
                "Cannot write the run's report {}, error: {e}",
                path.display()
            ),
        }
    }
}
