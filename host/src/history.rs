//! The run history: one JSON line per run, and the table `cloudmarker
//! history` prints from it.

use crate::audit::{AuditReport, RunReport, WorkerReport};
use chrono::{DateTime, Local, Utc};
use cloudmarker_plugin_api::sdk::files;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

/// The history file when no user state directory is known (no `HOME`).
pub const FALLBACK_PATH: &str = "/tmp/cloudmarker-history.jsonl";

/// The default history file: `history.jsonl` in the user's state directory
/// (beside the findings database), else [`FALLBACK_PATH`].
pub fn default_path() -> std::path::PathBuf {
    crate::dirs::state_dir()
        .map(|dir| dir.join("history.jsonl"))
        .unwrap_or_else(|| FALLBACK_PATH.into())
}

/// One run, as one line of the history file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The audit version the run's audits shared.
    pub audit_version: String,
    /// When the run started (RFC 3339, UTC).
    pub started: DateTime<Utc>,
    /// When it ended.
    pub ended: DateTime<Utc>,
    /// The process exit status this run alone would give (0, 1, or 128 +
    /// the signal that interrupted it).
    pub status: u8,
    /// Whether a shutdown signal cut the run short.
    pub interrupted: bool,
    /// The run's shard (`I/N`), in a sharded run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// One entry per audit.
    pub audits: Vec<AuditRecord>,
}

/// One audit of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The audit key.
    pub audit_key: String,
    /// Records read by the clouds.
    pub records_read: u64,
    /// Events raised.
    pub events: u64,
    /// Records written by stores and alerts.
    pub writes: u64,
    /// Failures of all plugins.
    pub failures: u64,
    /// Seconds the audit took.
    pub seconds: f64,
    /// Per plugin instance.
    pub workers: Vec<WorkerRecord>,
}

/// One plugin instance of an audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerRecord {
    /// `<audit>_<plugin>`.
    pub worker: String,
    /// `cloud`, `event`, `store` or `alert`.
    pub role: String,
    /// Records produced.
    pub produced: u64,
    /// Records written.
    pub written: u64,
    /// Failures.
    pub failures: u64,
    /// Records lost, where known.
    pub records_lost: u64,
    /// Whether the plugin failed for good.
    pub fatal: bool,
}

impl RunRecord {
    /// The record of a finished run.
    pub fn new(
        report: &RunReport,
        started: DateTime<Utc>,
        ended: DateTime<Utc>,
        status: u8,
    ) -> Self {
        Self {
            audit_version: report.audit_version.clone(),
            started,
            ended,
            status,
            interrupted: report.interrupted,
            shard: report.shard.map(|s| s.to_string()),
            audits: report.audits.iter().map(AuditRecord::new).collect(),
        }
    }

    fn totals(&self) -> (u64, u64, u64, u64) {
        self.audits.iter().fold((0, 0, 0, 0), |t, a| {
            (
                t.0 + a.records_read,
                t.1 + a.events,
                t.2 + a.writes,
                t.3 + a.failures,
            )
        })
    }
}

impl AuditRecord {
    fn new(audit: &AuditReport) -> Self {
        Self {
            audit_key: audit.audit_key.clone(),
            records_read: audit.records_read(),
            events: audit.events(),
            writes: audit.writes(),
            failures: audit.failures(),
            seconds: audit.duration.as_secs_f64(),
            workers: audit.workers.iter().map(WorkerRecord::new).collect(),
        }
    }
}

impl WorkerRecord {
    fn new(worker: &WorkerReport) -> Self {
        Self {
            worker: worker.worker.clone(),
            role: worker.role.name().to_string(),
            produced: worker.produced,
            written: worker.written,
            failures: worker.failures,
            records_lost: worker.records_lost,
            fatal: worker.fatal,
        }
    }
}

