//! Findings, not just events: every event is a finding with a lifecycle
//! across runs, kept in an embedded database (SQLite).
//!
//! - [`state`]: the database: each finding's status, first and last seen,
//!   occurrences and history; a run's changes commit at its end in one
//!   transaction, or not at all.
//! - [`tracker`]: one audit run's view: stamps each event with its status
//!   (`new`, `open`, `regressed`), and at the end resolves what the run did
//!   not see again, when the audit's collection was complete.
//! - [`mutes`]: the `mutes:` list.
//!
//! The audit's relay (`audit::relay`) runs a tracker between its event
//! plugins and its alert plugins: each alert gets the events its `notify`
//! asks for.

pub mod list;
pub mod mutes;
pub mod postgres;
pub mod scopes;
pub mod sql;
pub mod sqlite;
pub mod state;
pub mod tracker;
pub mod transfer;

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a finding is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Never seen before.
    New,
    /// Seen in the previous run too.
    Open,
    /// Resolved earlier, back now.
    Regressed,
    /// Gone in a run whose collection was complete.
    Resolved,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 4] = [Self::New, Self::Open, Self::Regressed, Self::Resolved];

    /// Its name in records, configs and the database.
    pub fn name(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Open => "open",
            Self::Regressed => "regressed",
            Self::Resolved => "resolved",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether a finding in this status is still a problem.
    pub fn is_active(self) -> bool {
        self != Self::Resolved
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which findings an alert plugin receives (`notify:` on its entry).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Notify {
    /// `notify: all`: every event, whatever its status.
    All(AllKeyword),
    /// `notify: [new, regressed, resolved]`: events in these statuses.
    Statuses(Vec<Status>),
}

/// The word `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllKeyword {
    /// `all`.
    All,
}

impl Notify {
    /// What changed: new, regressed and resolved findings (the default of
    /// alert plugins that notify people).
    pub fn changes() -> Self {
        Self::Statuses(vec![Status::New, Status::Regressed, Status::Resolved])
    }

    /// Whether an event in `status` goes out.
    pub fn accepts(&self, status: Status) -> bool {
        match self {
            Self::All(_) => true,
            Self::Statuses(statuses) => statuses.contains(&status),
        }
    }
}

/// The `state:` mapping.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// The SQLite findings database (default: `findings.db` in the user's
    /// state directory).
    #[serde(default)]
    pub path: Option<String>,
    /// A PostgreSQL state instead: `postgres://user:${PGPASSWORD}@host/db?sslmode=verify-full`.
    #[serde(default)]
    pub url: Option<String>,
    /// The CA certificates (PEM) the PostgreSQL server's certificate must
    /// chain to.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// `false`: keep no findings (no database; every alert plugin gets
    /// every event without a status, as the original did).
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl StateConfig {
    /// Whether findings are kept across runs (the default).
    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    /// The SQLite database file (none for a PostgreSQL state).
    pub fn path(&self) -> Option<std::path::PathBuf> {
        if self.url.is_some() {
            return None;
        }
        match &self.path {
            Some(path) => Some(cloudmarker_plugin_api::sdk::files::expand_tilde(path)),
            None => crate::dirs::state_dir().map(|d| d.join("findings.db")),
        }
    }

    /// The state as messages name it (a URL without its password).
    pub fn describe(&self) -> String {
        match (&self.url, self.path()) {
            (Some(url), _) => redacted_url(url),
            (None, Some(path)) => path.display().to_string(),
            (None, None) => "(no state directory)".into(),
        }
    }

    /// Whether a state may exist yet: a PostgreSQL state always; a SQLite
    /// file when something (even a link, which opening refuses) is there.
    pub fn may_exist(&self) -> bool {
        self.url.is_some() || self.path().is_some_and(|p| p.symlink_metadata().is_ok())
    }

    /// Opens the state: the PostgreSQL one when `url` is given, else the
    /// SQLite file.
    pub fn open(&self) -> Result<state::State, state::OpenError> {
        match (&self.url, &self.path) {
            (Some(_), Some(_)) => Err(state::OpenError::config(
                "state: give either url (PostgreSQL) or path (SQLite), not both",
            )),
            (Some(url), None) => state::State::connect(&postgres::Target {
                url: url.clone(),
                ca_file: self
                    .ca_file
                    .as_deref()
                    .map(cloudmarker_plugin_api::sdk::files::expand_tilde),
            }),
            (None, _) => match self.path() {
                Some(path) => state::State::open(&path),
                None => Err(state::OpenError::config(
                    "no findings database: set state: {path: ...} (HOME is not set)",
                )),
            },
        }
    }
}

/// `url` without its password or options (`postgres://user@host/db`).
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".into();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let tail = tail.split('?').next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

/// `com.check` of an event's JSON text, if it names one.
pub fn check_of(event: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Event {
        #[serde(default)]
        com: Option<Com>,
    }
    #[derive(Deserialize)]
    struct Com {
        #[serde(default)]
        check: Option<String>,
    }
    serde_json::from_str::<Event>(event).ok()?.com?.check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_url_is_shown_without_its_password() {
        for (url, shown) in [
            (
                "postgres://cm:s3cr:et@db.example.net:5433/estate?sslmode=verify-full",
                "postgres://cm@db.example.net:5433/estate",
            ),
            ("postgresql://db/x", "postgresql://db/x"),
            ("postgres://u:p@h", "postgres://u@h"),
            ("nonsense", "(not a URL)"),
        ] {
            assert_eq!(redacted_url(url), shown, "{url}");
        }
        let config = StateConfig {
            url: Some("postgres://u:pw@h/d".into()),
            ..StateConfig::default()
        };
        assert_eq!(config.path(), None, "no SQLite file with a URL");
        assert_eq!(config.describe(), "postgres://u@h/d");
        let both = StateConfig {
            path: Some("/x.db".into()),
            ..config
        };
        let refused = both.open().err().expect("url and path refused");
        assert!(
            refused.config && refused.message.contains("not both"),
            "{refused}"
        );
    }
}
