//! What the two backends of the findings state say alike: the schema's
//! steps (written once, in each database's types), the statements both run
//! (written with SQLite's `?N` placeholders; PostgreSQL's `$N` are made
//! from them), one reader per table from a row to what it holds, and the
//! values an export line writes.

use super::state::{
    status_of, CheckSummary, CollectionSummary, Finding, Known, RunEnd, Transition,
};
use super::transfer::{FindingRow, Line, RunRow, SummaryRow, TransitionRow};
use std::borrow::Cow;

/// The database a statement is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The schema, one step per version: step N (from 0) brings a database of
/// version N to version N + 1. A step is never changed once released; a
/// change of schema is a new step. The words in braces are the types each
/// database names differently ([`Dialect::schema_step`]).
pub const MIGRATIONS: &[&str] = &[V1, V2];

/// The schema version this binary writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// Version 1: findings, their transitions, and the latest check and
/// collection summaries (the tables of the releases before schema versions,
/// which a SQLite database of theirs already has).
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
    occurrences {INT} NOT NULL,
    muted {BOOL} NOT NULL DEFAULT {FALSE},
    event TEXT NOT NULL,
    PRIMARY KEY (audit, finding_id)
);
CREATE TABLE IF NOT EXISTS transitions (
    {SEQ}audit TEXT NOT NULL,
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
    evaluated {INT} NOT NULL,
    failed {INT} NOT NULL,
    audit_version TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (audit, check_name, scope)
);
CREATE TABLE IF NOT EXISTS collection_summaries (
    audit TEXT NOT NULL,
    scope TEXT NOT NULL,
    cloud_type TEXT,
    plugin TEXT,
    complete {BOOL} NOT NULL,
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
    seq {SERIAL} PRIMARY KEY,
    started TEXT NOT NULL,
    record TEXT NOT NULL
);
";

impl Dialect {
    /// The words of the schema and statements that differ: `{INT}` a
    /// 64-bit integer, `{BOOL}`/`{FALSE}` a boolean, `{SERIAL}` a growing
    /// key, `{SEQ}` the column that keeps the order transitions were
    /// written in where the table needs one (SQLite has its `rowid`), and
    /// `{WRITTEN}` that order in a query; `{SEEN}` and `{RESOLVED}` the
    /// run's temporary tables, `{FIRST_SIGHTINGS}` the first row of each
    /// finding in `{SEEN}` (as `s`).
    fn words(self) -> [(&'static str, &'static str); 9] {
        match self {
            Self::Sqlite => [
                ("{INT}", "INTEGER"),
                ("{BOOL}", "INTEGER"),
                ("{FALSE}", "0"),
                ("{SERIAL}", "INTEGER"),
                ("{SEQ}", ""),
                ("{WRITTEN}", "rowid"),
                ("{SEEN}", "temp.run_seen"),
                ("{RESOLVED}", "temp.run_resolved"),
                (
                    "{FIRST_SIGHTINGS}",
                    "temp.run_seen s WHERE CAST(?2 AS TEXT) IS NOT NULL
               AND s.rowid = (SELECT min(rowid) FROM temp.run_seen WHERE finding_id = s.finding_id)
             ORDER BY finding_id",
                ),
            ],
            Self::Postgres => [
                ("{INT}", "BIGINT"),
                ("{BOOL}", "BOOLEAN"),
                ("{FALSE}", "false"),
                ("{SERIAL}", "BIGSERIAL"),
                ("{SEQ}", "seq BIGSERIAL PRIMARY KEY,\n    "),
                ("{WRITTEN}", "seq"),
                ("{SEEN}", "run_seen"),
                ("{RESOLVED}", "run_resolved"),
                (
                    "{FIRST_SIGHTINGS}",
                    "(SELECT DISTINCT ON (finding_id) * FROM run_seen ORDER BY finding_id, seq) s
             WHERE CAST(?2 AS TEXT) IS NOT NULL",
                ),
            ],
        }
    }

