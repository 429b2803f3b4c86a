//! An alert plugin that sends the events of an audit run in one email.

use cloudmarker_plugin_api::record::Head;
use cloudmarker_plugin_api::sdk::{self, digest, PluginType, Records, Sink};
use cloudmarker_plugin_api::PluginError;
use serde_json::Value;
use smtp::{EmailParams, Mailer};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Buffers event records and, in `done`, sends one email: a plain-text
/// summary grouped by audit, with the full events attached as JSON. No email
/// when there were no events.
pub struct EmailAlert {
    params: EmailParams,
    mailer: Mailer,
    events: Vec<Value>,
}

impl PluginType for EmailAlert {
    type Params = EmailParams;

    const NAME: &'static str = "emailalert";
    const CLASS: Option<&'static str> = Some("EmailAlert");
    const NOTIFIES: bool = true;
    const DESCRIPTION: &'static str = "Sends the events of an audit in one email over SMTP.";

    /// Connects and logs in to the SMTP server, sending nothing.
    fn health_check(&mut self) -> sdk::Result<String> {
        self.mailer
            .check_connection()
            .map_err(|e| PluginError::unavailable(format!("emailalert: {e}")))
    }

    fn new(params: EmailParams) -> sdk::Result<Self> {
        let mailer =
            Mailer::new(&params).map_err(|e| PluginError::config(format!("emailalert: {e}")))?;
        Ok(Self {
            params,
            mailer,
            events: Vec::new(),
        })
    }
}

impl Sink for EmailAlert {
    fn write(&mut self, records: Records<'_>) -> sdk::Result<()> {
        let mut unreadable = 0;
        for record in records {
            match serde_json::from_str::<Value>(record) {
                Ok(event) if !is_marker(record) => self.events.push(event),
                Ok(_) => {}
                Err(_) => unreadable += 1,
            }
        }
        if unreadable > 0 {
            return Err(PluginError::partial(
                unreadable,
                format!("emailalert: {unreadable} record(s) were not JSON"),
            ));
        }
        Ok(())
    }

    fn done(&mut self) -> sdk::Result<()> {
        if self.events.is_empty() {
            log::info!("No events; no email sent.");
            return Ok(());
        }
        let body = summary(&self.events);
        let json = serde_json::to_string_pretty(&self.events).unwrap_or_default();
        match self
            .mailer
            .send(&self.params.subject, &body, Some(("events.json", json)))
        {
            Ok(()) => {
                log::info!(
                    "Sent {} event(s) by email to {}.",
                    self.events.len(),
                    self.params.to_addrs.join(", ")
                );
                Ok(())
            }
            Err(e) => Err(PluginError {
                records_failed: self.events.len() as u64,
                ..PluginError::unavailable(format!("emailalert: {e}"))
            }),
        }
    }
}

/// The host's `begin_audit`/`end_audit` markers are not events.
fn is_marker(record: &str) -> bool {
    Head::parse(record).is_ok_and(|head| head.marker().is_some())
}

/// The plain-text body: a count, then per audit the events grouped by
/// their finding's status (what changed first), each with its severity,
/// description and recommendation.
pub fn summary(events: &[Value]) -> String {
    let mut by_audit: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for event in events {
        let audit = event
            .pointer("/com/audit_key")
            .and_then(Value::as_str)
            .unwrap_or("(unknown audit)");
        by_audit.entry(audit).or_default().push(event);
    }
    let mut body = format!("Cloudmarker found {} event(s).\n", events.len());
    for (audit, events) in by_audit {
        let _ = write!(body, "\nAudit {audit} ({} event(s)):\n", events.len());
        for group in digest::by_status(&events) {
            let _ = writeln!(body, "{} ({}):", group.title, group.events.len());
            for event in group.events {
                let _ = writeln!(body, "- {}", digest::headline(event));
                if let Some(recommendation) = digest::recommendation(event) {
                    let _ = writeln!(body, "  Recommendation: {recommendation}");
                }
            }
        }
    }
    body.push_str("\nThe full events are attached as events.json.\n");
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::record::{com, END_AUDIT};
    use serde_json::json;

    #[test]
    fn summary_groups_events_by_audit_and_status() {
        let event = |audit: &str, n: u32, status: &str| {
            json!({"com": {"audit_key": audit, "description": format!("{n} is a multiple of 3."),
                           "recommendation": format!("Divide {n} by 3."),
                           "status": status, "severity": "medium"}})
        };
        let body = summary(&[
            event("b", 0, "resolved"),
            event("a", 3, "new"),
            event("b", 6, "new"),
            json!({"com": {com::RECORD_TYPE: "odd"}}),
        ]);
        assert_eq!(
            body,
            "Cloudmarker found 4 event(s).\n\
             \nAudit (unknown audit) (1 event(s)):\nEvents (1):\n- A odd event.\n\
             \nAudit a (1 event(s)):\nNew (1):\n- [medium] 3 is a multiple of 3.\n  Recommendation: Divide 3 by 3.\n\
             \nAudit b (2 event(s)):\nNew (1):\n- [medium] 6 is a multiple of 3.\n  Recommendation: Divide 6 by 3.\n\
             Resolved (1):\n- [medium] 0 is a multiple of 3.\n  Recommendation: Divide 0 by 3.\n\
             \nThe full events are attached as events.json.\n"
        );
    }

    #[test]
    fn markers_are_not_events() {
        let record =
            |record_type: &str| json!({"com": {com::RECORD_TYPE: record_type}}).to_string();
        assert!(is_marker(&record(END_AUDIT)));
        assert!(!is_marker(&record("mock_event")));
    }
}
