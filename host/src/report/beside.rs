//! The report of each run without another command: `report: true` on a
//! `filestore` entry writes it (`report.html`) into that store's `path`;
//! `attach_report: true` on an `emailalert` entry (or on the top-level
//! `email:`) mails it to the same recipients. Both happen after the run,
//! once its findings are committed and its history line is written.

use super::gather::{self, Which};
use crate::config::Config;
use chrono::{Duration, Utc};
use smtp::{EmailParams, Mailer};
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
            if !is_plugin(&entry.plugin, "filestore", "stores.filestore.FileStore") {
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

/// Whether a `plugin:` value names the bundled plugin `name` (its name,
/// its original class name `cloudmarker.<class>`, or its library file).
fn is_plugin(plugin: &str, name: &str, class: &str) -> bool {
    let library = format!(
        "{}{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    plugin == name
        || plugin.strip_prefix("cloudmarker.") == Some(class)
        || std::path::Path::new(plugin)
            .file_name()
            .is_some_and(|f| f.to_string_lossy() == library)
}

/// The email settings of the emailalert entries of the run's audits, and
/// of the top-level `email:`, that ask for the report (`attach_report:
/// true`), each entry once; an entry whose params cannot be read is
/// logged and left out.
pub fn email_targets(config: &Config) -> Vec<(String, EmailParams)> {
    let mut out: Vec<(String, EmailParams)> = Vec::new();
    let mut keys: Vec<&String> = Vec::new();
    for audit in config.run.iter().filter_map(|a| config.audits.get(a)) {
        for key in &audit.alerts {
            let Some(entry) = config.plugins.get(key) else {
                continue;
            };
            if keys.contains(&key)
                || !is_plugin(&entry.plugin, "emailalert", "alerts.emailalert.EmailAlert")
            {
                continue;
            }
            keys.push(key);
            let params = entry.params.clone().unwrap_or(serde_json::Value::Null);
            if params
                .get("attach_report")
                .and_then(serde_json::Value::as_bool)
                != Some(true)
            {
                continue;
            }
            match serde_json::from_value::<EmailParams>(params) {
                Ok(email) => out.push((format!("plugins.{key}"), email)),
                Err(e) => log::error!("Cannot mail the run's report: plugins.{key}.params: {e}"),
            }
        }
    }
    if let Some(email) = config.email.as_ref().filter(|e| e.attach_report) {
        out.push(("email".into(), email.clone()));
    }
    out
}

/// Writes the report into every directory [`filestore_dirs`] names and
/// mails it to every [`email_targets`]; a failure is logged, never the
/// run's failure.
pub fn write_after_run(config: &Config) {
    let dirs = filestore_dirs(config);
    let emails = email_targets(config);
    if dirs.is_empty() && emails.is_empty() {
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
    let day = now.format("%Y-%m-%d %H:%M UTC");
    let body = format!(
        "The cloudmarker report of the run that ended {day} is attached (report.html: open it in a browser; it needs no network).\n"
    );
    for (source, email) in emails {
        let sent = Mailer::new(&email).and_then(|mailer| {
            mailer.send_file(
                &format!("cloudmarker report {day}"),
                &body,
                Some(("report.html", "text/html; charset=utf-8", page.clone())),
            )
        });
        match sent {
            Ok(()) => log::info!(
                "Mailed the run's report ({source}) via {}.",
                email.describe()
            ),
            Err(e) => log::error!("Cannot mail the run's report ({source}), error: {e}"),
        }
    }
}