    /// `text` (a schema step or a statement) as this database reads it:
    /// its words, and PostgreSQL's `$N` for each `?N`.
    pub fn sql(self, text: &str) -> String {
        let mut out = text.to_string();
        for (word, meant) in self.words() {
            if out.contains(word) {
                out = out.replace(word, meant);
            }
        }
        if self == Self::Postgres {
            out = out.replace('?', "$");
        }
        out
    }
}

/// The columns [`finding`] reads, in its order.
macro_rules! finding_columns {
    () => {
        "audit, finding_id, status, severity, record_type, reference, cloud_type,
         description, first_seen, last_seen, resolved_at, occurrences, muted"
    };
}

/// Every finding, newest first.
pub const ALL_FINDINGS: &str = concat!(
    "SELECT ",
    finding_columns!(),
    " FROM findings ORDER BY last_seen DESC, audit, finding_id"
);

/// The findings of one id (`?1`), of every audit.
pub const FINDINGS_OF_ID: &str = concat!(
    "SELECT ",
    finding_columns!(),
    " FROM findings WHERE finding_id = ?1 ORDER BY audit"
);

/// One finding's transitions (audit `?1`, id `?2`), oldest first.
pub const TRANSITIONS_OF: &str = "SELECT audit_version, at, status FROM transitions
     WHERE audit = ?1 AND finding_id = ?2 ORDER BY at, {WRITTEN}";

/// The latest check summaries of every audit, or of audit `?1`.
pub const CHECK_SUMMARIES: &str =
    "SELECT audit, check_name, scope, plugin, evaluated, failed, audit_version, at
     FROM check_summaries WHERE CAST(?1 AS TEXT) IS NULL OR audit = ?1
     ORDER BY audit, check_name, scope";

/// The latest collection summaries of every audit, or of audit `?1`.
pub const COLLECTION_SUMMARIES: &str =
    "SELECT audit, scope, cloud_type, plugin, complete, failed, audit_version, at
     FROM collection_summaries WHERE CAST(?1 AS TEXT) IS NULL OR audit = ?1
     ORDER BY audit, scope";

/// The columns [`known`] reads, from `findings`.
pub const KNOWN_COLUMNS: &str = "finding_id, status, first_seen, last_seen, occurrences, muted";

/// Keeps the latest summary of a check in a scope.
pub const UPSERT_CHECK_SUMMARY: &str =
    "INSERT INTO check_summaries (audit, check_name, scope, plugin, evaluated, failed,
         audit_version, at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT (audit, check_name, scope) DO UPDATE SET
         plugin = excluded.plugin, evaluated = excluded.evaluated,
         failed = excluded.failed, audit_version = excluded.audit_version,
         at = excluded.at";

/// Keeps the latest collection summary of a scope.
pub const UPSERT_COLLECTION_SUMMARY: &str =
    "INSERT INTO collection_summaries (audit, scope, cloud_type, plugin, complete, failed,
         audit_version, at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT (audit, scope) DO UPDATE SET
         cloud_type = excluded.cloud_type, plugin = excluded.plugin,
         complete = excluded.complete, failed = excluded.failed,
         audit_version = excluded.audit_version, at = excluded.at";

const INSERT_FINDING: &str = "INSERT INTO findings (audit, finding_id, status, severity,
         record_type, reference, cloud_type, description, first_seen, last_seen, resolved_at,
         occurrences, muted, event)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

const INSERT_TRANSITION: &str =
    "INSERT INTO transitions (audit, finding_id, audit_version, at, status)
     VALUES (?1, ?2, ?3, ?4, ?5)";

