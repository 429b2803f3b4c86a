//! The formats filestore writes besides the original's JSON array: OCSF
//! Detection Findings (JSON Lines) and CSV.

use cloudmarker_plugin_api::sdk::ocsf;
use cloudmarker_plugin_api::sdk::schema::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub enum Format {
    /// One JSON array per file.
    Json,
    /// OCSF 1.x Detection Findings, one per line.
    Ocsf,
    /// CSV with a header row.
    Csv,
}

/// The `com` fields a CSV row has, in order: the file format's header,
/// spelt out as its columns (the `record_type`, `cloud_type` and
/// `reference` literals are the header's names, not a record producer's).
pub const CSV_COLUMNS: [&str; 16] = [
    "record_type",
    "cloud_type",
    "reference",
    "finding_id",
    "status",
    "severity",
    "description",
    "recommendation",
    "first_seen",
    "last_seen",
    "occurrences",
    "resolved_at",
    "audit_key",
    "audit_version",
    "origin_worker",
    "compliance",
];

impl Format {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Ocsf => "ocsf.jsonl",
            Self::Csv => "csv",
        }
    }

    /// What a file starts with.
    pub fn header(self) -> String {
        match self {
            Self::Json => "[\n".into(),
            Self::Ocsf => String::new(),
            Self::Csv => CSV_COLUMNS.join(",") + "\r\n",
        }
    }

    /// What a file of `records` records ends with.
    pub fn footer(self, records: u64) -> &'static str {
        match (self, records) {
            (Self::Json, 0) => "]\n",
            (Self::Json, _) => "\n]\n",
            _ => "",
        }
    }
}

/// One record as a line of `format` (OCSF or CSV); `None` for a record
/// OCSF has no place for (not a finding) or that is not JSON.
pub fn encode(format: Format, record: &str) -> Option<String> {
    let value: Value = serde_json::from_str(record).ok()?;
    match format {
        Format::Json => Some(record.to_string()),
        Format::Ocsf => {
            let finding = ocsf::detection_finding(&value, env!("CARGO_PKG_VERSION"))?;
            Some(finding.to_string() + "\n")
        }
        Format::Csv => Some(csv_row(&value)),
    }
}

/// RFC 4180: a field with a comma, quote or line break is quoted, its
/// quotes doubled; lists are joined with `; `.
fn csv_row(record: &Value) -> String {
    let com = record.get("com");
    let cells: Vec<String> = CSV_COLUMNS
        .iter()
        .map(|key| {
            let text = match com.and_then(|c| c.get(*key)) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join("; "),
                Some(other) => other.to_string(),
            };
            if text.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text
            }
        })
        .collect();
    cells.join(",") + "\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::record::com;
    use serde_json::json;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let row = csv_row(&json!({"com": {
            com::RECORD_TYPE: "e", "description": "a, \"b\"\nc", "compliance": ["x 1", "y 2"], "occurrences": 3
        }}));
        assert_eq!(row, "e,,,,,,\"a, \"\"b\"\"\nc\",,,,3,,,,,x 1; y 2\r\n");
    }

    #[test]
    fn ocsf_leaves_out_what_is_not_a_finding() {
        let record = |bucket: Value| json!({ "com": bucket }).to_string();
        assert!(encode(Format::Ocsf, &record(json!({com::RECORD_TYPE: "vm"}))).is_none());
        let line = encode(
            Format::Ocsf,
            &record(json!({com::RECORD_TYPE: "e", com::FINDING_ID: "f"})),
        )
        .unwrap();
        assert!(line.ends_with('\n'));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["class_uid"], 2004);
    }
}
