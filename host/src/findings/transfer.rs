//! `cloudmarker state export` / `state import`: the whole findings state as
//! JSON Lines (one object per line, `kind` first), the same for both
//! backends: to move from SQLite to PostgreSQL and back, and to back up.
//!
//! The first line is the header (`{"kind":"state","format":1}`); then every
//! finding (with its last event), every transition, the latest check and
//! collection summaries, and the run history.

use super::state::{CheckSummary, CollectionSummary, Finding, Transition};
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
    Transition(TransitionRow),
    /// The latest summary of one check in one scope.
    CheckSummary(CheckSummaryRow),
    /// The latest summary of what a run read of one scope.
    CollectionSummary(CollectionSummaryRow),
    /// One run of the history.
    Run(RunRow),
}

/// A finding as the state keeps it: its columns and its last event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRow {
    /// Every column but the event.
    #[serde(flatten)]
    pub finding: Finding,
    /// The finding's last event (JSON text).
    pub event: String,
}

/// One change of one finding's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionRow {
    /// The audit that raised the finding.
    pub audit: String,
    /// The finding.
    pub finding_id: String,
    /// The change.
    #[serde(flatten)]
    pub transition: Transition,
}

/// The latest summary (of a check in a scope, or of what a run read of a
/// scope) of one audit, as the state keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow<S> {
    /// The audit.
    pub audit: String,
    /// The summary.
    #[serde(flatten)]
    pub summary: S,
    /// The run that wrote it (its audit version).
    pub audit_version: String,
    /// When (RFC 3339).
    pub at: String,
}

/// The latest summary of one check in one scope of one audit.
pub type CheckSummaryRow = SummaryRow<CheckSummary>;

/// The latest summary of what a run of one audit read of one scope.
pub type CollectionSummaryRow = SummaryRow<CollectionSummary>;

/// One run of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// When it started (RFC 3339).
    pub started: String,
    /// The run's record, as `cloudmarker history` reads it.
    pub record: Value,
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
            Line::Transition(_) => self.transitions += 1,
            Line::CheckSummary(_) | Line::CollectionSummary(_) => self.summaries += 1,
            Line::Run(_) => self.runs += 1,
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
        let run = Line::Run(RunRow {
            started: "2026-12-07T00:00:00.000Z".into(),
            record: serde_json::json!({"audit_version": "v"}),
        });
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

    #[test]
    fn the_rows_keep_the_format_1_keys_in_their_order() {
        let text = concat!(
            r#"{"kind":"finding","audit":"a","finding_id":"f","status":"resolved","severity":"high","#,
            r#""record_type":"t","reference":"r","cloud_type":"aws","description":"d","#,
            r#""first_seen":"t1","last_seen":"t2","resolved_at":"t3","occurrences":2,"muted":false,"event":"{}"}"#,
            "\n",
            r#"{"kind":"transition","audit":"a","finding_id":"f","audit_version":"v","at":"t3","status":"resolved"}"#,
            "\n",
            r#"{"kind":"check_summary","audit":"a","check":"c","scope":"s","plugin":null,"evaluated":3,"failed":1,"audit_version":"v","at":"t3"}"#,
            "\n",
            r#"{"kind":"collection_summary","audit":"a","scope":"s","cloud_type":"aws","plugin":"p","complete":false,"failed":{"vm":"403"},"audit_version":"v","at":"t3"}"#,
            "\n",
            r#"{"kind":"run","started":"t0","record":{"audit_version":"v"}}"#,
        );
        for line in text.lines() {
            let parsed: Line = serde_json::from_str(line).unwrap();
            assert_eq!(serde_json::to_string(&parsed).unwrap(), line);
        }
        let unknown = text
            .lines()
            .next()
            .unwrap()
            .replace("resolved\",\"sev", "gone\",\"sev");
        assert!(serde_json::from_str::<Line>(&unknown).is_err());
    }
}