/// What a run writes at its end, each statement given the audit (`?1`),
/// the run's audit version (`?2`) and its time (`?3`): the status changes
/// of the findings it saw (new, regressed; open again after new), those
/// findings (first sighting of each in the run), then the status changes
/// and the status of the findings it resolved and did not see. Each
/// statement names all three values (`CAST(?2 AS TEXT) IS NOT NULL` where
/// one needs no audit version): SQLite refuses a value without a place and
/// PostgreSQL one whose type it cannot tell.
const RUN_END: [&str; 4] = [
    "INSERT INTO transitions (audit, finding_id, audit_version, at, status)
     SELECT ?1, s.finding_id, ?2, ?3,
            CASE WHEN f.status IS NULL THEN 'new'
                 WHEN f.status = 'resolved' THEN 'regressed' ELSE 'open' END
     FROM (SELECT DISTINCT finding_id FROM {SEEN}) s
     LEFT JOIN findings f ON f.audit = ?1 AND f.finding_id = s.finding_id
     WHERE f.status IS NULL OR f.status IN ('new', 'regressed', 'resolved')
     ORDER BY s.finding_id",
    "INSERT INTO findings (audit, finding_id, status, severity, record_type, reference,
         cloud_type, description, first_seen, last_seen, resolved_at, occurrences,
         muted, event)
     SELECT ?1, finding_id, 'new', severity, record_type, reference, cloud_type,
            description, ?3, ?3, NULL, 1, muted, event
     FROM {FIRST_SIGHTINGS}
     ON CONFLICT (audit, finding_id) DO UPDATE SET
         status = CASE WHEN findings.status = 'resolved' THEN 'regressed' ELSE 'open' END,
         severity = excluded.severity, record_type = excluded.record_type,
         reference = excluded.reference, cloud_type = excluded.cloud_type,
         description = excluded.description, last_seen = excluded.last_seen,
         resolved_at = NULL, occurrences = findings.occurrences + 1,
         muted = excluded.muted, event = excluded.event",
    "INSERT INTO transitions (audit, finding_id, audit_version, at, status)
     SELECT ?1, f.finding_id, ?2, ?3, 'resolved' FROM findings f
     WHERE f.audit = ?1 AND f.status != 'resolved'
       AND f.finding_id IN (SELECT finding_id FROM {RESOLVED})
       AND f.finding_id NOT IN (SELECT finding_id FROM {SEEN})
     ORDER BY f.finding_id",
    "UPDATE findings SET status = 'resolved', resolved_at = ?3
     WHERE audit = ?1 AND status != 'resolved' AND CAST(?2 AS TEXT) IS NOT NULL
       AND finding_id IN (SELECT finding_id FROM {RESOLVED})
       AND finding_id NOT IN (SELECT finding_id FROM {SEEN})",
];

/// The statements a run's end runs, in order, each with its values:
/// [`RUN_END`], then the run's check and collection summaries (each
/// replacing the one of its check and scope, or scope).
pub fn run_end<'a>(end: &RunEnd<'a>) -> Vec<(&'static str, Vec<Param<'a>>)> {
    let (audit, audit_version, now) = (end.audit, end.audit_version, end.now);
    let stamp = || {
        vec![
            Param::text(audit),
            Param::text(audit_version),
            Param::text(now),
        ]
    };
    let mut out: Vec<_> = RUN_END.into_iter().map(|s| (s, stamp())).collect();
    for summary in end.check_summaries {
        let values = summary_params(audit, summary, audit_version, now);
        out.push((UPSERT_CHECK_SUMMARY, values));
    }
    for summary in end.collection_summaries {
        let values = summary_params(audit, summary, audit_version, now);
        out.push((UPSERT_COLLECTION_SUMMARY, values));
    }
    out
}

/// Appends a run (started `?1`, its record `?2`) to the history.
pub const INSERT_RUN: &str = "INSERT INTO runs (started, record) VALUES (?1, ?2)";

/// The last `?1` runs of the history, oldest first.
pub const RECENT_RUNS: &str = "SELECT record FROM (SELECT seq, started, record FROM runs
     ORDER BY started DESC, seq DESC LIMIT ?1) r ORDER BY started, seq";

/// How many findings and runs the state holds (an import wants none).
pub const HELD: &str = "SELECT (SELECT count(*) FROM findings) + (SELECT count(*) FROM runs)";

/// Why an import into a state that is not empty is refused.
pub const NOT_EMPTY: &str = "the state already holds findings or runs: import into an empty state";

