//! The two things the report reads from the findings state besides its
//! summaries: every status change (the trend is replayed from them) and
//! each finding's check, scope and resource type (from its last event).
//! Both come from one pass over the state's export
//! ([`Backend::export`](crate::findings::state::Backend::export)), so the
//! report reads a SQLite and a PostgreSQL state alike, and writes nothing.

use crate::findings::state::State;
use crate::findings::transfer::{FindingRow, Line};
use cloudmarker_plugin_api::record::SCOPE_KEYS;
use serde_json::Value;

/// One status change of a finding.
pub use crate::findings::transfer::TransitionRow as Change;

/// Where a finding belongs, from its last event.
#[derive(Debug, Clone, Default)]
pub struct Place {
    /// `com.check`, else the event type.
    pub check: String,
    /// The subscription, project, account or tenant (the first of
    /// `record::SCOPE_KEYS` in the event's `ext`), empty when none.
    pub scope: String,
    /// The resource type the check read (`ext.record_type`), empty when none.
    pub resource_type: String,
}

/// Each finding's place, keyed by (audit, finding id).
pub type Places = Vec<((String, String), Place)>;

/// Every status change, oldest first, and each finding's place, from one
/// pass over `state`'s export.
pub fn changes_and_places(state: &mut State) -> Result<(Vec<Change>, Places), String> {
    let mut changes = Vec::new();
    let mut places = Vec::new();
    state.export(&mut |line| {
        match line {
            Line::Transition(change) => changes.push(change),
            Line::Finding(row) => {
                let key = (row.finding.audit.clone(), row.finding.finding_id.clone());
                places.push((key, place_of(&row)))
            }
            _ => {}
        }
        Ok(())
    })?;
    // The export keeps each finding's changes in order; the trend wants
    // them all by time (a stable sort keeps a finding's same-time ones in
    // order).
    changes.sort_by(|a, b| a.transition.at.cmp(&b.transition.at));
    Ok((changes, places))
}

/// A finding's place, from its last event (`com.check`, the scope keys and
/// `ext.record_type`); the event type when the event names no check.
fn place_of(row: &FindingRow) -> Place {
    let event: Value = serde_json::from_str(&row.event).unwrap_or(Value::Null);
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let ext = &event["ext"];
    Place {
        check: text(&event["com"]["check"])
            .or_else(|| row.finding.record_type.clone())
            .unwrap_or_default(),
        scope: SCOPE_KEYS
            .iter()
            .find_map(|key| text(&ext[*key]))
            .unwrap_or_default(),
        resource_type: text(&ext["record_type"]).unwrap_or_default(),
    }
}
