//! Events for people to read (an email, a chat message): grouped by their
//! finding's status, what changed first (new, regressed, resolved, then
//! still open), each with its severity.

use serde_json::Value;

/// The events of one status.
#[derive(Debug, PartialEq)]
pub struct Group<'a> {
    /// `New`, `Regressed`, `Resolved`, `Still open`, or `Events` for events
    /// without a status (a host without a findings database).
    pub title: &'static str,
    /// Its events, the most severe first (else in the order given).
    pub events: Vec<&'a Value>,
}

/// The statuses in the order people read them, with their titles.
const ORDER: [(Option<&str>, &str); 5] = [
    (Some("new"), "New"),
    (Some("regressed"), "Regressed"),
    (Some("resolved"), "Resolved"),
    (Some("open"), "Still open"),
    (None, "Events"),
];

/// `events` grouped by `com.status`; empty groups are left out.
pub fn by_status<'a>(events: &[&'a Value]) -> Vec<Group<'a>> {
    ORDER
        .iter()
        .map(|(status, title)| Group {
            title,
            events: events
                .iter()
                .copied()
                .filter(|e| {
                    let own = e.pointer("/com/status").and_then(Value::as_str);
                    match status {
                        Some(_) => own == *status,
                        None => !ORDER.iter().any(|(s, _)| s.is_some() && own == *s),
                    }
                })
                .collect(),
        })
        .filter(|group| !group.events.is_empty())
        .map(|mut group| {
            // Stable: events of one severity keep their order.
            group.events.sort_by_key(|e| std::cmp::Reverse(severity(e)));
            group
        })
        .collect()
}

/// `com.severity`, if it names one.
fn severity(event: &Value) -> Option<super::check::Severity> {
    event
        .pointer("/com/severity")
        .and_then(Value::as_str)
        .and_then(super::check::Severity::parse)
}

/// One line for an event: `[severity] description` (or its type when it
/// has no description).
pub fn headline(event: &Value) -> String {
    let text = |key: &str| {
        event
            .pointer(&format!("/com/{key}"))
            .and_then(Value::as_str)
    };
    let description = text("description")
        .map(str::to_string)
        .unwrap_or_else(|| format!("A {} event.", text("record_type").unwrap_or("cloudmarker")));
    match text("severity") {
        Some(severity) => format!("[{severity}] {description}"),
        None => description,
    }
}

/// The event's recommendation, if it has one.
pub fn recommendation(event: &Value) -> Option<&str> {
    event.pointer("/com/recommendation").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_come_first_the_most_severe_first_and_each_line_says_how_bad() {
        let events = [
            json!({"com": {"status": "open", "severity": "low", "description": "a"}}),
            json!({"com": {"status": "resolved", "severity": "high", "description": "b"}}),
            json!({"com": {"status": "new", "severity": "critical", "description": "c"}}),
            json!({"com": {"description": "d"}}),
            json!({"com": {"status": "new", "record_type": "x_event"}}),
            json!({"com": {"status": "new", "severity": "high", "description": "e"}}),
            json!({"com": {"status": "new", "severity": "critical", "description": "f"}}),
        ];
        let refs: Vec<&Value> = events.iter().collect();
        let groups = by_status(&refs);
        let titles: Vec<&str> = groups.iter().map(|g| g.title).collect();
        assert_eq!(titles, ["New", "Resolved", "Still open", "Events"]);
        let lines: Vec<String> = groups[0].events.iter().map(|e| headline(e)).collect();
        assert_eq!(
            lines,
            [
                "[critical] c",
                "[critical] f",
                "[high] e",
                "A x_event event."
            ]
        );
        assert_eq!(headline(&events[3]), "d");
    }
}