/// A row of a query, read by column position whichever the database.
pub trait Columns {
    /// A text column.
    fn text(&self, at: usize) -> Result<String, String>;
    /// A text column that may be NULL.
    fn maybe(&self, at: usize) -> Result<Option<String>, String>;
    /// A 64-bit integer column, as a count (never below 0).
    fn count(&self, at: usize) -> Result<u64, String>;
    /// A boolean column.
    fn flag(&self, at: usize) -> Result<bool, String>;
}

/// Implements [`Columns`] for a database's row type through its method
/// that reads a column as any type it converts to (`get`, `try_get`).
macro_rules! columns_through {
    ($row:ty, $get:ident) => {
        impl $crate::findings::sql::Columns for $row {
            fn text(&self, at: usize) -> Result<String, String> {
                self.$get(at).map_err(|e| e.to_string())
            }

            fn maybe(&self, at: usize) -> Result<Option<String>, String> {
                self.$get(at).map_err(|e| e.to_string())
            }

            fn count(&self, at: usize) -> Result<u64, String> {
                let number: i64 = self.$get(at).map_err(|e| e.to_string())?;
                Ok(number.max(0) as u64)
            }

            fn flag(&self, at: usize) -> Result<bool, String> {
                self.$get(at).map_err(|e| e.to_string())
            }
        }
    };
}
pub(crate) use columns_through;

/// What [`Backend::query`](super::state::Backend::query) calls with each
/// row.
pub type EachRow<'a> = &'a mut dyn FnMut(&dyn Columns) -> Result<(), String>;

/// A finding from the columns of [`ALL_FINDINGS`].
pub fn finding(row: &dyn Columns) -> Result<Finding, String> {
    Ok(Finding {
        audit: row.text(0)?,
        finding_id: row.text(1)?,
        status: status_of(row.text(2)?),
        severity: row.maybe(3)?,
        record_type: row.maybe(4)?,
        reference: row.maybe(5)?,
        cloud_type: row.maybe(6)?,
        description: row.maybe(7)?,
        first_seen: row.text(8)?,
        last_seen: row.text(9)?,
        resolved_at: row.maybe(10)?,
        occurrences: row.count(11)?,
        muted: row.flag(12)?,
    })
}

/// A transition from the columns of [`TRANSITIONS_OF`].
pub fn transition(row: &dyn Columns, from: usize) -> Result<Transition, String> {
    Ok(Transition {
        audit_version: row.text(from)?,
        at: row.text(from + 1)?,
        status: status_of(row.text(from + 2)?),
    })
}

/// A finding's id and what the state knows of it, from [`KNOWN_COLUMNS`].
pub fn known(row: &dyn Columns) -> Result<(String, Known), String> {
    Ok((
        row.text(0)?,
        Known {
            status: status_of(row.text(1)?),
            first_seen: row.text(2)?,
            last_seen: row.text(3)?,
            occurrences: row.count(4)?,
            muted: row.flag(5)?,
        },
    ))
}

/// A summary the state keeps the latest of: five columns between its
/// audit and its audit version and time.
pub trait Summary: Sized {
    /// The summary from `row`'s columns 1 to 5.
    fn read(row: &dyn Columns) -> Result<Self, String>;
    /// The values of those columns.
    fn values(&self) -> [Param<'_>; 5];
}

impl Summary for CheckSummary {
    fn read(row: &dyn Columns) -> Result<Self, String> {
        Ok(CheckSummary {
            check: row.text(1)?,
            scope: row.text(2)?,
            plugin: row.maybe(3)?,
            evaluated: row.count(4)?,
            failed: row.count(5)?,
        })
    }

    fn values(&self) -> [Param<'_>; 5] {
        [
            Param::text(&self.check),
            Param::text(&self.scope),
            Param::maybe(&self.plugin),
            Param::count(self.evaluated),
            Param::count(self.failed),
        ]
    }
}

impl Summary for CollectionSummary {
    fn read(row: &dyn Columns) -> Result<Self, String> {
        Ok(CollectionSummary {
            scope: row.text(1)?,
            cloud_type: row.maybe(2)?,
            plugin: row.maybe(3)?,
            complete: row.flag(4)?,
            failed: serde_json::from_str(&row.text(5)?).unwrap_or_default(),
        })
    }

