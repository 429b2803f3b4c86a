//! The findings state: each finding's status, first and last seen,
//! occurrences and history, and the latest check and collection summaries.
//! A run's changes commit at its end in one transaction, or not at all.
//!
//! One interface ([`Backend`]) with one implementation per database: the
//! embedded SQLite file (the default, [`super::sqlite`]) and PostgreSQL
//! ([`super::postgres`]). What they say alike is written once
//! ([`super::sql`]: the schema, the statements, the row readers); a backend
//! runs queries ([`Backend::query`]) and keeps what only its database does
//! (connecting, locking, the run's temporary tables, batched lookups). The
//! schema is versioned: a table records its version, the steps up to this
//! binary's are applied when the state is opened, and a database newer
//! than the binary is refused ([`OpenError::newer_schema`]).

use super::sql::{self, Columns, EachRow, Param};
use super::Status;
use std::collections::HashMap;
use std::path::Path;

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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// The end of one run of an audit, as [`Backend::commit_run`] writes it.
#[derive(Debug, Clone, Copy)]
pub struct RunEnd<'a> {
    /// The audit.
    pub audit: &'a str,
    /// The run's audit version.
    pub audit_version: &'a str,
    /// When it ends (RFC 3339).
    pub now: &'a str,
    /// What each check evaluated in each scope.
    pub check_summaries: &'a [CheckSummary],
    /// What the run read of each scope.
    pub collection_summaries: &'a [CollectionSummary],
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

/// Why the state could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenError {
    /// What went wrong, for people (never a password).
    pub message: String,
    /// Whether it is the configuration's (or the database's schema's)
    /// fault: the command exits 2, as for an invalid configuration.
    pub config: bool,
}

impl OpenError {
    /// A configuration's fault (exit 2).
    pub fn config(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            config: true,
        }
    }

    /// Any other failure (exit 1).
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            config: false,
        }
    }

    /// The database at `place` has schema version `found`, newer than this
    /// binary's (`latest`).
    pub fn newer_schema(place: &str, found: u32, latest: u32) -> Self {
        Self {
            message: format!(
                "findings database {place}: its schema is version {found}, newer than this cloudmarker knows (version {latest}); a newer cloudmarker wrote it: upgrade this one, or use another state"
            ),
            config: true,
        }
    }
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<OpenError> for String {
    fn from(e: OpenError) -> Self {
        e.message
    }
}

