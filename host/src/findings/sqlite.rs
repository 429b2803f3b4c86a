//! The SQLite backend of the findings state (bundled): one file, safe for
//! two cloudmarker processes on one host at once (WAL, a busy timeout, one
//! short write transaction per audit run at its end). WAL needs the
//! processes on one host: never put the file on a network filesystem.

use super::sql::{self, Dialect, EachRow, Param, MIGRATIONS};
use super::state::{Backend, Known, OpenError, OpenFindings, RunEnd, Seen};
use super::transfer::{Counts, Line};
use cloudmarker_plugin_api::sdk::files;
use rusqlite::{params, Connection, TransactionBehavior};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

pub use super::sql::LATEST;

/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

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
            connection.execute_batch(&Dialect::Sqlite.sql(step))?;
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
    fn query(&mut self, sql: &str, values: &[Param<'_>], each: EachRow<'_>) -> Result<(), String> {
        each_row(&self.connection, sql, values, each)
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
            .prepare_cached(&format!(
                "SELECT {} FROM findings
                 WHERE audit = ?1 AND finding_id IN (SELECT value FROM json_each(?2))",
                sql::KNOWN_COLUMNS
            ))
            .map_err(|e| e.to_string())?;
        let mut rows = statement
            .query(params![audit, ids])
            .map_err(|e| e.to_string())?;
        while let Some(row) = rows.next().map_err(|e| e.to_string())? {
            let (id, known) = sql::known(row)?;
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

    fn commit_run(&mut self, end: &RunEnd<'_>) -> Result<(), String> {
        self.index_run()?;
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        for (statement, values) in sql::run_end(end) {
            execute(&tx, statement, &values)?;
        }
        tx.commit().map_err(|e| e.to_string())
    }

    fn append_run(&mut self, started: &str, record: &str) -> Result<(), String> {
        retry_while_busy(|| {
            self.connection
                .execute(sql::INSERT_RUN, params![started, record])
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    fn export(&mut self, each: &mut dyn FnMut(Line) -> Result<(), String>) -> Result<(), String> {
        // One snapshot of the whole state.
        let tx = self.connection.transaction().map_err(|e| e.to_string())?;
        for (query, read) in sql::EXPORT {
            each_row(&tx, query, &[], &mut |row| each(read(row)?))?;
        }
        tx.commit().map_err(|e| e.to_string())
    }

    fn import(&mut self, lines: &[Line]) -> Result<Counts, String> {
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        let held: i64 = tx
            .query_row(sql::HELD, [], |row| row.get(0))
            .map_err(|e| e.to_string())?;
        if held > 0 {
            return Err(sql::NOT_EMPTY.into());
        }
        let mut counts = Counts::default();
        for line in lines {
            if let Some((statement, values)) = sql::import(line) {
                execute(&tx, statement, &values)?;
                counts.add(line);
            }
        }
        tx.commit().map_err(|e| e.to_string())?;
        Ok(counts)
    }
}

/// Runs `query` (written for both databases) with `values` on
/// `connection` (or a transaction of it), calling `each` with every row.
fn each_row(
    connection: &Connection,
    query: &str,
    values: &[Param<'_>],
    each: EachRow<'_>,
) -> Result<(), String> {
    let mut statement = connection
        .prepare_cached(&Dialect::Sqlite.sql(query))
        .map_err(|e| e.to_string())?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(values))
        .map_err(|e| e.to_string())?;
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        each(row)?;
    }
    Ok(())
}

/// Runs `statement` (written for both databases) with `values`.
fn execute(connection: &Connection, statement: &str, values: &[Param<'_>]) -> Result<(), String> {
    connection
        .prepare_cached(&Dialect::Sqlite.sql(statement))
        .and_then(|mut prepared| prepared.execute(rusqlite::params_from_iter(values)))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

sql::columns_through!(rusqlite::Row<'_>, get);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Param::Text(text) => text.to_sql(),
            Param::Int(number) => number.to_sql(),
            Param::Flag(flag) => flag.to_sql(),
        }
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