    fn values(&self) -> [Param<'_>; 5] {
        // A map of strings always serializes.
        let failed = serde_json::to_string(&self.failed).unwrap_or_else(|_| "{}".into());
        [
            Param::text(&self.scope),
            Param::maybe(&self.cloud_type),
            Param::maybe(&self.plugin),
            Param::Flag(self.complete),
            Param::owned(failed),
        ]
    }
}

/// A summary from the columns of [`CHECK_SUMMARIES`] or
/// [`COLLECTION_SUMMARIES`].
pub fn summary<S: Summary>(row: &dyn Columns) -> Result<SummaryRow<S>, String> {
    Ok(SummaryRow {
        audit: row.text(0)?,
        summary: S::read(row)?,
        audit_version: row.text(6)?,
        at: row.text(7)?,
    })
}

/// The values of [`UPSERT_CHECK_SUMMARY`] or [`UPSERT_COLLECTION_SUMMARY`].
pub fn summary_params<'a, S: Summary>(
    audit: &'a str,
    summary: &'a S,
    audit_version: &'a str,
    at: &'a str,
) -> Vec<Param<'a>> {
    let mut values = vec![Param::text(audit)];
    values.extend(summary.values());
    values.extend([Param::text(audit_version), Param::text(at)]);
    values
}

/// Reads one line of an export from a row of its query.
pub type LineReader = fn(&dyn Columns) -> Result<Line, String>;

/// The queries of an export, in its order, each with its reader.
pub const EXPORT: [(&str, LineReader); 5] = [
    (
        concat!(
            "SELECT ",
            finding_columns!(),
            ", event FROM findings ORDER BY audit, finding_id"
        ),
        finding_line,
    ),
    (
        "SELECT audit, finding_id, audit_version, at, status FROM transitions ORDER BY {WRITTEN}",
        transition_line,
    ),
    (
        "SELECT audit, check_name, scope, plugin, evaluated, failed, audit_version, at
         FROM check_summaries ORDER BY audit, check_name, scope",
        |row| summary(row).map(Line::CheckSummary),
    ),
    (
        "SELECT audit, scope, cloud_type, plugin, complete, failed, audit_version, at
         FROM collection_summaries ORDER BY audit, scope",
        |row| summary(row).map(Line::CollectionSummary),
    ),
    ("SELECT started, record FROM runs ORDER BY seq", run_line),
];

fn finding_line(row: &dyn Columns) -> Result<Line, String> {
    Ok(Line::Finding(FindingRow {
        finding: finding(row)?,
        event: row.text(13)?,
    }))
}

fn transition_line(row: &dyn Columns) -> Result<Line, String> {
    Ok(Line::Transition(TransitionRow {
        audit: row.text(0)?,
        finding_id: row.text(1)?,
        transition: transition(row, 2)?,
    }))
}

fn run_line(row: &dyn Columns) -> Result<Line, String> {
    let record = row.text(1)?;
    Ok(Line::Run(RunRow {
        started: row.text(0)?,
        record: serde_json::from_str(&record).unwrap_or(serde_json::Value::String(record)),
    }))
}

/// A value a statement is given, whichever the database.
#[derive(Debug, Clone, PartialEq)]
pub enum Param<'a> {
    /// Text, or NULL.
    Text(Option<Cow<'a, str>>),
    /// A 64-bit integer.
    Int(i64),
    /// A boolean.
    Flag(bool),
}

impl<'a> Param<'a> {
    /// Text.
    pub fn text(value: &'a str) -> Self {
        Self::Text(Some(Cow::Borrowed(value)))
    }

    fn maybe(value: &'a Option<String>) -> Self {
        Self::Text(value.as_deref().map(Cow::Borrowed))
    }

    fn owned(value: String) -> Self {
        Self::Text(Some(Cow::Owned(value)))
    }

    fn count(value: u64) -> Self {
        Self::Int(value.min(i64::MAX as u64) as i64)
    }
}

