//! The SQLite backend of the findings state (bundled): one file, safe for
//! two cloudmarker processes on one host at once (WAL, a busy timeout, one
//! short write transaction per audit run at its end). WAL needs the
//! processes on one host: never put the file on a network filesystem.

use super::state::{
    status_of, Backend, CheckSummary, CollectionSummary, Finding, Known, OpenError, OpenFindings,
    Seen, Transition,
};
use super::transfer::{Counts, FindingRow, Line};
use cloudmarker_plugin_api::sdk::files;
use rusqlite::{params, Connection, TransactionBehavior};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// The schema, one step per version: step N (from 0) brings a database of
/// version N to version N + 1. A step is never changed once released; a
/// change of schema is a new step.
const MIGRATIONS: &[&str] = &[V1, V2];

/// The schema version this binary writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// Version 1: findings, their transitions, and the latest check and
/// collection summaries (the tables of the releases before schema versions,
/// which a database of theirs already has).
const V1: &str = "
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

/// Version 2: the run history (one JSON line per run, as the history file
/// keeps it).
const V2: &str = "
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    record TEXT NOT NULL
);
";

/// Brings the schema up to [`LATEST`] in one transaction; the version the
/// database had (a database without `schema_version` is of version 0, or of
/// version 1's tables from before versions were recorded: step 1 creates
/// only what is missing). A newer database is left alone.
fn migrate(connection: &Connection) -> rusqlite::Result<u32> {
    let version = || -> rusqlite::Result<u32> {
        let recorded: i64 = connection.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
            [],
            |row| row.get(0),
        )?;
        if recorded == 0 {
            return Ok(0);
        }
        connection.query_row(
            "SELECT coalesce(max(version), 0) FROM schema_version",
            [],
            |row| row.get(0),
        )
    };
    let found = version()?;
    if found >= LATEST {
        return Ok(found);
    }
    connection.execute_batch("BEGIN IMMEDIATE")?;
    let migrated = (|| {
        // Another process may have migrated since.
        let found = version()?;
        if found >= LATEST {
            return Ok(found);
        }
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
        )?;
        for step in &MIGRATIONS[found as usize..] {
            connection.execute_batch(step)?;
        }
        connection.execute("DELETE FROM schema_version", [])?;
        connection.execute("INSERT INTO schema_version (version) VALUES (?1)", [LATEST])?;
        Ok(found)
    })();
    match migrated {
        Ok(found) => connection.execute_batch("COMMIT").map(|_| found),
        Err(e) => {
            let _ = connection.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// An open SQLite findings database.
pub struct Sqlite {
    connection: Connection,
}

impl Sqlite {
    /// Opens (creating) the database at `path`, in a private directory,
    /// and brings its schema up to this version's.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        let fail = |e: &dyn std::fmt::Display| {
            OpenError::other(format!("findings database {}: {e}", path.display()))
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            files::create_private_dir_all(dir).map_err(|e| fail(&e))?;
        }
        refuse_links(path).map_err(OpenError::other)?;
        let connection = Connection::open(path).map_err(|e| fail(&e))?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| fail(&e))?;
        // WAL: readers (`cloudmarker findings`) never wait for a run.
        // Switching to it (once per file) and migrating the schema need the
        // file to themselves; another run (or another audit of this run)
        // opening it at the same moment makes them wait, briefly.
        let mut found = 0;
        retry_while_busy(|| {
            let mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                connection.pragma_update(None, "journal_mode", "WAL")?;
            }
            found = migrate(&connection)?;
            Ok(())
        })
        .map_err(|e| fail(&e))?;
        if found > LATEST {
            return Err(OpenError::newer_schema(
                &path.display().to_string(),
                found,
                LATEST,
            ));
        }
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

    /// Indexes the run's table by finding id (once its events are in).
    fn index_run(&mut self) -> Result<(), String> {
        self.flush()?;
        self.connection
            .execute_batch(
                "CREATE INDEX IF NOT EXISTS temp.run_seen_by_id ON run_seen (finding_id)",
            )
            .map_err(|e| e.to_string())
    }
}

