//! `cloudmarker findings`: the findings database for people and scripts.

use super::state::{Finding, State, Transition};
use super::Status;
use crate::cli::FindingsFormat;
use cloudmarker_plugin_api::sdk::check::Severity;
use std::fmt::Write as _;

/// The findings in `statuses` and `severities` (all when empty), newest
/// first, printed as `format`.
pub fn render(
    state: &mut State,
    statuses: &[Status],
    severities: &[Severity],
    format: FindingsFormat,
) -> Result<String, String> {
    let findings: Vec<Finding> = state
        .all()?
        .into_iter()
        .filter(|f| statuses.is_empty() || statuses.contains(&f.status))
        .filter(|f| {
            severities.is_empty()
                || severities
                    .iter()
                    .any(|s| f.severity.as_deref() == Some(s.name()))
        })
        .collect();
    Ok(match format {
        FindingsFormat::Json => {
            serde_json::to_string_pretty(&findings).map_err(|e| e.to_string())? + "\n"
        }
        FindingsFormat::Csv => csv(&findings),
        FindingsFormat::Table if findings.is_empty() => "No findings.\n".to_string(),
        FindingsFormat::Table => table(&findings),
    })
}

const COLUMNS: [&str; 9] = [
    "finding_id",
    "status",
    "severity",
    "audit",
    "record_type",
    "reference",
    "first_seen",
    "last_seen",
    "occurrences",
];

fn cells(f: &Finding) -> [String; 9] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        f.finding_id.clone(),
        f.status.to_string(),
        text(&f.severity),
        f.audit.clone(),
        text(&f.record_type),
        text(&f.reference),
        f.first_seen.clone(),
        f.last_seen.clone(),
        f.occurrences.to_string(),
    ]
}

fn table(findings: &[Finding]) -> String {
    let rows: Vec<[String; 9]> = findings.iter().map(cells).collect();
    crate::table::render(COLUMNS, &rows, "", 8)
}

/// RFC 4180: fields with a comma, quote or line break are quoted, quotes
/// doubled.
fn csv(findings: &[Finding]) -> String {
    let field = |text: &str| {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    };
    let mut out = COLUMNS.join(",") + "\r\n";
    for finding in findings {
        let row: Vec<String> = cells(finding).iter().map(|c| field(c)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One finding's history (of each audit that raised it).
pub fn show(state: &mut State, id: &str) -> Result<Option<String>, String> {
    let history = state.history(id)?;
    if history.is_empty() {
        return Ok(None);
    }
    let mut out = String::new();
    for (finding, transitions) in history {
        let _ = writeln!(
            out,
            "Finding {} of audit {}",
            finding.finding_id, finding.audit
        );
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        for (label, value) in [
            ("status", finding.status.to_string()),
            ("severity", text(&finding.severity)),
            ("type", text(&finding.record_type)),
            ("resource", text(&finding.reference)),
            ("cloud", text(&finding.cloud_type)),
            ("description", text(&finding.description)),
            ("first seen", finding.first_seen.clone()),
            ("last seen", finding.last_seen.clone()),
            ("resolved", text(&finding.resolved_at)),
            ("occurrences", finding.occurrences.to_string()),
        ] {
            let _ = writeln!(out, "  {label:<12} {value}");
        }
        let rows: Vec<[String; 3]> = transitions
            .iter()
            .map(|t: &Transition| [t.at.clone(), t.audit_version.clone(), t.status.to_string()])
            .collect();
        out.push('\n');
        out.push_str(&crate::table::render(
            ["at", "audit_version", "status"],
            &rows,
            "  ",
            3,
        ));
        out.push('\n');
    }
    Ok(Some(out))
}