/// Appends `record` to the history file as one line (one `write` call, so
/// concurrent writers never interleave within a line).
pub fn append(path: &Path, record: &RunRecord) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        files::create_private_dir_all(dir)?;
    }
    let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
    line.push('\n');
    files::open_private_append(path)?.write_all(line.as_bytes())
}

/// The last `limit` runs in the history file, oldest first, and how many
/// lines could not be read (not JSON, not a run, not UTF-8: skipped).
pub fn read_recent(path: &Path, limit: usize) -> std::io::Result<(Vec<RunRecord>, usize)> {
    let file = std::fs::File::open(path)?;
    let mut runs = std::collections::VecDeque::with_capacity(limit);
    let mut unreadable = 0;
    for line in BufReader::new(file).split(b'\n') {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<RunRecord>(&line) {
            Ok(run) => {
                if runs.len() == limit {
                    runs.pop_front();
                }
                runs.push_back(run);
            }
            Err(_) => unreadable += 1,
        }
    }
    Ok((runs.into(), unreadable))
}

/// The runs as a table for people.
pub fn table(runs: &[RunRecord]) -> String {
    let header = [
        "started",
        "audit version",
        "seconds",
        "status",
        "audits",
        "records",
        "events",
        "writes",
        "failures",
    ];
    let rows: Vec<[String; 9]> = runs
        .iter()
        .map(|run| {
            let (records, events, writes, failures) = run.totals();
            let status = match (run.status, run.interrupted) {
                (0, _) => "ok".to_string(),
                (s, true) => format!("{s} interrupted"),
                (s, false) => format!("{s} failed"),
            };
            [
                run.started
                    .with_timezone(&Local)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
                match &run.shard {
                    Some(shard) => format!("{} shard {shard}", run.audit_version),
                    None => run.audit_version.clone(),
                },
                format!(
                    "{:.1}",
                    (run.ended - run.started).num_milliseconds() as f64 / 1000.0
                ),
                status,
                run.audits
                    .iter()
                    .map(|a| a.audit_key.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                records.to_string(),
                events.to_string(),
                writes.to_string(),
                failures.to_string(),
            ]
        })
        .collect();
    crate::table::render(header, &rows, "", header.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn run(version: &str, status: u8, failures: u64) -> RunRecord {
        let started = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
        RunRecord {
            audit_version: version.into(),
            started,
            ended: started + chrono::Duration::milliseconds(1500),
            status,
            interrupted: false,
            shard: None,
            audits: vec![AuditRecord {
                audit_key: "mockaudit".into(),
                records_read: 10,
                events: 4,
                writes: 14,
                failures,
                seconds: 1.5,
                workers: vec![],
            }],
        }
    }

    #[test]
    fn append_then_read_the_last_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/history.jsonl");
        for i in 0..5 {
            append(&path, &run(&format!("v{i}"), 0, 0)).unwrap();
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"not json\n\xff\xfe binary, not UTF-8\n{\"audit_version\": 7}\n\n")
            .unwrap();
        append(&path, &run("v5", 0, 0)).unwrap();
        let (runs, unreadable) = read_recent(&path, 3).unwrap();
        let versions: Vec<_> = runs.iter().map(|r| r.audit_version.as_str()).collect();
        assert_eq!(versions, ["v3", "v4", "v5"]);
        assert_eq!(unreadable, 3, "bad lines are skipped and counted");
        assert_eq!(runs[0], run("v3", 0, 0));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the history is private");
    }

    #[test]
    fn table_has_one_row_per_run() {
        let text = table(&[run("v1", 0, 0), run("v2", 1, 2)]);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("started"), "{text}");
        assert!(
            lines[1].contains("v1") && lines[1].contains(" ok ") && lines[1].contains("1.5"),
            "{text}"
        );
        assert!(
            lines[2].contains("1 failed") && lines[2].ends_with("2"),
            "{text}"
        );
        let mut sharded = run("v3", 0, 0);
        sharded.shard = Some("2/8".into());
        assert!(table(&[sharded]).contains("v3 shard 2/8"));
    }
}
