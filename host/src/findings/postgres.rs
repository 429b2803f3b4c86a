//! The PostgreSQL backend of the findings state: one database for every
//! shard of a sharded estate (and for `findings`, `compliance` and `history`
//! to read the whole estate from).
//!
//! `state: {url: "postgres://user:${PGPASSWORD}@host/db?sslmode=verify-full",
//! ca_file: /path/ca.pem}`. TLS is rustls (ring): the server's certificate
//! and host name are always verified against the CA file (`ca_file`, or
//! `sslrootcert=` in the URL); `sslmode=disable` is the only way to a plain
//! connection. The password is registered as a secret (never logged) and
//! never part of a message: messages name the user, host, port and database.
//!
//! Shards write at once: each run's changes are one transaction that first
//! takes a transaction-scoped advisory lock of its audit, so the commits of
//! one audit's shards follow one another (each short: the run's rows are
//! already on the server, in temporary tables) and none can lose another's
//! changes; a run resolves only the findings its tracker noted (those of the
//! scopes it read completely). A connection lost or a process killed in the
//! middle of a commit leaves nothing of it: the server rolls it back.

use super::state::{
    status_of, Backend, CheckSummary, CollectionSummary, Finding, Known, OpenError, OpenFindings,
    Seen, Transition,
};
use super::transfer::{Counts, FindingRow, Line};
use cloudmarker_plugin_api::sdk::{files, secret};
use postgres::{Client, NoTls};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an unanswered write may stay unacknowledged before the
/// connection counts as lost (the server gone during a run).
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);

/// Rows sent to the server at once.
const BATCH: usize = 2000;

/// The schema, one step per version (the same versions and tables as the
/// SQLite backend's, in PostgreSQL's types).
const MIGRATIONS: &[&str] = &[V1, V2];

/// The schema version this binary writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

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
    occurrences BIGINT NOT NULL,
    muted BOOLEAN NOT NULL DEFAULT false,
    event TEXT NOT NULL,
    PRIMARY KEY (audit, finding_id)
);
CREATE TABLE IF NOT EXISTS transitions (
    seq BIGSERIAL PRIMARY KEY,
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
    evaluated BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    audit_version TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (audit, check_name, scope)
);
CREATE TABLE IF NOT EXISTS collection_summaries (
    audit TEXT NOT NULL,
    scope TEXT NOT NULL,
    cloud_type TEXT,
    plugin TEXT,
    complete BOOLEAN NOT NULL,
    failed TEXT NOT NULL,
    audit_version TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (audit, scope)
);
";

const V2: &str = "
CREATE TABLE IF NOT EXISTS runs (
    seq BIGSERIAL PRIMARY KEY,
    started TEXT NOT NULL,
    record TEXT NOT NULL
);
";

/// Where the state is, as given in the config.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL, `${VAR}`s already expanded (holds the password).
    pub url: String,
    /// The CA certificates (PEM) the server's certificate must chain to.
    pub ca_file: Option<PathBuf>,
}

/// An open PostgreSQL findings state.
pub struct Postgres {
    client: Client,
    /// `postgres://user@host:port/db`, for messages.
    shown: String,
    /// Sightings not yet sent to the server.
    seen: Vec<Seen>,
    /// Findings the run resolves, not yet sent.
    resolved: Vec<String>,
}

/// What a connection asks for, parsed from the URL.
struct Parsed {
    config: postgres::Config,
    tls: bool,
    ca_file: Option<PathBuf>,
    shown: String,
}

