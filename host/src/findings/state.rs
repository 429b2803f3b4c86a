//! The findings database: SQLite (bundled), one file, safe for two
//! cloudmarker processes at once (WAL, a busy timeout, one short write
//! transaction per audit run at its end).

use super::Status;
use cloudmarker_plugin_api::sdk::files;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS findings (
    audit TEXT NOT NULL,
    finding_id TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT,
    record_type TEXT,
    reference TEXT,
    cloud_type TEXT,
    description TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    resolved_at TEXT,
    occurrences INTEGER NOT NULL,
    muted INTEGER NOT NULL DEFAULT 0,
    event TEXT NOT NULL,
    PRIMARY KEY (audit, finding_id)
);
CREATE TABLE IF NOT EXISTS transitions (
    audit TEXT NOT NULL,
    finding_id TEXT NOT NULL,
    audit_version TEXT NOT NULL,
    at TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_by_finding ON transitions (finding_id, at);
CREATE TABLE IF NOT EXISTS check_summaries (
    audit TEXT NOT NULL,
    check_name TEXT NOT NULL,
    scope TEXT NOT NULL,
    plugin TEXT,
    evaluated INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    audit_version TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (audit, check_name, scope)
);
CREATE TABLE IF NOT EXISTS collection_summaries (
    audit TEXT NOT NULL,
    scope TEXT NOT NULL,
    cloud_type TEXT,
    plugin TEXT,
    complete INTEGER NOT NULL,
    failed TEXT NOT NULL,
    audit_version TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (audit, scope)
);
";

/// What one check evaluated in one scope in a run (a `check_summary`
/// record's `ext`), as the database keeps the latest of each.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CheckSummary {
    /// The check: a rule id or a compiled check's plugin name.
    pub check: String,
    /// The account, subscription or project (empty when records name none).
    #[serde(default)]
    pub scope: String,
    /// The event plugin that ran it.
    #[serde(default)]
    pub plugin: Option<String>,
    /// Records evaluated.
    pub evaluated: u64,
    /// Of them, records that raised a finding.
    pub failed: u64,
}

/// What a run read of one scope (an account, subscription or project),
/// from the cloud plugins' `collection_summary` records (the run's
/// summaries of one scope merged), as the database keeps the latest of
/// each.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CollectionSummary {
    /// The account, subscription or project.
    pub scope: String,
    /// Its cloud (`com.cloud_type`), when the summary names one.
    pub cloud_type: Option<String>,
    /// The cloud worker that read it (`com.origin_worker`).
    pub plugin: Option<String>,
    /// Whether everything of the scope was read.
    pub complete: bool,
    /// What could not be read: record type -> why.
    pub failed: std::collections::BTreeMap<String, String>,
}

/// Open findings (new, open or regressed) of one check, as the compliance
/// report counts them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpenFindings {
    /// The audit that raised them.
    pub audit: String,
    /// Their check (`com.check` of their last event; the event type for
    /// an event that names none).
    pub check: String,
    /// Their cloud.
    pub cloud_type: Option<String>,
    /// How many.
    pub count: u64,
}

/// One finding as the database keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    /// The audit that raised it.
    pub audit: String,
    /// Its identity (`com.finding_id`).
    pub finding_id: String,
    /// Where it is in its life.
    pub status: Status,
    /// `com.severity` of its last event.
    pub severity: Option<String>,
    /// The event type.
    pub record_type: Option<String>,
    /// The resource.
    pub reference: Option<String>,
    /// The resource's cloud.
    pub cloud_type: Option<String>,
    /// The last event's description.
    pub description: Option<String>,
    /// First seen (RFC 3339).
    pub first_seen: String,
    /// Last seen.
    pub last_seen: String,
    /// When it was resolved, if it is.
    pub resolved_at: Option<String>,
    /// Runs that saw it.
    pub occurrences: u64,
    /// Whether a mute held it back in the last run that saw it.
    pub muted: bool,
}

/// One change of a finding's status.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Transition {
    /// The audit version of the run.
    pub audit_version: String,
    /// When (RFC 3339).
    pub at: String,
    /// The status the run gave it.
    pub status: Status,
}

