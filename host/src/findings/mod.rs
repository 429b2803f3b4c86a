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
pub mod scopes;
pub mod sqlite;
pub mod state;
pub mod tracker;

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
    /// The findings database (default: `findings.db` in the user's state
    /// directory).
    #[serde(default)]
    pub path: Option<String>,
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

    /// The database file.
    pub fn path(&self) -> Option<std::path::PathBuf> {
        match &self.path {
            Some(path) => Some(cloudmarker_plugin_api::sdk::files::expand_tilde(path)),
            None => crate::dirs::state_dir().map(|d| d.join("findings.db")),
        }
    }
}