/// What every findings database does: the reads of the `findings`,
/// `compliance` and `history` commands, and a run's writes (noted as the
/// run goes, written in one transaction by [`Backend::commit_run`]).
pub trait Backend: Send {
    /// Runs `query` (written for both databases: [`sql::Dialect::sql`])
    /// with `values`, calling `each` with every row.
    fn query(&mut self, sql: &str, values: &[Param<'_>], each: EachRow<'_>) -> Result<(), String>;

    /// Every finding, newest first.
    fn all(&mut self) -> Result<Vec<Finding>, String> {
        rows(self, sql::ALL_FINDINGS, &[], sql::finding)
    }

    /// The findings whose id is `id`, and each one's transitions, oldest
    /// first.
    fn history(&mut self, id: &str) -> Result<Vec<(Finding, Vec<Transition>)>, String> {
        let findings = rows(self, sql::FINDINGS_OF_ID, &[Param::text(id)], sql::finding)?;
        let mut out = Vec::new();
        for finding in findings {
            let of = [
                Param::text(&finding.audit),
                Param::text(&finding.finding_id),
            ];
            let transitions = rows(self, sql::TRANSITIONS_OF, &of, |row| {
                sql::transition(row, 0)
            })?;
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
        summaries(self, sql::CHECK_SUMMARIES, audit)
    }

    /// The latest collection summary of every scope of every audit (of
    /// `audit` only, when given), each with when it was written, sorted by
    /// audit and scope.
    fn collection_summaries(
        &mut self,
        audit: Option<&str>,
    ) -> Result<Vec<(String, CollectionSummary, String)>, String> {
        summaries(self, sql::COLLECTION_SUMMARIES, audit)
    }

    /// The open findings (new, open or regressed) of every audit (of
    /// `audit` only, when given), counted by audit, check and cloud.
    fn open_findings_by_check(&mut self, audit: Option<&str>) -> Result<Vec<OpenFindings>, String>;

    /// What the database knows of the findings `ids` of `audit` (as of
    /// now), by id: one query for the whole batch. Ids it does not know
    /// are absent.
    fn known_many(&mut self, audit: &str, ids: &[&str]) -> Result<HashMap<String, Known>, String>;

    /// What the database knows of one finding of `audit`.
    fn known(&mut self, audit: &str, finding_id: &str) -> Result<Option<Known>, String> {
        Ok(self.known_many(audit, &[finding_id])?.remove(finding_id))
    }

    /// Starts a run: nothing it notes is written before
    /// [`Backend::commit_run`].
    fn begin_run(&mut self) -> Result<(), String>;

    /// Notes that the run saw `finding` (a finding seen twice in a run is
    /// one finding: its first sighting counts).
    fn note_seen(&mut self, finding: &Seen) -> Result<(), String>;

    /// Ends a batch of [`Backend::note_seen`] calls.
    fn flush(&mut self) -> Result<(), String>;

    /// Calls `each` with the id and last event of every active finding of
    /// `audit` that the run has not seen, by type, resource and description.
    fn unseen_active(
        &mut self,
        audit: &str,
        each: &mut dyn FnMut(&str, &str),
    ) -> Result<(), String>;

    /// Notes that the run resolves `finding_id`.
    fn note_resolved(&mut self, finding_id: &str) -> Result<(), String>;

    /// Writes the run: one transaction, all of it or nothing. Statuses are
    /// decided here, against the database as it is now (another process may
    /// have written since the run began): a seen finding is new, open or
    /// regressed; the history keeps status changes only. The run's check
    /// and collection summaries replace those of the same check and scope
    /// (and scope).
    fn commit_run(&mut self, run: &RunEnd<'_>) -> Result<(), String>;

    /// Keeps one run of the run history (`record`: its JSON line).
    fn append_run(&mut self, started: &str, record: &str) -> Result<(), String>;

    /// The last `limit` runs of the history (their JSON lines), oldest
    /// first.
    fn recent_runs(&mut self, limit: usize) -> Result<Vec<String>, String> {
        let limit = Param::Int(limit.min(i64::MAX as usize) as i64);
        rows(self, sql::RECENT_RUNS, &[limit], |row| row.text(0))
    }

    /// Calls `each` with every line of an export of the state (after its
    /// header): findings, transitions, summaries, runs.
    fn export(
        &mut self,
        each: &mut dyn FnMut(super::transfer::Line) -> Result<(), String>,
    ) -> Result<(), String>;

    /// Writes the lines of an export into this state, which must hold no
    /// finding and no run yet, in one transaction.
    fn import(
        &mut self,
        lines: &[super::transfer::Line],
    ) -> Result<super::transfer::Counts, String>;

    /// Records one run of `audit` at once: what it `seen`, and the findings
    /// it `resolved` (those still active).
    fn commit(
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
        self.commit_run(&RunEnd {
            audit,
            audit_version,
            now,
            check_summaries: &[],
            collection_summaries: &[],
        })
    }
}

/// The rows of `query` with `values`, each read by `read`.
fn rows<T, B: Backend + ?Sized>(
    backend: &mut B,
    query: &str,
    values: &[Param<'_>],
    read: impl Fn(&dyn Columns) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    let mut out = Vec::new();
    backend.query(query, values, &mut |row| {
        out.push(read(row)?);
        Ok(())
    })?;
    Ok(out)
}

/// The latest summaries of `query` ([`sql::CHECK_SUMMARIES`] or
/// [`sql::COLLECTION_SUMMARIES`]) of every audit or of `audit`, each with
/// its audit and when it was written.
fn summaries<S: sql::Summary, B: Backend + ?Sized>(
    backend: &mut B,
    query: &str,
    audit: Option<&str>,
) -> Result<Vec<(String, S, String)>, String> {
    let audit = Param::Text(audit.map(std::borrow::Cow::Borrowed));
    rows(backend, query, &[audit], |row| {
        sql::summary(row).map(|r| (r.audit, r.summary, r.at))
    })
}

/// An open findings state, whichever its database.
pub struct State {
    backend: Box<dyn Backend>,
}

impl State {
    /// Opens (creating) the SQLite database at `path`.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        Ok(Self {
            backend: Box::new(super::sqlite::Sqlite::open(path)?),
        })
    }

    /// Connects to the PostgreSQL state at `target`.
    pub fn connect(target: &super::postgres::Target) -> Result<Self, OpenError> {
        Ok(Self {
            backend: Box::new(super::postgres::Postgres::open(target)?),
        })
    }
}

impl std::ops::Deref for State {
    type Target = dyn Backend;