/// What one run saw of one finding.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `com.finding_id`.
    pub finding_id: String,
    /// The fields kept in the table.
    pub severity: Option<String>,
    /// The event type.
    pub record_type: Option<String>,
    /// The resource.
    pub reference: Option<String>,
    /// Its cloud.
    pub cloud_type: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// Whether a mute held it back.
    pub muted: bool,
    /// The event (as the host stamped it, before its status).
    pub event: String,
}

/// An open findings database.
pub struct State {
    connection: Connection,
}

impl State {
    /// Opens (creating) the database at `path`, in a private directory.
    pub fn open(path: &Path) -> Result<Self, String> {
        let fail = |e: &dyn std::fmt::Display| format!("findings database {}: {e}", path.display());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            files::create_private_dir_all(dir).map_err(|e| fail(&e))?;
        }
        refuse_links(path)?;
        let connection = Connection::open(path).map_err(|e| fail(&e))?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| fail(&e))?;
        // WAL: readers (`cloudmarker findings`) never wait for a run.
        // Switching to it (once per file) and creating the tables need the
        // file to themselves; another run (or another audit of this run)
        // opening it at the same moment makes them wait, briefly.
        retry_while_busy(|| {
            let mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                connection.pragma_update(None, "journal_mode", "WAL")?;
            }
            connection.execute_batch(SCHEMA)
        })
        .map_err(|e| fail(&e))?;
        // In WAL mode NORMAL never corrupts the file; a power cut may lose
        // the last run's changes, which the next run then makes again.
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| fail(&e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        Ok(Self { connection })
    }

    /// Every finding, newest first.
    pub fn all(&self) -> Result<Vec<Finding>, String> {
        let mut statement = self
            .connection
            .prepare(&format!(
                "SELECT {COLUMNS} FROM findings ORDER BY last_seen DESC, audit, finding_id"
            ))
            .map_err(|e| e.to_string())?;
        let rows = statement
            .query_map([], row_to_finding)
            .map_err(|e| e.to_string())?;
        rows.map(|r| r.map_err(|e| e.to_string())).collect()
    }

    /// The findings whose id is `id`, and each one's transitions, oldest
    /// first.
    pub fn history(&self, id: &str) -> Result<Vec<(Finding, Vec<Transition>)>, String> {
        let mut statement = self
            .connection
            .prepare(&format!(
                "SELECT {COLUMNS} FROM findings WHERE finding_id = ?1"
            ))
            .map_err(|e| e.to_string())?;
        let findings: Vec<Finding> = statement
            .query_map([id], row_to_finding)
            .map_err(|e| e.to_string())?
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for finding in findings {
            let mut statement = self
                .connection
                .prepare(
                    "SELECT audit_version, at, status FROM transitions
                     WHERE audit = ?1 AND finding_id = ?2 ORDER BY at, rowid",
                )
                .map_err(|e| e.to_string())?;
            let transitions = statement
                .query_map(params![finding.audit, finding.finding_id], |row| {
                    Ok(Transition {
                        audit_version: row.get(0)?,
                        at: row.get(1)?,
                        status: status_of(row.get::<_, String>(2)?),
                    })
                })
                .map_err(|e| e.to_string())?
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            out.push((finding, transitions));
        }
        Ok(out)
    }

    /// Records one run of `audit` at once: what it `seen`, and the findings
    /// it `resolved` (those still active); see [`State::begin_run`] for
    /// the streaming form the tracker uses.
    pub fn commit(
        &mut self,
        audit: &str,
        audit_version: &str,
        now: &str,
        seen: &[Seen],
        resolved: &[String],
    ) -> Result<(), String> {
        self.begin_run()?;
        for finding in seen {
            self.note_seen(finding)?;
        }
        for finding_id in resolved {
            self.note_resolved(finding_id)?;
        }
        self.commit_run(audit, audit_version, now, &[], &[])
    }

    /// Starts a run: what it sees goes to a temporary table (on disk, not
    /// in memory, however many findings the run has) until
    /// [`State::commit_run`].
    ///
    /// The table is a plain append log: it gets its index once the run's
    /// events are in ([`State::index_run`]), which sorts once instead of
    /// inserting hashed ids at random places of a B-tree larger than the
    /// page cache. The temporary database keeps no rollback journal: it is
    /// only ever appended to and dropped, never rolled back.
    pub fn begin_run(&mut self) -> Result<(), String> {
        self.connection
            .execute_batch(
                "PRAGMA temp.journal_mode = OFF;
                 DROP TABLE IF EXISTS temp.run_seen;
                 CREATE TEMP TABLE run_seen (
                     finding_id TEXT NOT NULL, severity TEXT, record_type TEXT,
                     reference TEXT, cloud_type TEXT, description TEXT,
                     muted INTEGER NOT NULL, event TEXT NOT NULL);
                 CREATE TEMP TABLE IF NOT EXISTS run_resolved (finding_id TEXT PRIMARY KEY);
                 DELETE FROM temp.run_resolved;",
            )
            .map_err(|e| e.to_string())
    }

    /// Indexes the run's table by finding id (once its events are in).
    fn index_run(&mut self) -> Result<(), String> {
        self.flush()?;
        self.connection
            .execute_batch(
                "CREATE INDEX IF NOT EXISTS temp.run_seen_by_id ON run_seen (finding_id)",
            )
            .map_err(|e| e.to_string())
    }

    /// The latest check summaries of every audit (of `audit` only, when
    /// given), sorted by audit, check and scope.
    pub fn check_summaries(
        &self,
        audit: Option<&str>,
    ) -> Result<Vec<(String, CheckSummary, String)>, String> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT audit, check_name, scope, plugin, evaluated, failed, at
                 FROM check_summaries WHERE ?1 IS NULL OR audit = ?1
                 ORDER BY audit, check_name, scope",
            )
            .map_err(|e| e.to_string())?;
        let rows = statement
            .query_map(params![audit], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    CheckSummary {
                        check: row.get(1)?,
                        scope: row.get(2)?,
                        plugin: row.get(3)?,
                        evaluated: row.get(4)?,
                        failed: row.get(5)?,
                    },
                    row.get::<_, String>(6)?,
                ))
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }

    /// The latest collection summary of every scope of every audit (of
    /// `audit` only, when given), each with when it was written, sorted by
    /// audit and scope.
    pub fn collection_summaries(
        &self,
        audit: Option<&str>,
    ) -> Result<Vec<(String, CollectionSummary, String)>, String> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT audit, scope, cloud_type, plugin, complete, failed, at
                 FROM collection_summaries WHERE ?1 IS NULL OR audit = ?1
                 ORDER BY audit, scope",
            )
            .map_err(|e| e.to_string())?;
        let rows = statement
            .query_map(params![audit], |row| {
                let failed: String = row.get(5)?;
                Ok((
                    row.get::<_, String>(0)?,
                    CollectionSummary {
                        scope: row.get(1)?,
                        cloud_type: row.get(2)?,
                        plugin: row.get(3)?,
                        complete: row.get(4)?,
                        failed: serde_json::from_str(&failed).unwrap_or_default(),
                    },
                    row.get::<_, String>(6)?,
                ))
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }

    /// The open findings (new, open or regressed) of every audit (of
    /// `audit` only, when given), counted by audit, check and cloud.
    pub fn open_findings_by_check(&self, audit: Option<&str>) -> Result<Vec<OpenFindings>, String> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT audit,
                        coalesce(CASE WHEN json_valid(event)
                                      THEN json_extract(event, '$.com.check') END,
                                 record_type, '') AS check_name,
                        cloud_type, count(*)
                 FROM findings
                 WHERE status IN ('new', 'open', 'regressed') AND (?1 IS NULL OR audit = ?1)
                 GROUP BY audit, check_name, cloud_type
                 ORDER BY audit, check_name, cloud_type",
            )
            .map_err(|e| e.to_string())?;
        let rows = statement
            .query_map(params![audit], |row| {
                Ok(OpenFindings {
                    audit: row.get(0)?,
                    check: row.get(1)?,
                    cloud_type: row.get(2)?,
                    count: row.get::<_, i64>(3)?.max(0) as u64,
                })
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }

    /// What the database knows of a finding of `audit` (as of now).
    pub fn known(&self, audit: &str, finding_id: &str) -> Result<Option<Known>, String> {
        self.connection
            .prepare_cached(
                "SELECT status, first_seen, last_seen, occurrences, muted FROM findings
                 WHERE audit = ?1 AND finding_id = ?2",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![audit, finding_id], |row| {
                        Ok(Known {
                            status: status_of(row.get::<_, String>(0)?),
                            first_seen: row.get(1)?,
                            last_seen: row.get(2)?,
                            occurrences: row.get::<_, i64>(3)?.max(0) as u64,
                            muted: row.get(4)?,
                        })
                    })
                    .optional()
            })
            .map_err(|e| e.to_string())
    }

    /// Notes that the run saw `finding` (a finding seen twice in a run is
    /// one finding: its first sighting counts). Writes are batched in a
    /// transaction of the temporary table until [`State::flush`].
    pub fn note_seen(&mut self, finding: &Seen) -> Result<(), String> {
        if self.connection.is_autocommit() {
            self.connection
                .execute_batch("BEGIN")
                .map_err(|e| e.to_string())?;
        }
        self.connection
            .prepare_cached(
                "INSERT INTO temp.run_seen (finding_id, severity, record_type,
                     reference, cloud_type, description, muted, event)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    finding.finding_id,
                    finding.severity,
                    finding.record_type,
                    finding.reference,
                    finding.cloud_type,
                    finding.description,
                    finding.muted,
                    finding.event
                ])
            })
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Ends the current batch of [`State::note_seen`] writes.
    pub fn flush(&mut self) -> Result<(), String> {
        if self.connection.is_autocommit() {
            return Ok(());
        }
        self.connection
            .execute_batch("COMMIT")
            .map_err(|e| e.to_string())
    }

    /// Calls `each` with the id and last event of every active finding of
    /// `audit` that the run has not seen, by type, resource and description.
    pub fn unseen_active(
        &mut self,
        audit: &str,
        mut each: impl FnMut(&str, &str),
    ) -> Result<(), String> {
        self.index_run()?;
        let mut statement = self
            .connection
            .prepare(
                "SELECT finding_id, event FROM findings
                 WHERE audit = ?1 AND status != 'resolved'
                   AND finding_id NOT IN (SELECT finding_id FROM temp.run_seen)
                 ORDER BY record_type, reference, description, finding_id",
            )
            .map_err(|e| e.to_string())?;
        let mut rows = statement.query([audit]).map_err(|e| e.to_string())?;
        while let Some(row) = rows.next().map_err(|e| e.to_string())? {
            let id: String = row.get(0).map_err(|e| e.to_string())?;
            let event: String = row.get(1).map_err(|e| e.to_string())?;
            each(&id, &event);
        }
        Ok(())
    }

    /// Notes that the run resolves `finding_id`.
    pub fn note_resolved(&mut self, finding_id: &str) -> Result<(), String> {
        self.connection
            .prepare_cached("INSERT OR IGNORE INTO temp.run_resolved (finding_id) VALUES (?1)")
            .and_then(|mut statement| statement.execute([finding_id]))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Writes the run: one transaction, all of it or nothing. Statuses are
    /// decided here, against the database as it is now (another process may
    /// have written since the run began): a seen finding is new, open or
    /// regressed; the history keeps status changes only. The run's check
    /// and collection summaries replace those of the same check and scope
    /// (and scope).
    pub fn commit_run(
        &mut self,
        audit: &str,
        audit_version: &str,
        now: &str,
        check_summaries: &[CheckSummary],
        collection_summaries: &[CollectionSummary],
    ) -> Result<(), String> {
        self.index_run()?;
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        let run = |sql: &str| {
            tx.execute(sql, params![audit, audit_version, now])
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        run(
            "INSERT INTO transitions (audit, finding_id, audit_version, at, status)
             SELECT ?1, s.finding_id, ?2, ?3,
                    CASE WHEN f.status IS NULL THEN 'new'
                         WHEN f.status = 'resolved' THEN 'regressed' ELSE 'open' END
             FROM (SELECT DISTINCT finding_id FROM temp.run_seen) s
             LEFT JOIN findings f ON f.audit = ?1 AND f.finding_id = s.finding_id
             WHERE f.status IS NULL OR f.status IN ('new', 'regressed', 'resolved')",
        )?;
        run(
            "INSERT INTO findings (audit, finding_id, status, severity, record_type, reference,
                 cloud_type, description, first_seen, last_seen, resolved_at, occurrences,
                 muted, event)
             SELECT ?1, finding_id, 'new', severity, record_type, reference, cloud_type,
                    description, ?3, ?3, NULL, 1, muted, event
             FROM temp.run_seen s WHERE ?2 IS NOT NULL
               AND s.rowid = (SELECT min(rowid) FROM temp.run_seen WHERE finding_id = s.finding_id)
             ORDER BY finding_id
             ON CONFLICT (audit, finding_id) DO UPDATE SET
                 status = CASE WHEN findings.status = 'resolved' THEN 'regressed' ELSE 'open' END,
                 severity = excluded.severity, record_type = excluded.record_type,
                 reference = excluded.reference, cloud_type = excluded.cloud_type,
                 description = excluded.description, last_seen = excluded.last_seen,
                 resolved_at = NULL, occurrences = findings.occurrences + 1,
                 muted = excluded.muted, event = excluded.event",
        )?;
        run(
            "INSERT INTO transitions (audit, finding_id, audit_version, at, status)
             SELECT ?1, f.finding_id, ?2, ?3, 'resolved' FROM findings f
             WHERE f.audit = ?1 AND f.status != 'resolved'
               AND f.finding_id IN (SELECT finding_id FROM temp.run_resolved)
               AND f.finding_id NOT IN (SELECT finding_id FROM temp.run_seen)",
        )?;
        run("UPDATE findings SET status = 'resolved', resolved_at = ?3
             WHERE audit = ?1 AND status != 'resolved' AND ?2 IS NOT NULL
               AND finding_id IN (SELECT finding_id FROM temp.run_resolved)
               AND finding_id NOT IN (SELECT finding_id FROM temp.run_seen)")?;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO check_summaries (audit, check_name, scope, plugin, evaluated,
                         failed, audit_version, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (audit, check_name, scope) DO UPDATE SET
                         plugin = excluded.plugin, evaluated = excluded.evaluated,
                         failed = excluded.failed, audit_version = excluded.audit_version,
                         at = excluded.at",
                )
                .map_err(|e| e.to_string())?;
            for summary in check_summaries {
                upsert
                    .execute(params![
                        audit,
                        summary.check,
                        summary.scope,
                        summary.plugin,
                        summary.evaluated,
                        summary.failed,
                        audit_version,
                        now
                    ])
                    .map_err(|e| e.to_string())?;
            }
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO collection_summaries (audit, scope, cloud_type, plugin, complete,
                         failed, audit_version, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (audit, scope) DO UPDATE SET
                         cloud_type = excluded.cloud_type, plugin = excluded.plugin,
                         complete = excluded.complete, failed = excluded.failed,
                         audit_version = excluded.audit_version, at = excluded.at",
                )
                .map_err(|e| e.to_string())?;
            for summary in collection_summaries {
                let failed = serde_json::to_string(&summary.failed).map_err(|e| e.to_string())?;
                upsert
                    .execute(params![
                        audit,
                        summary.scope,
                        summary.cloud_type,
                        summary.plugin,
                        summary.complete,
                        failed,
                        audit_version,
                        now
                    ])
                    .map_err(|e| e.to_string())?;
            }
        }
        tx.commit().map_err(|e| e.to_string())
    }
}

