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

use super::sql::{self, Dialect, EachRow, Param, MIGRATIONS};
use super::state::{Backend, Known, OpenError, OpenFindings, RunEnd, Seen};
use super::transfer::{Counts, Line};
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

pub use super::sql::LATEST;

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
            tx.batch_execute(&Dialect::Postgres.sql(step))
                .map_err(|e| said(&e))?;
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

impl Backend for Postgres {
    fn query(&mut self, sql: &str, values: &[Param<'_>], each: EachRow<'_>) -> Result<(), String> {
        let rows = self
            .client
            .query(&Dialect::Postgres.sql(sql), &pg_values(values))
            .map_err(|e| self.fail(&e))?;
        rows.iter().try_for_each(|row| each(row))
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
        let query = format!(
            "SELECT {} FROM findings WHERE audit = $1 AND finding_id = ANY($2)",
            sql::KNOWN_COLUMNS
        );
        let rows = self
            .client
            .query(&query, &[&audit, &ids])
            .map_err(|e| self.fail(&e))?;
        for row in &rows {
            let (id, known) = sql::known(row)?;
            found.insert(id, known);
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

    fn commit_run(&mut self, end: &RunEnd<'_>) -> Result<(), String> {
        self.send()?;
        let shown = self.shown.clone();
        let fail = |e: postgres::Error| format!("findings database {shown}: {}", said(&e));
        let mut tx = self.client.transaction().map_err(fail)?;
        // The shards of one audit commit one after another.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('cloudmarker findings ' || $1))",
            &[&end.audit],
        )
        .map_err(fail)?;
        for (statement, values) in sql::run_end(end) {
            execute(&mut tx, statement, &values).map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }

    fn append_run(&mut self, started: &str, record: &str) -> Result<(), String> {
        self.client
            .execute(
                &Dialect::Postgres.sql(sql::INSERT_RUN),
                &[&started, &record],
            )
            .map(|_| ())
            .map_err(|e| self.fail(&e))
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
        for (query, read) in sql::EXPORT {
            for row in tx.query(&Dialect::Postgres.sql(query), &[]).map_err(fail)? {
                each(read(&row)?)?;
            }
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
        let held: i64 = tx.query_one(sql::HELD, &[]).map_err(fail)?.get(0);
        if held > 0 {
            return Err(sql::NOT_EMPTY.into());
        }
        let mut counts = Counts::default();
        for line in lines {
            if let Some((statement, values)) = sql::import(line) {
                execute(&mut tx, statement, &values).map_err(fail)?;
                counts.add(line);
            }
        }
        tx.commit().map_err(fail)?;
        Ok(counts)
    }
}

/// Runs `statement` (written for both databases) with `values`.
fn execute(
    tx: &mut postgres::Transaction<'_>,
    statement: &str,
    values: &[Param<'_>],
) -> Result<(), postgres::Error> {
    tx.execute(&Dialect::Postgres.sql(statement), &pg_values(values))
        .map(|_| ())
}

/// `values` as the client takes them.
fn pg_values<'a>(values: &'a [Param<'a>]) -> Vec<&'a (dyn postgres::types::ToSql + Sync)> {
    values
        .iter()
        .map(|value| -> &(dyn postgres::types::ToSql + Sync) {
            match value {
                Param::Text(text) => text,
                Param::Int(number) => number,
                Param::Flag(flag) => flag,
            }
        })
        .collect()
}

sql::columns_through!(postgres::Row, try_get);