    fn deref(&self) -> &Self::Target {
        self.backend.as_ref()
    }
}

impl std::ops::DerefMut for State {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.backend.as_mut()
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

/// A stored status; an unknown one (a newer version's) counts as open.
pub(crate) fn status_of(name: String) -> Status {
    Status::parse(&name).unwrap_or(Status::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The end of a run of audit `a`.
    fn end<'a>(
        audit_version: &'a str,
        now: &'a str,
        check_summaries: &'a [CheckSummary],
        collection_summaries: &'a [CollectionSummary],
    ) -> RunEnd<'a> {
        RunEnd {
            audit: "a",
            audit_version,
            now,
            check_summaries,
            collection_summaries,
        }
    }

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

    fn statuses(state: &mut State) -> Vec<(String, Status, u64)> {
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
                .expect("a link is refused")
                .message;
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
    fn findings_are_looked_up_in_batches_and_the_schema_version_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("findings.db");
        let mut state = State::open(&path).unwrap();
        state
            .commit("a", "v1", "t1", &[seen("x"), seen("y")], &[])
            .unwrap();
        state.commit("b", "v1", "t1", &[seen("z")], &[]).unwrap();
        let known = state.known_many("a", &["x", "y", "z", "w"]).unwrap();
        let mut ids: Vec<&str> = known.keys().map(String::as_str).collect();
        ids.sort();
        assert_eq!(ids, ["x", "y"], "z is b's, w unknown");
        assert_eq!(known["x"].status, Status::New);
        assert_eq!(known["x"].first_seen, "t1");
        assert_eq!(state.known("a", "y").unwrap(), Some(known["y"].clone()));
        assert!(state.known_many("a", &[]).unwrap().is_empty());
        drop(state);
        let db = rusqlite::Connection::open(&path).unwrap();
        let version: u32 = db
            .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, crate::findings::sqlite::LATEST);
        // A database of the releases before versions: its tables, no
        // version table; opening records the version and keeps the rows.
        db.execute_batch("DROP TABLE schema_version").unwrap();
        drop(db);
        assert_eq!(State::open(&path).unwrap().all().unwrap().len(), 3);
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute(
            "UPDATE schema_version SET version = ?1",
            [crate::findings::sqlite::LATEST + 1],
        )
        .unwrap();
        drop(db);
        let refused = State::open(&path).err().expect("a newer schema is refused");
        assert!(refused.config, "{refused}");
        assert!(
            refused
                .message
                .contains("newer than this cloudmarker knows"),
            "{refused}"
        );
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
            .commit_run(&end(
                "v1",
                "t1",
                &[summary("s1", 3, 1), summary("s2", 2, 0)],
                &[],
            ))
            .unwrap();
        // The next run read s1 only (s2's collection failed, say): s1's
        // counts are replaced, s2's stay as of the run that read it.
        state.begin_run().unwrap();
        state
            .commit_run(&end("v2", "t2", &[summary("s1", 4, 0)], &[]))
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
            .commit_run(&end(
                "v1",
                "t1",
                &[],
                &[collection("s1", &[]), collection("s2", &[("vm", "403")])],
            ))
            .unwrap();
        state.begin_run().unwrap();
        state.note_seen(&with_check("x", Some("fw"))).unwrap();
        state.note_resolved("y").unwrap();
        state
            .commit_run(&end("v2", "t2", &[], &[collection("s2", &[])]))
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
            statuses(&mut state),
            [("x".into(), Status::New, 1), ("y".into(), Status::New, 1)]
        );
        state.begin_run().unwrap();
        state.note_seen(&seen("x")).unwrap();
        let mut gone = Vec::new();
        state
            .unseen_active("a", &mut |id: &str, _: &str| gone.push(id.to_string()))
            .unwrap();
        assert_eq!(gone, ["y"]);
        state.commit("a", "v2", "t2", &[seen("x")], &gone).unwrap();
        assert_eq!(
            statuses(&mut state),
            [
                ("x".into(), Status::Open, 2),
                ("y".into(), Status::Resolved, 1)
            ]
        );
        // Resolving again changes nothing.
        state.commit("a", "v3", "t3", &[], &gone).unwrap();
        assert_eq!(statuses(&mut state)[1].1, Status::Resolved);
        state
            .commit("a", "v4", "t4", &[seen("x"), seen("y")], &[])
            .unwrap();
        assert_eq!(
            statuses(&mut state),
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