/// Splits the libpq options that tokio-postgres does not take
/// (`sslmode=verify-full`, `verify-ca`, `sslrootcert=`) out of `url`.
fn parse(target: &Target) -> Result<Parsed, OpenError> {
    let url = target.url.trim();
    let scheme_ok = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut sslmode = None;
    let mut rootcert = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", mode)) => sslmode = Some(mode.to_string()),
            Some(("sslrootcert", path)) => rootcert = Some(PathBuf::from(path)),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    // Never echo the URL: it may hold the password.
    let config: postgres::Config = if scheme_ok {
        rest.parse().map_err(|e: postgres::Error| {
            OpenError::config(format!(
                "state.url: not a PostgreSQL URL ({}): expected postgres://user:${{PGPASSWORD}}@host/db?sslmode=verify-full",
                secret::redact(&e.to_string())
            ))
        })?
    } else {
        return Err(OpenError::config(
            "state.url: not a PostgreSQL URL: expected postgres://user:${PGPASSWORD}@host/db?sslmode=verify-full",
        ));
    };
    if let Some(password) = config.get_password() {
        secret::register(&String::from_utf8_lossy(password));
    }
    let tls = match sslmode.as_deref() {
        None | Some("verify-full") | Some("verify-ca") | Some("require") => true,
        Some("disable") => false,
        Some(other) => {
            return Err(OpenError::config(format!(
                "state.url: sslmode={other} is not supported: use verify-full (the default; with state.ca_file) or disable"
            )))
        }
    };
    let host = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect::<Vec<_>>()
        .join(",");
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let shown = format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or_default(),
        config.get_dbname().unwrap_or_default()
    );
    Ok(Parsed {
        config,
        tls,
        ca_file: target.ca_file.clone().or(rootcert),
        shown,
    })
}

/// The rustls client configuration trusting the CA certificates in `path`.
fn tls_config(path: &Path, shown: &str) -> Result<rustls::ClientConfig, OpenError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let fail = |what: String| OpenError::config(format!("findings database {shown}: {what}"));
    let pem = files::read_limited(path, files::MAX_PEM_BYTES)
        .map_err(|e| fail(format!("cannot read state.ca_file {}: {e}", path.display())))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| {
            fail(format!(
                "state.ca_file {}: not PEM certificates: {e}",
                path.display()
            ))
        })?;
        roots.add(cert).map_err(|e| {
            fail(format!(
                "state.ca_file {}: a certificate is not usable: {e}",
                path.display()
            ))
        })?;
    }
    if roots.is_empty() {
        return Err(fail(format!(
            "state.ca_file {}: no certificate in it",
            path.display()
        )));
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A database error as people read it: the server's message (never the
/// password), with its detail.
fn said(e: &postgres::Error) -> String {
    let text = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                let more = inner.to_string();
                if !text.contains(&more) {
                    text.push_str(": ");
                    text.push_str(&more);
                }
                source = inner.source();
            }
            text
        }
    };
    secret::redact(&text).into_owned()
}