/// The statement that imports `line` and its values (none for the
/// header).
pub fn import(line: &Line) -> Option<(&'static str, Vec<Param<'_>>)> {
    Some(match line {
        Line::State { .. } => return None,
        Line::Finding(FindingRow { finding: f, event }) => (
            INSERT_FINDING,
            vec![
                Param::text(&f.audit),
                Param::text(&f.finding_id),
                Param::text(f.status.name()),
                Param::maybe(&f.severity),
                Param::maybe(&f.record_type),
                Param::maybe(&f.reference),
                Param::maybe(&f.cloud_type),
                Param::maybe(&f.description),
                Param::text(&f.first_seen),
                Param::text(&f.last_seen),
                Param::maybe(&f.resolved_at),
                Param::count(f.occurrences),
                Param::Flag(f.muted),
                Param::text(event),
            ],
        ),
        Line::Transition(row) => (
            INSERT_TRANSITION,
            vec![
                Param::text(&row.audit),
                Param::text(&row.finding_id),
                Param::text(&row.transition.audit_version),
                Param::text(&row.transition.at),
                Param::text(row.transition.status.name()),
            ],
        ),
        Line::CheckSummary(row) => (
            UPSERT_CHECK_SUMMARY,
            summary_params(&row.audit, &row.summary, &row.audit_version, &row.at),
        ),
        Line::CollectionSummary(row) => (
            UPSERT_COLLECTION_SUMMARY,
            summary_params(&row.audit, &row.summary, &row.audit_version, &row.at),
        ),
        Line::Run(run) => (
            INSERT_RUN,
            vec![
                Param::text(&run.started),
                Param::owned(run.record.to_string()),
            ],
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_database_reads_its_own_words_and_placeholders() {
        let sqlite = Dialect::Sqlite.sql(V1);
        let postgres = Dialect::Postgres.sql(V1);
        assert!(
            sqlite.contains("muted INTEGER NOT NULL DEFAULT 0"),
            "{sqlite}"
        );
        assert!(postgres.contains("muted BOOLEAN NOT NULL DEFAULT false"));
        assert!(postgres.contains("seq BIGSERIAL PRIMARY KEY,\n    audit TEXT NOT NULL"));
        assert!(!sqlite.contains('{') && !postgres.contains('{'));
        assert_eq!(
            Dialect::Postgres.sql(TRANSITIONS_OF),
            "SELECT audit_version, at, status FROM transitions
     WHERE audit = $1 AND finding_id = $2 ORDER BY at, seq"
        );
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            for statement in RUN_END.iter().chain(EXPORT.iter().map(|(s, _)| s)) {
                let text = dialect.sql(statement);
                assert!(!text.contains('{'), "{dialect:?}: {text}");
            }
        }
        assert!(Dialect::Postgres
            .sql(RUN_END[1])
            .contains("DISTINCT ON (finding_id) * FROM run_seen"));
        assert!(Dialect::Sqlite
            .sql(RUN_END[3])
            .contains("FROM temp.run_resolved"));
        assert!(Dialect::Sqlite.sql(INSERT_FINDING).contains("?13, ?14)"));
        assert!(Dialect::Postgres.sql(INSERT_FINDING).contains("$13, $14)"));
    }

    #[test]
    fn an_import_gives_each_column_of_its_statement_one_value() {
        let placeholders = |sql: &str| sql.matches('?').count();
        let finding = Finding {
            audit: "a".into(),
            finding_id: "f".into(),
            status: super::super::Status::Regressed,
            severity: None,
            record_type: Some("t".into()),
            reference: None,
            cloud_type: None,
            description: None,
            first_seen: "t1".into(),
            last_seen: "t2".into(),
            resolved_at: None,
            occurrences: u64::MAX,
            muted: true,
        };
        let line = Line::Finding(FindingRow {
            finding,
            event: "{}".into(),
        });
        let (sql, params) = import(&line).unwrap();
        assert_eq!(placeholders(sql), params.len());
        assert_eq!(params[2], Param::text("regressed"));
        assert_eq!(params[11], Param::Int(i64::MAX));
        assert!(import(&Line::State { format: 1 }).is_none());
    }
}
