//! `cloudmarker state export` / `state import`: the whole findings state as
//! JSON Lines (one object per line, `kind` first), the same for both
//! backends: to move from SQLite to PostgreSQL and back, and to back up.
//!
//! The first line is the header (`{"kind":"state","format":1}`); then every
//! finding (with its last event), every transition, the latest check and
//! collection summaries, and the run history.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The format of the export's lines.
pub const FORMAT: u32 = 1;

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    /// The header: what the file is.
    State {
        /// [`FORMAT`].
        format: u32,
    },
    /// One finding as the state keeps it.
    Finding(FindingRow),
    /// One change of a finding's status.
    Transition {
        audit: String,
        finding_id: String,
        audit_version: String,
        at: String,
        status: String,
    },
    /// The latest summary of one check in one scope.
    CheckSummary {
        audit: String,
        check: String,
        scope: String,
        plugin: Option<String>,
        evaluated: u64,
        failed: u64,
        audit_version: String,
        at: String,
    },
    /// The latest summary of what a run read of one scope.
    CollectionSummary {
        audit: String,
        scope: String,
        cloud_type: Option<String>,
        plugin: Option<String>,
        complete: bool,
        /// Record type -> why it could not be read.
        failed: Value,
        audit_version: String,
        at: String,
    },
    /// One run of the history.
    Run {
        started: String,
        /// The run's record, as `cloudmarker history` reads it.
        record: Value,
    },
}

/// Every column of a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRow {
    pub audit: String,
    pub finding_id: String,
    pub status: String,
    pub severity: Option<String>,
    pub record_type: Option<String>,
    pub reference: Option<String>,
    pub cloud_type: Option<String>,
    pub description: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub resolved_at: Option<String>,
    pub occurrences: u64,
    pub muted: bool,
    /// The finding's last event (JSON text).
    pub event: String,
}

/// How many lines of each kind an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub findings: u64,
    pub transitions: u64,
    pub summaries: u64,
    pub runs: u64,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} finding(s), {} transition(s), {} summary(ies), {} run(s)",
            self.findings, self.transitions, self.summaries, self.runs
        )
    }
}

impl Counts {
    /// Counts `line`.
    pub fn add(&mut self, line: &Line) {
        match line {
            Line::State { .. } => {}
            Line::Finding(_) => self.findings += 1,
            Line::Transition { .. } => self.transitions += 1,
            Line::CheckSummary { .. } | Line::CollectionSummary { .. } => self.summaries += 1,
            Line::Run { .. } => self.runs += 1,
        }
    }
}

/// Reads an export: the lines after the header, or why not (naming the
/// line).
pub fn read(text: impl std::io::BufRead) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    let mut header = false;
    for (number, line) in text.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", number + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line)
            .map_err(|e| format!("line {}: not a line of a state export: {e}", number + 1))?;
        match parsed {
            Line::State { format } if !header => {
                if format != FORMAT {
                    return Err(format!(
                        "line {}: export format {format}, this cloudmarker reads format {FORMAT}",
                        number + 1
                    ));
                }
                header = true;
            }
            _ if !header => {
                return Err(
                    "not a state export: its first line is not {\"kind\":\"state\",...}".into(),
                )
            }
            Line::State { .. } => return Err(format!("line {}: a second header", number + 1)),
            other => lines.push(other),
        }
    }
    if !header {
        return Err("empty: not a state export".into());
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_a_file_without_header_is_refused() {
        let run = Line::Run {
            started: "2026-12-07T00:00:00.000Z".into(),
            record: serde_json::json!({"audit_version": "v"}),
        };
        let text = format!(
            "{}\n{}\n",
            serde_json::to_string(&Line::State { format: FORMAT }).unwrap(),
            serde_json::to_string(&run).unwrap()
        );
        assert!(text.starts_with("{\"kind\":\"state\""), "{text}");
        assert_eq!(read(text.as_bytes()).unwrap(), std::slice::from_ref(&run));
        let headless = serde_json::to_string(&run).unwrap();
        assert!(read(headless.as_bytes())
            .unwrap_err()
            .contains("first line"));
        assert!(read("".as_bytes()).unwrap_err().contains("empty"));
        assert!(read("{\"kind\":\"state\",\"format\":9}".as_bytes())
            .unwrap_err()
            .contains("format 9"));
    }
}
