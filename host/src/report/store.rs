//! The two things the report reads from the findings database that its
//! public functions do not give: every status change (the trend is replayed
//! from them) and each finding's check, scope and resource type (from its
//! last event). Read-only: the file is opened with `SQLITE_OPEN_READ_ONLY`
//! and only `SELECT`s run; everything else comes through
//! [`crate::findings::state::State`].
//!
//! This is the one place that knows the SQLite schema outside
//! `findings::state`; a second database backend needs the same two
//! queries there.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// One status change, as the `transitions` table keeps it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The audit.
    pub audit: String,
    /// The finding.
    pub finding_id: String,
    /// The run (its audit version).
    pub audit_version: String,
    /// When (RFC 3339).
    pub at: String,
    /// The status the run gave it.
    pub status: crate::findings::Status,
}

/// Where a finding belongs, from its last event.
#[derive(Debug, Clone, Default)]
pub struct Place {
    /// `com.check`, else the event type.
    pub check: String,
    /// The account, subscription or project (`ext.account_id`,
    /// `ext.subscription_id`, `ext.project_id`), empty when none.
    pub scope: String,
    /// The resource type the check read (`ext.record_type`), empty when none.
    pub resource_type: String,
}

/// Each finding's place, keyed by (audit, finding id).
pub type Places = Vec<((String, String), Place)>;

/// The findings database, opened read-only.
pub struct Reader {
    connection: Connection,
}

impl Reader {
    /// Opens the database at `path` without write access.
    pub fn open(path: &Path) -> Result<Self, String> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| format!("findings database {}: {e}", path.display()))?;
        Ok(Self { connection })
    }

    /// Every status change, oldest first.
    pub fn changes(&self) -> Result<Vec<Change>, String> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT audit, finding_id, audit_version, at, status FROM transitions
                 ORDER BY at, rowid",
            )
            .map_err(|e| e.to_string())?;
        let rows = statement
            .query_map([], |row| {
                let status: String = row.get(4)?;
                Ok(Change {
                    audit: row.get(0)?,
                    finding_id: row.get(1)?,
                    audit_version: row.get(2)?,
                    at: row.get(3)?,
                    status: crate::findings::Status::parse(&status)
                        .unwrap_or(crate::findings::Status::Open),
                })
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// Each finding's place, by (audit, finding id).
    pub fn places(&self) -> Result<Places, String> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT audit, finding_id,
                        coalesce(CASE WHEN v THEN json_extract(event, '$.com.check') END,
                                 record_type, ''),
                        coalesce(CASE WHEN v THEN coalesce(
                                     json_extract(event, '$.ext.account_id'),
                                     json_extract(event, '$.ext.subscription_id'),
                                     json_extract(event, '$.ext.project_id'),
                                     json_extract(event, '$.ext.tenant_id')) END, ''),
                        coalesce(CASE WHEN v THEN json_extract(event, '$.ext.record_type') END, '')
                 FROM (SELECT *, json_valid(event) AS v FROM findings)",
            )
            .map_err(|e| e.to_string())?;
        let rows = statement
            .query_map([], |row| {
                let text = |i: usize| -> rusqlite::Result<String> {
                    Ok(match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into(),
                        rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                        rusqlite::types::ValueRef::Real(n) => n.to_string(),
                        _ => String::new(),
                    })
                };
                Ok((
                    (text(0)?, text(1)?),
                    Place {
                        check: text(2)?,
                        scope: text(3)?,
                        resource_type: text(4)?,
                    },
                ))
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }
}