impl Postgres {
    /// Connects to the state at `target` and brings its schema up to this
    /// version's.
    pub fn open(target: &Target) -> Result<Self, OpenError> {
        let mut parsed = parse(target)?;
        let shown = parsed.shown.clone();
        parsed
            .config
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_user_timeout(TCP_USER_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .application_name("cloudmarker");
        let connected = if parsed.tls {
            let Some(ca_file) = &parsed.ca_file else {
                return Err(OpenError::config(format!(
                    "findings database {shown}: TLS needs the server's CA: set state.ca_file (or sslmode=disable for a plain connection)"
                )));
            };
            let tls = tls_config(ca_file, &shown)?;
            parsed.config.ssl_mode(postgres::config::SslMode::Require);
            parsed
                .config
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        } else {
            parsed.config.ssl_mode(postgres::config::SslMode::Disable);
            parsed.config.connect(NoTls)
        };
        let client = connected.map_err(|e| {
            OpenError::other(format!(
                "findings database {shown}: cannot connect: {}",
                said(&e)
            ))
        })?;
        let mut state = Self {
            client,
            shown,
            seen: Vec::new(),
            resolved: Vec::new(),
        };
        let found = state.migrate().map_err(|e| {
            OpenError::other(format!(
                "findings database {}: cannot prepare its schema: {e}",
                state.shown
            ))
        })?;
        if found > LATEST {
            return Err(OpenError::newer_schema(&state.shown, found, LATEST));
        }
        Ok(state)
    }

    /// Brings the schema up to [`LATEST`] in one transaction, under a lock
    /// that makes shards starting together take turns; the version the
    /// database had.
    fn migrate(&mut self) -> Result<u32, String> {
        let mut tx = self.client.transaction().map_err(|e| said(&e))?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('cloudmarker schema'))",
            &[],
        )
        .map_err(|e| said(&e))?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            .map_err(|e| said(&e))?;
        let found: i32 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
            .map_err(|e| said(&e))?
            .get(0);
        let found = found.max(0) as u32;
        if found >= LATEST {
            return Ok(found);
        }
        for step in &MIGRATIONS[found as usize..] {
            tx.batch_execute(step).map_err(|e| said(&e))?;
        }
        tx.execute("DELETE FROM schema_version", &[])
            .map_err(|e| said(&e))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&(LATEST as i32)],
        )
        .map_err(|e| said(&e))?;
        tx.commit().map_err(|e| said(&e))?;
        Ok(found)
    }

    fn fail(&self, e: &postgres::Error) -> String {
        format!("findings database {}: {}", self.shown, said(e))
    }

    /// Sends the buffered sightings and resolutions to the run's temporary
    /// tables.
    fn send(&mut self) -> Result<(), String> {
        for chunk in std::mem::take(&mut self.seen).chunks(BATCH) {
            let column = |f: fn(&Seen) -> Option<String>| chunk.iter().map(f).collect::<Vec<_>>();
            let ids: Vec<&str> = chunk.iter().map(|s| s.finding_id.as_str()).collect();
            let muted: Vec<bool> = chunk.iter().map(|s| s.muted).collect();
            let events: Vec<&str> = chunk.iter().map(|s| s.event.as_str()).collect();
            self.client
                .execute(
                    "INSERT INTO run_seen (finding_id, severity, record_type, reference,
                         cloud_type, description, muted, event)
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                          $5::text[], $6::text[], $7::bool[], $8::text[])",
                    &[
                        &ids,
                        &column(|s| s.severity.clone()),
                        &column(|s| s.record_type.clone()),
                        &column(|s| s.reference.clone()),
                        &column(|s| s.cloud_type.clone()),
                        &column(|s| s.description.clone()),
                        &muted,
                        &events,
                    ],
                )
                .map_err(|e| self.fail(&e))?;
        }
        for chunk in std::mem::take(&mut self.resolved).chunks(BATCH) {
            self.client
                .execute(
                    "INSERT INTO run_resolved (finding_id) SELECT unnest($1::text[])
                     ON CONFLICT DO NOTHING",
                    &[&chunk],
                )
                .map_err(|e| self.fail(&e))?;
        }
        Ok(())
    }
}

/// A finding from the columns `COLUMNS` (from `at`).
fn finding(row: &postgres::Row) -> Finding {
    Finding {
        audit: row.get(0),
        finding_id: row.get(1),
        status: status_of(row.get::<_, String>(2)),
        severity: row.get(3),
        record_type: row.get(4),
        reference: row.get(5),
        cloud_type: row.get(6),
        description: row.get(7),
        first_seen: row.get(8),
        last_seen: row.get(9),
        resolved_at: row.get(10),
        occurrences: row.get::<_, i64>(11).max(0) as u64,
        muted: row.get(12),
    }
}

const COLUMNS: &str = "audit, finding_id, status, severity, record_type, reference, cloud_type,
    description, first_seen, last_seen, resolved_at, occurrences, muted";