impl Backend for Sqlite {
    /// Every finding, newest first.
    fn all(&mut self) -> Result<Vec<Finding>, String> {
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
    fn history(&mut self, id: &str) -> Result<Vec<(Finding, Vec<Transition>)>, String> {
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

    /// The latest check summaries of every audit (of `audit` only, when
    /// given), sorted by audit, check and scope.
    fn check_summaries(
        &mut self,
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
    fn collection_summaries(
        &mut self,
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
    fn open_findings_by_check(&mut self, audit: Option<&str>) -> Result<Vec<OpenFindings>, String> {
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

    fn known_many(&mut self, audit: &str, ids: &[&str]) -> Result<HashMap<String, Known>, String> {
        let mut found = HashMap::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(found);
        }
        // One statement per batch: the ids go in as one JSON array.
        let ids = serde_json::to_string(ids).map_err(|e| e.to_string())?;
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT finding_id, status, first_seen, last_seen, occurrences, muted
                 FROM findings
                 WHERE audit = ?1 AND finding_id IN (SELECT value FROM json_each(?2))",
            )
            .map_err(|e| e.to_string())?;
        let mut rows = statement
            .query(params![audit, ids])
            .map_err(|e| e.to_string())?;
        while let Some(row) = rows.next().map_err(|e| e.to_string())? {
            let read = || -> rusqlite::Result<(String, Known)> {
                Ok((
                    row.get(0)?,
                    Known {
                        status: status_of(row.get::<_, String>(1)?),
                        first_seen: row.get(2)?,
                        last_seen: row.get(3)?,
                        occurrences: row.get::<_, i64>(4)?.max(0) as u64,
                        muted: row.get(5)?,
                    },
                ))
            };
            let (id, known) = read().map_err(|e| e.to_string())?;
            found.insert(id, known);
        }
        Ok(found)
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
    fn begin_run(&mut self) -> Result<(), String> {
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

    /// Notes that the run saw `finding` (a finding seen twice in a run is
    /// one finding: its first sighting counts). Writes are batched in a
    /// transaction of the temporary table until [`State::flush`].
    fn note_seen(&mut self, finding: &Seen) -> Result<(), String> {
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
    fn flush(&mut self) -> Result<(), String> {
        if self.connection.is_autocommit() {
            return Ok(());
        }
        self.connection
            .execute_batch("COMMIT")
            .map_err(|e| e.to_string())
    }

    /// Calls `each` with the id and last event of every active finding of
    /// `audit` that the run has not seen, by type, resource and description.
    fn unseen_active(
        &mut self,
        audit: &str,
        each: &mut dyn FnMut(&str, &str),
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
    fn note_resolved(&mut self, finding_id: &str) -> Result<(), String> {
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
    fn commit_run(
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

    fn append_run(&mut self, started: &str, record: &str) -> Result<(), String> {
        retry_while_busy(|| {
            self.connection.execute(
                "INSERT INTO runs (started, record) VALUES (?1, ?2)",
                params![started, record],
            )
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    fn recent_runs(&mut self, limit: usize) -> Result<Vec<String>, String> {
        let limit = limit.min(i64::MAX as usize) as i64;
        let mut statement = self
            .connection
            .prepare(
                "SELECT record FROM (SELECT seq, started, record FROM runs
                     ORDER BY started DESC, seq DESC LIMIT ?1) ORDER BY started, seq",
            )
            .map_err(|e| e.to_string())?;
        let rows = statement
            .query_map([limit], |row| row.get(0))
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<Vec<String>, _>>()
            .map_err(|e| e.to_string())
    }

    fn export(&mut self, each: &mut dyn FnMut(Line) -> Result<(), String>) -> Result<(), String> {
        let db = |e: rusqlite::Error| e.to_string();
        let c = &self.connection;
        let mut statement = c
            .prepare(&format!(
                "SELECT {COLUMNS}, event FROM findings ORDER BY audit, finding_id"
            ))
            .map_err(db)?;
        let mut rows = statement.query([]).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            let f = row_to_finding(row).map_err(db)?;
            each(Line::Finding(FindingRow {
                audit: f.audit,
                finding_id: f.finding_id,
                status: row.get(2).map_err(db)?,
                severity: f.severity,
                record_type: f.record_type,
                reference: f.reference,
                cloud_type: f.cloud_type,
                description: f.description,
                first_seen: f.first_seen,
                last_seen: f.last_seen,
                resolved_at: f.resolved_at,
                occurrences: f.occurrences,
                muted: f.muted,
                event: row.get(13).map_err(db)?,
            }))?;
        }
        let mut statement = c
            .prepare(
                "SELECT audit, finding_id, audit_version, at, status FROM transitions ORDER BY rowid",
            )
            .map_err(db)?;
        let mut rows = statement.query([]).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            each(Line::Transition {
                audit: row.get(0).map_err(db)?,
                finding_id: row.get(1).map_err(db)?,
                audit_version: row.get(2).map_err(db)?,
                at: row.get(3).map_err(db)?,
                status: row.get(4).map_err(db)?,
            })?;
        }
        let mut statement = c
            .prepare(
                "SELECT audit, check_name, scope, plugin, evaluated, failed, audit_version, at
                 FROM check_summaries ORDER BY audit, check_name, scope",
            )
            .map_err(db)?;
        let mut rows = statement.query([]).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            each(Line::CheckSummary {
                audit: row.get(0).map_err(db)?,
                check: row.get(1).map_err(db)?,
                scope: row.get(2).map_err(db)?,
                plugin: row.get(3).map_err(db)?,
                evaluated: row.get(4).map_err(db)?,
                failed: row.get(5).map_err(db)?,
                audit_version: row.get(6).map_err(db)?,
                at: row.get(7).map_err(db)?,
            })?;
        }
        let mut statement = c
            .prepare(
                "SELECT audit, scope, cloud_type, plugin, complete, failed, audit_version, at
                 FROM collection_summaries ORDER BY audit, scope",
            )
            .map_err(db)?;
        let mut rows = statement.query([]).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            let failed: String = row.get(5).map_err(db)?;
            each(Line::CollectionSummary {
                audit: row.get(0).map_err(db)?,
                scope: row.get(1).map_err(db)?,
                cloud_type: row.get(2).map_err(db)?,
                plugin: row.get(3).map_err(db)?,
                complete: row.get(4).map_err(db)?,
                failed: serde_json::from_str(&failed).unwrap_or_default(),
                audit_version: row.get(6).map_err(db)?,
                at: row.get(7).map_err(db)?,
            })?;
        }
        let mut statement = c
            .prepare("SELECT started, record FROM runs ORDER BY seq")
            .map_err(db)?;
        let mut rows = statement.query([]).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            let record: String = row.get(1).map_err(db)?;
            each(Line::Run {
                started: row.get(0).map_err(db)?,
                record: serde_json::from_str(&record).unwrap_or(serde_json::Value::String(record)),
            })?;
        }
        Ok(())
    }

    fn import(&mut self, lines: &[Line]) -> Result<Counts, String> {
        let db = |e: rusqlite::Error| e.to_string();
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let held: i64 = tx
            .query_row(
                "SELECT (SELECT count(*) FROM findings) + (SELECT count(*) FROM runs)",
                [],
                |row| row.get(0),
            )
            .map_err(db)?;
        if held > 0 {
            return Err(
                "the state already holds findings or runs: import into an empty state".into(),
            );
        }
        let mut counts = Counts::default();
        for line in lines {
            match line {
                Line::State { .. } => continue,
                Line::Finding(f) => tx.execute(
                    "INSERT INTO findings (audit, finding_id, status, severity, record_type,
                         reference, cloud_type, description, first_seen, last_seen, resolved_at,
                         occurrences, muted, event)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                    params![
                        f.audit,
                        f.finding_id,
                        f.status,
                        f.severity,
                        f.record_type,
                        f.reference,
                        f.cloud_type,
                        f.description,
                        f.first_seen,
                        f.last_seen,
                        f.resolved_at,
                        f.occurrences,
                        f.muted,
                        f.event
                    ],
                ),
                Line::Transition {
                    audit,
                    finding_id,
                    audit_version,
                    at,
                    status,
                } => tx.execute(
                    "INSERT INTO transitions (audit, finding_id, audit_version, at, status)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![audit, finding_id, audit_version, at, status],
                ),
                Line::CheckSummary {
                    audit,
                    check,
                    scope,
                    plugin,
                    evaluated,
                    failed,
                    audit_version,
                    at,
                } => tx.execute(
                    "INSERT OR REPLACE INTO check_summaries (audit, check_name, scope, plugin,
                         evaluated, failed, audit_version, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        audit,
                        check,
                        scope,
                        plugin,
                        evaluated,
                        failed,
                        audit_version,
                        at
                    ],
                ),
                Line::CollectionSummary {
                    audit,
                    scope,
                    cloud_type,
                    plugin,
                    complete,
                    failed,
                    audit_version,
                    at,
                } => tx.execute(
                    "INSERT OR REPLACE INTO collection_summaries (audit, scope, cloud_type,
                         plugin, complete, failed, audit_version, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        audit,
                        scope,
                        cloud_type,
                        plugin,
                        complete,
                        failed.to_string(),
                        audit_version,
                        at
                    ],
                ),
                Line::Run { started, record } => tx.execute(
                    "INSERT INTO runs (started, record) VALUES (?1, ?2)",
                    params![started, record.to_string()],
                ),
            }
            .map_err(db)?;
            counts.add(line);
        }
        tx.commit().map_err(db)?;
        Ok(counts)
    }
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