/// What the database knows of one finding, for stamping a run's event.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    /// Its status before this run.
    pub status: Status,
    /// When it was first seen.
    pub first_seen: String,
    /// When it was last seen.
    pub last_seen: String,
    /// Runs that saw it before this one.
    pub occurrences: u64,
    /// Whether a mute held it back when last seen.
    pub muted: bool,
}

/// Refuses a symbolic link at the database's path or at one of the files
/// SQLite keeps beside it (`-wal`, `-shm`, `-journal`): SQLite follows
/// links, so a planted link (even a dangling one) would make the run
/// create or change the database at the link's target.
pub fn refuse_links(path: &Path) -> Result<(), String> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        if file
            .symlink_metadata()
            .is_ok_and(|meta| meta.file_type().is_symlink())
        {
            return Err(format!(
                "findings database {}: {} is a symbolic link (planted?); refusing to follow it: remove the link or set state.path to the real file",
                path.display(),
                file.display()
            ));
        }
    }
    Ok(())
}

/// Runs `step` again while SQLite says the database is busy or locked, for
/// up to [`BUSY_TIMEOUT`].
fn retry_while_busy<T>(mut step: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match step() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// The status a run gives a finding it sees, after `before`.
pub fn next_status(before: Option<Status>) -> Status {
    match before {
        None => Status::New,
        Some(Status::Resolved) => Status::Regressed,
        Some(_) => Status::Open,
    }
}

const COLUMNS: &str = "audit, finding_id, status, severity, record_type, reference, cloud_type,
    description, first_seen, last_seen, resolved_at, occurrences, muted";

fn row_to_finding(row: &rusqlite::Row<'_>) -> rusqlite::Result<Finding> {
    Ok(Finding {
        audit: row.get(0)?,
        finding_id: row.get(1)?,
        status: status_of(row.get::<_, String>(2)?),
        severity: row.get(3)?,
        record_type: row.get(4)?,
        reference: row.get(5)?,
        cloud_type: row.get(6)?,
        description: row.get(7)?,
        first_seen: row.get(8)?,
        last_seen: row.get(9)?,
        resolved_at: row.get(10)?,
        occurrences: row.get::<_, i64>(11)?.max(0) as u64,
        muted: row.get(12)?,
    })
}

/// A stored status; an unknown one (a newer version's) counts as open.
fn status_of(name: String) -> Status {
    Status::parse(&name).unwrap_or(Status::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(id: &str) -> Seen {
        Seen {
            finding_id: id.into(),
            severity: Some("high".into()),
            record_type: Some("e".into()),
            reference: Some(format!("/r/{id}")),
            cloud_type: Some("mock".into()),
            description: Some("d".into()),
            muted: false,
            event: format!("{{\"com\":{{\"finding_id\":\"{id}\"}}}}"),
        }
    }

    fn statuses(state: &State) -> Vec<(String, Status, u64)> {
        let mut all: Vec<_> = state
            .all()
            .unwrap()
            .into_iter()
            .map(|f| (f.finding_id, f.status, f.occurrences))
            .collect();
        all.sort();
        all
    }

    #[test]
    fn a_link_at_the_path_is_refused_and_nothing_is_created_at_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.db");
        for (link, planted) in [
            ("findings.db", dir.path().join("findings.db")),
            ("findings.db-wal", dir.path().join("findings.db-wal")),
        ] {
            std::os::unix::fs::symlink(&target, &planted).unwrap();
            let error = State::open(&dir.path().join("findings.db"))
                .err()
                .expect("a link is refused");
            assert!(
                error.contains(&format!("{link} is a symbolic link (planted?)")),
                "{error}"
            );
            assert!(!target.exists(), "nothing at the link's target");
            std::fs::remove_file(&planted).unwrap();
        }
        State::open(&dir.path().join("findings.db")).unwrap();
    }

    #[test]
    fn the_state_directory_is_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        State::open(&dir.path().join("a/state/findings.db")).unwrap();
        for created in ["a", "a/state"] {
            let mode = std::fs::metadata(dir.path().join(created))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "{created}");
        }
        let mode = std::fs::metadata(dir.path().join("a/state/findings.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn many_openers_of_a_new_database_at_once_all_get_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("findings.db");
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut state = State::open(&path).unwrap();
                    state
                        .commit(&format!("a{i}"), "v", "t", &[seen("x")], &[])
                        .unwrap();
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(State::open(&path).unwrap().all().unwrap().len(), 8);
    }

    #[test]
    fn a_run_keeps_the_latest_check_summary_of_each_check_and_scope() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(&dir.path().join("findings.db")).unwrap();
        let summary = |scope: &str, evaluated, failed| CheckSummary {
            check: "c".into(),
            scope: scope.into(),
            plugin: Some("p".into()),
            evaluated,
            failed,
        };
        state.begin_run().unwrap();
        state
            .commit_run(
                "a",
                "v1",
                "t1",
                &[summary("s1", 3, 1), summary("s2", 2, 0)],
                &[],
            )
            .unwrap();
        // The next run read s1 only (s2's collection failed, say): s1's
        // counts are replaced, s2's stay as of the run that read it.
        state.begin_run().unwrap();
        state
            .commit_run("a", "v2", "t2", &[summary("s1", 4, 0)], &[])
            .unwrap();
        let kept = state.check_summaries(Some("a")).unwrap();
        assert_eq!(
            kept,
            [
                ("a".into(), summary("s1", 4, 0), "t2".into()),
                ("a".into(), summary("s2", 2, 0), "t1".into())
            ]
        );
        assert!(state.check_summaries(Some("b")).unwrap().is_empty());
    }

    #[test]
    fn collection_summaries_and_open_findings_by_check_for_the_compliance_report() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(&dir.path().join("findings.db")).unwrap();
        let collection = |scope: &str, failed: &[(&str, &str)]| CollectionSummary {
            scope: scope.into(),
            cloud_type: Some("azure".into()),
            plugin: Some("a_azcloud".into()),
            complete: failed.is_empty(),
            failed: failed
                .iter()
                .map(|(t, w)| (t.to_string(), w.to_string()))
                .collect(),
        };
        let with_check = |id: &str, check: Option<&str>| {
            let mut seen = seen(id);
            seen.event = match check {
                Some(check) => format!(r#"{{"com":{{"finding_id":"{id}","check":"{check}"}}}}"#),
                None => "not json".into(),
            };
            seen
        };
        state.begin_run().unwrap();
        for finding in [
            with_check("x", Some("fw")),
            with_check("y", Some("fw")),
            with_check("z", None),
        ] {
            state.note_seen(&finding).unwrap();
        }
        state
            .commit_run(
                "a",
                "v1",
                "t1",
                &[],
                &[collection("s1", &[]), collection("s2", &[("vm", "403")])],
            )
            .unwrap();
        state.begin_run().unwrap();
        state.note_seen(&with_check("x", Some("fw"))).unwrap();
        state.note_resolved("y").unwrap();
        state
            .commit_run("a", "v2", "t2", &[], &[collection("s2", &[])])
            .unwrap();
        let kept: Vec<(String, bool, String)> = state
            .collection_summaries(None)
            .unwrap()
            .into_iter()
            .map(|(audit, s, at)| (audit, s.complete, format!("{}@{at}", s.scope)))
            .collect();
        assert_eq!(
            kept,
            [
                ("a".into(), true, "s1@t1".into()),
                ("a".into(), true, "s2@t2".into())
            ]
        );
        // y is resolved; z's event names no check: its type stands for it.
        assert_eq!(
            state.open_findings_by_check(Some("a")).unwrap(),
            [
                OpenFindings {
                    audit: "a".into(),
                    check: "e".into(),
                    cloud_type: Some("mock".into()),
                    count: 1
                },
                OpenFindings {
                    audit: "a".into(),
                    check: "fw".into(),
                    cloud_type: Some("mock".into()),
                    count: 1
                },
            ]
        );
        assert!(state.open_findings_by_check(Some("b")).unwrap().is_empty());
    }

    #[test]
    fn a_finding_lives_new_open_resolved_regressed() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(&dir.path().join("state/findings.db")).unwrap();
        state
            .commit("a", "v1", "t1", &[seen("x"), seen("y")], &[])
            .unwrap();
        assert_eq!(
            statuses(&state),
            [("x".into(), Status::New, 1), ("y".into(), Status::New, 1)]
        );
        state.begin_run().unwrap();
        state.note_seen(&seen("x")).unwrap();
        let mut gone = Vec::new();
        state
            .unseen_active("a", |id, _| gone.push(id.to_string()))
            .unwrap();
        assert_eq!(gone, ["y"]);
        state.commit("a", "v2", "t2", &[seen("x")], &gone).unwrap();
        assert_eq!(
            statuses(&state),
            [
                ("x".into(), Status::Open, 2),
                ("y".into(), Status::Resolved, 1)
            ]
        );
        // Resolving again changes nothing.
        state.commit("a", "v3", "t3", &[], &gone).unwrap();
        assert_eq!(statuses(&state)[1].1, Status::Resolved);
        state
            .commit("a", "v4", "t4", &[seen("x"), seen("y")], &[])
            .unwrap();
        assert_eq!(
            statuses(&state),
            [
                ("x".into(), Status::Open, 3),
                ("y".into(), Status::Regressed, 2)
            ]
        );
        let history = state.history("y").unwrap();
        let names: Vec<Status> = history[0].1.iter().map(|t| t.status).collect();
        assert_eq!(names, [Status::New, Status::Resolved, Status::Regressed]);
        // Another audit's findings are its own.
        state.commit("b", "v5", "t5", &[], &[]).unwrap();
        let audits: Vec<String> = state.all().unwrap().into_iter().map(|f| f.audit).collect();
        assert_eq!(audits, ["a", "a"]);
    }
}