impl Backend for Postgres {
    fn all(&mut self) -> Result<Vec<Finding>, String> {
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM findings ORDER BY last_seen DESC, audit, finding_id"
                ),
                &[],
            )
            .map_err(|e| self.fail(&e))?;
        Ok(rows.iter().map(finding).collect())
    }

    fn history(&mut self, id: &str) -> Result<Vec<(Finding, Vec<Transition>)>, String> {
        let rows = self
            .client
            .query(
                &format!("SELECT {COLUMNS} FROM findings WHERE finding_id = $1 ORDER BY audit"),
                &[&id],
            )
            .map_err(|e| self.fail(&e))?;
        let mut out = Vec::new();
        for finding in rows.iter().map(finding) {
            let transitions = self
                .client
                .query(
                    "SELECT audit_version, at, status FROM transitions
                     WHERE audit = $1 AND finding_id = $2 ORDER BY at, seq",
                    &[&finding.audit, &finding.finding_id],
                )
                .map_err(|e| self.fail(&e))?
                .iter()
                .map(|row| Transition {
                    audit_version: row.get(0),
                    at: row.get(1),
                    status: status_of(row.get::<_, String>(2)),
                })
                .collect();
            out.push((finding, transitions));
        }
        Ok(out)
    }

    fn check_summaries(
        &mut self,
        audit: Option<&str>,
    ) -> Result<Vec<(String, CheckSummary, String)>, String> {
        let rows = self
            .client
            .query(
                "SELECT audit, check_name, scope, plugin, evaluated, failed, at
                 FROM check_summaries WHERE $1::text IS NULL OR audit = $1
                 ORDER BY audit, check_name, scope",
                &[&audit],
            )
            .map_err(|e| self.fail(&e))?;
        Ok(rows
            .iter()
            .map(|row| {
                (
                    row.get(0),
                    CheckSummary {
                        check: row.get(1),
                        scope: row.get(2),
                        plugin: row.get(3),
                        evaluated: row.get::<_, i64>(4).max(0) as u64,
                        failed: row.get::<_, i64>(5).max(0) as u64,
                    },
                    row.get(6),
                )
            })
            .collect())
    }

    fn collection_summaries(
        &mut self,
        audit: Option<&str>,
    ) -> Result<Vec<(String, CollectionSummary, String)>, String> {
        let rows = self
            .client
            .query(
                "SELECT audit, scope, cloud_type, plugin, complete, failed, at
                 FROM collection_summaries WHERE $1::text IS NULL OR audit = $1
                 ORDER BY audit, scope",
                &[&audit],
            )
            .map_err(|e| self.fail(&e))?;
        Ok(rows
            .iter()
            .map(|row| {
                let failed: String = row.get(5);
                (
                    row.get(0),
                    CollectionSummary {
                        scope: row.get(1),
                        cloud_type: row.get(2),
                        plugin: row.get(3),
                        complete: row.get(4),
                        failed: serde_json::from_str(&failed).unwrap_or_default(),
                    },
                    row.get(6),
                )
            })
            .collect())
    }

    fn open_findings_by_check(&mut self, audit: Option<&str>) -> Result<Vec<OpenFindings>, String> {
        // The check is read from each event here (PostgreSQL 15 has no
        // test for valid JSON that a query could use).
        let rows = self
            .client
            .query(
                "SELECT audit, record_type, cloud_type, event FROM findings
                 WHERE status IN ('new', 'open', 'regressed') AND ($1::text IS NULL OR audit = $1)",
                &[&audit],
            )
            .map_err(|e| self.fail(&e))?;
        let mut counts: BTreeMap<(String, String, Option<String>), u64> = BTreeMap::new();
        for row in &rows {
            let event: String = row.get(3);
            let record_type: Option<String> = row.get(1);
            let check = super::check_of(&event).or(record_type).unwrap_or_default();
            *counts.entry((row.get(0), check, row.get(2))).or_default() += 1;
        }
        Ok(counts
            .into_iter()
            .map(|((audit, check, cloud_type), count)| OpenFindings {
                audit,
                check,
                cloud_type,
                count,
            })
            .collect())
    }

    fn known_many(&mut self, audit: &str, ids: &[&str]) -> Result<HashMap<String, Known>, String> {
        let mut found = HashMap::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(found);
        }
        let rows = self
            .client
            .query(
                "SELECT finding_id, status, first_seen, last_seen, occurrences, muted
                 FROM findings WHERE audit = $1 AND finding_id = ANY($2)",
                &[&audit, &ids],
            )
            .map_err(|e| self.fail(&e))?;
        for row in &rows {
            found.insert(
                row.get(0),
                Known {
                    status: status_of(row.get::<_, String>(1)),
                    first_seen: row.get(2),
                    last_seen: row.get(3),
                    occurrences: row.get::<_, i64>(4).max(0) as u64,
                    muted: row.get(5),
                },
            );
        }
        Ok(found)
    }

    fn begin_run(&mut self) -> Result<(), String> {
        self.seen.clear();
        self.resolved.clear();
        self.client
            .batch_execute(
                "CREATE TEMP TABLE IF NOT EXISTS run_seen (
                     seq BIGINT GENERATED ALWAYS AS IDENTITY,
                     finding_id TEXT NOT NULL, severity TEXT, record_type TEXT,
                     reference TEXT, cloud_type TEXT, description TEXT,
                     muted BOOLEAN NOT NULL, event TEXT NOT NULL);
                 CREATE INDEX IF NOT EXISTS run_seen_by_id ON run_seen (finding_id);
                 CREATE TEMP TABLE IF NOT EXISTS run_resolved (finding_id TEXT PRIMARY KEY);
                 TRUNCATE run_seen, run_resolved;",
            )
            .map_err(|e| self.fail(&e))
    }

    fn note_seen(&mut self, finding: &Seen) -> Result<(), String> {
        self.seen.push(finding.clone());
        if self.seen.len() >= BATCH {
            self.send()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        self.send()
    }

    fn unseen_active(
        &mut self,
        audit: &str,
        each: &mut dyn FnMut(&str, &str),
    ) -> Result<(), String> {
        self.send()?;
        let rows = self
            .client
            .query(
                "SELECT finding_id, event FROM findings f
                 WHERE audit = $1 AND status <> 'resolved'
                   AND NOT EXISTS (SELECT 1 FROM run_seen s WHERE s.finding_id = f.finding_id)
                 ORDER BY record_type NULLS FIRST, reference NULLS FIRST,
                          description NULLS FIRST, finding_id",
                &[&audit],
            )
            .map_err(|e| self.fail(&e))?;
        for row in &rows {
            each(row.get(0), row.get(1));
        }
        Ok(())
    }

    fn note_resolved(&mut self, finding_id: &str) -> Result<(), String> {
        self.resolved.push(finding_id.to_string());
        Ok(())
    }

    fn commit_run(
        &mut self,
        audit: &str,
        audit_version: &str,
        now: &str,
        check_summaries: &[CheckSummary],
        collection_summaries: &[CollectionSummary],
    ) -> Result<(), String> {
        self.send()?;
        let shown = self.shown.clone();
        let fail = |e: postgres::Error| format!("findings database {shown}: {}", said(&e));
        let mut tx = self.client.transaction().map_err(fail)?;
        // The shards of one audit commit one after another.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('cloudmarker findings ' || $1))",
            &[&audit],
        )
        .map_err(fail)?;
        tx.execute(
            "INSERT INTO transitions (audit, finding_id, audit_version, at, status)
             SELECT $1, s.finding_id, $2, $3,
                    CASE WHEN f.status IS NULL THEN 'new'
                         WHEN f.status = 'resolved' THEN 'regressed' ELSE 'open' END
             FROM (SELECT DISTINCT finding_id FROM run_seen) s
             LEFT JOIN findings f ON f.audit = $1 AND f.finding_id = s.finding_id
             WHERE f.status IS NULL OR f.status IN ('new', 'regressed', 'resolved')
             ORDER BY s.finding_id",
            &[&audit, &audit_version, &now],
        )
        .map_err(fail)?;
        tx.execute(
            "INSERT INTO findings (audit, finding_id, status, severity, record_type, reference,
                 cloud_type, description, first_seen, last_seen, resolved_at, occurrences,
                 muted, event)
             SELECT $1, finding_id, 'new', severity, record_type, reference, cloud_type,
                    description, $2, $2, NULL, 1, muted, event
             FROM (SELECT DISTINCT ON (finding_id) * FROM run_seen ORDER BY finding_id, seq) s
             ON CONFLICT (audit, finding_id) DO UPDATE SET
                 status = CASE WHEN findings.status = 'resolved' THEN 'regressed' ELSE 'open' END,
                 severity = excluded.severity, record_type = excluded.record_type,
                 reference = excluded.reference, cloud_type = excluded.cloud_type,
                 description = excluded.description, last_seen = excluded.last_seen,
                 resolved_at = NULL, occurrences = findings.occurrences + 1,
                 muted = excluded.muted, event = excluded.event",
            &[&audit, &now],
        )
        .map_err(fail)?;
        tx.execute(
            "INSERT INTO transitions (audit, finding_id, audit_version, at, status)
             SELECT $1, f.finding_id, $2, $3, 'resolved' FROM findings f
             WHERE f.audit = $1 AND f.status <> 'resolved'
               AND f.finding_id IN (SELECT finding_id FROM run_resolved)
               AND f.finding_id NOT IN (SELECT finding_id FROM run_seen)
             ORDER BY f.finding_id",
            &[&audit, &audit_version, &now],
        )
        .map_err(fail)?;
        tx.execute(
            "UPDATE findings SET status = 'resolved', resolved_at = $2
             WHERE audit = $1 AND status <> 'resolved'
               AND finding_id IN (SELECT finding_id FROM run_resolved)
               AND finding_id NOT IN (SELECT finding_id FROM run_seen)",
            &[&audit, &now],
        )
        .map_err(fail)?;
        for summary in check_summaries {
            tx.execute(
                "INSERT INTO check_summaries (audit, check_name, scope, plugin, evaluated,
                     failed, audit_version, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (audit, check_name, scope) DO UPDATE SET
                     plugin = excluded.plugin, evaluated = excluded.evaluated,
                     failed = excluded.failed, audit_version = excluded.audit_version,
                     at = excluded.at",
                &[
                    &audit,
                    &summary.check,
                    &summary.scope,
                    &summary.plugin,
                    &(summary.evaluated.min(i64::MAX as u64) as i64),
                    &(summary.failed.min(i64::MAX as u64) as i64),
                    &audit_version,
                    &now,
                ],
            )
            .map_err(fail)?;
        }
        for summary in collection_summaries {
            let failed = serde_json::to_string(&summary.failed).map_err(|e| e.to_string())?;
            tx.execute(
                "INSERT INTO collection_summaries (audit, scope, cloud_type, plugin, complete,
                     failed, audit_version, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (audit, scope) DO UPDATE SET
                     cloud_type = excluded.cloud_type, plugin = excluded.plugin,
                     complete = excluded.complete, failed = excluded.failed,
                     audit_version = excluded.audit_version, at = excluded.at",
                &[
                    &audit,
                    &summary.scope,
                    &summary.cloud_type,
                    &summary.plugin,
                    &summary.complete,
                    &failed,
                    &audit_version,
                    &now,
                ],
            )
            .map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }

    fn append_run(&mut self, started: &str, record: &str) -> Result<(), String> {
        self.client
            .execute(
                "INSERT INTO runs (started, record) VALUES ($1, $2)",
                &[&started, &record],
            )
            .map(|_| ())
            .map_err(|e| self.fail(&e))
    }

    fn recent_runs(&mut self, limit: usize) -> Result<Vec<String>, String> {
        let limit = limit.min(i64::MAX as usize) as i64;
        let rows = self
            .client
            .query(
                "SELECT record FROM (SELECT seq, started, record FROM runs
                     ORDER BY started DESC, seq DESC LIMIT $1) r ORDER BY started, seq",
                &[&limit],
            )
            .map_err(|e| self.fail(&e))?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    fn export(&mut self, each: &mut dyn FnMut(Line) -> Result<(), String>) -> Result<(), String> {
        let shown = self.shown.clone();
        let fail = |e: postgres::Error| format!("findings database {shown}: {}", said(&e));
        // One snapshot of the whole state.
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(fail)?;
        for row in tx
            .query(
                &format!("SELECT {COLUMNS}, event FROM findings ORDER BY audit, finding_id"),
                &[],
            )
            .map_err(fail)?
        {
            let f = finding(&row);
            each(Line::Finding(FindingRow {
                audit: f.audit,
                finding_id: f.finding_id,
                status: row.get(2),
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
                event: row.get(13),
            }))?;
        }
        for row in tx
            .query(
                "SELECT audit, finding_id, audit_version, at, status FROM transitions ORDER BY seq",
                &[],
            )
            .map_err(fail)?
        {
            each(Line::Transition {
                audit: row.get(0),
                finding_id: row.get(1),
                audit_version: row.get(2),
                at: row.get(3),
                status: row.get(4),
            })?;
        }
        for row in tx
            .query(
                "SELECT audit, check_name, scope, plugin, evaluated, failed, audit_version, at
                 FROM check_summaries ORDER BY audit, check_name, scope",
                &[],
            )
            .map_err(fail)?
        {
            each(Line::CheckSummary {
                audit: row.get(0),
                check: row.get(1),
                scope: row.get(2),
                plugin: row.get(3),
                evaluated: row.get::<_, i64>(4).max(0) as u64,
                failed: row.get::<_, i64>(5).max(0) as u64,
                audit_version: row.get(6),
                at: row.get(7),
            })?;
        }
        for row in tx
            .query(
                "SELECT audit, scope, cloud_type, plugin, complete, failed, audit_version, at
                 FROM collection_summaries ORDER BY audit, scope",
                &[],
            )
            .map_err(fail)?
        {
            let failed: String = row.get(5);
            each(Line::CollectionSummary {
                audit: row.get(0),
                scope: row.get(1),
                cloud_type: row.get(2),
                plugin: row.get(3),
                complete: row.get(4),
                failed: serde_json::from_str(&failed).unwrap_or_default(),
                audit_version: row.get(6),
                at: row.get(7),
            })?;
        }
        for row in tx
            .query("SELECT started, record FROM runs ORDER BY seq", &[])
            .map_err(fail)?
        {
            let record: String = row.get(1);
            each(Line::Run {
                started: row.get(0),
                record: serde_json::from_str(&record).unwrap_or(serde_json::Value::String(record)),
            })?;
        }
        tx.commit().map_err(fail)
    }

    fn import(&mut self, lines: &[Line]) -> Result<Counts, String> {
        let shown = self.shown.clone();
        let fail = |e: postgres::Error| format!("findings database {shown}: {}", said(&e));
        let mut tx = self.client.transaction().map_err(fail)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('cloudmarker schema'))",
            &[],
        )
        .map_err(fail)?;
        let held: i64 = tx
            .query_one(
                "SELECT (SELECT count(*) FROM findings) + (SELECT count(*) FROM runs)",
                &[],
            )
            .map_err(fail)?
            .get(0);
        if held > 0 {
            return Err(
                "the state already holds findings or runs: import into an empty state".into(),
            );
        }
        let big = |n: u64| n.min(i64::MAX as u64) as i64;
        let mut counts = Counts::default();
        for line in lines {
            match line {
                Line::State { .. } => continue,
                Line::Finding(f) => tx.execute(
                    "INSERT INTO findings (audit, finding_id, status, severity, record_type,
                         reference, cloud_type, description, first_seen, last_seen, resolved_at,
                         occurrences, muted, event)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    &[
                        &f.audit,
                        &f.finding_id,
                        &f.status,
                        &f.severity,
                        &f.record_type,
                        &f.reference,
                        &f.cloud_type,
                        &f.description,
                        &f.first_seen,
                        &f.last_seen,
                        &f.resolved_at,
                        &big(f.occurrences),
                        &f.muted,
                        &f.event,
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
                     VALUES ($1, $2, $3, $4, $5)",
                    &[audit, finding_id, audit_version, at, status],
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
                    "INSERT INTO check_summaries (audit, check_name, scope, plugin, evaluated,
                         failed, audit_version, at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (audit, check_name, scope) DO UPDATE SET
                         plugin = excluded.plugin, evaluated = excluded.evaluated,
                         failed = excluded.failed, audit_version = excluded.audit_version,
                         at = excluded.at",
                    &[
                        audit,
                        check,
                        scope,
                        plugin,
                        &big(*evaluated),
                        &big(*failed),
                        audit_version,
                        at,
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
                    "INSERT INTO collection_summaries (audit, scope, cloud_type, plugin, complete,
                         failed, audit_version, at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (audit, scope) DO UPDATE SET
                         cloud_type = excluded.cloud_type, plugin = excluded.plugin,
                         complete = excluded.complete, failed = excluded.failed,
                         audit_version = excluded.audit_version, at = excluded.at",
                    &[
                        audit,
                        scope,
                        cloud_type,
                        plugin,
                        complete,
                        &failed.to_string(),
                        audit_version,
                        at,
                    ],
                ),
                Line::Run { started, record } => tx.execute(
                    "INSERT INTO runs (started, record) VALUES ($1, $2)",
                    &[started, &record.to_string()],
                ),
            }
            .map_err(fail)?;
            counts.add(line);
        }
        tx.commit().map_err(fail)?;
        Ok(counts)
    }
}
