//! One audit run's findings: each event gets its status from the database
//! as the run found it, and the run's changes are written at its end.

use super::mutes::Mutes;
use super::state::{self, Seen, State};
use super::Status;
use crate::record::Stamp;
use cloudmarker_plugin_api::record::{com, Text, COM, EXT};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::sync::Arc;

/// `com.status`.
pub const STATUS: &str = "status";
/// `com.first_seen`.
pub const FIRST_SEEN: &str = "first_seen";
/// `com.last_seen`.
pub const LAST_SEEN: &str = "last_seen";
/// `com.occurrences`.
pub const OCCURRENCES: &str = "occurrences";
/// `com.resolved_at`.
pub const RESOLVED_AT: &str = "resolved_at";
/// `com.muted`.
pub const MUTED: &str = "muted";

/// An event with its finding's status.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The event, stamped (`com` last, as the alert stamp needs).
    pub record: String,
    /// Its finding's status.
    pub status: Status,
    /// Whether a mute holds it back from the plugins that receive changes.
    pub muted: bool,
    /// Whether it was muted in its previous run and no longer is: a change
    /// for the plugins that receive changes, whatever its status.
    pub unmuted: bool,
}

/// The findings of one run of one audit.
pub struct Tracker {
    state: State,
    audit: String,
    audit_version: String,
    now: String,
    mutes: Arc<Mutes>,
    /// The run's shard (`I/N`), in a sharded run.
    shard: Option<String>,
    /// What each check evaluated in each scope this run (`check_summary`).
    check_summaries: Vec<state::CheckSummary>,
    /// What the clouds read of each scope this run (`collection_summary`).
    collection_summaries: Vec<state::CollectionSummary>,
}

impl Tracker {
    /// Starts tracking a run of `audit`.
    pub fn start(
        mut state: State,
        audit: &str,
        audit_version: &str,
        now: &str,
        mutes: Arc<Mutes>,
    ) -> Result<Self, String> {
        state.begin_run()?;
        Ok(Self {
            state,
            audit: audit.to_string(),
            audit_version: audit_version.to_string(),
            now: now.to_string(),
            mutes,
            shard: None,
            check_summaries: Vec::new(),
            collection_summaries: Vec::new(),
        })
    }

    /// The run is shard `shard` of a sharded run: the events of the
    /// findings it resolves carry it, as its other events do.
    pub fn in_shard(mut self, shard: Option<String>) -> Self {
        self.shard = shard;
        self
    }

    /// Whether the run is a shard of a sharded run.
    pub fn sharded(&self) -> bool {
        self.shard.is_some()
    }

    /// Stamps `event` with its finding's status, first and last seen,
    /// occurrences and mute (see [`Tracker::observe_batch`]).
    pub fn observe(&mut self, event: &str) -> Result<Observed, String> {
        self.observe_batch(&[event])
            .pop()
            .unwrap_or_else(|| Err("no event".into()))
    }

    /// Stamps each of `events` (one batch of the run) with its finding's
    /// status, first and last seen, occurrences and mute: the findings of
    /// the whole batch are looked up in one query. Reads only each event's
    /// `com` (and its `ext` when it has no finding id) and writes the new
    /// fields in one pass.
    pub fn observe_batch(&mut self, events: &[&str]) -> Vec<Result<Observed, String>> {
        let parsed: Vec<Result<Parsed, String>> = events.iter().map(|e| self.parse(e)).collect();
        let mut ids: Vec<&str> = parsed
            .iter()
            .filter_map(|p| p.as_ref().ok().map(|p| p.id.as_str()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let known = match self.state.known_many(&self.audit, &ids) {
            Ok(known) => known,
            Err(e) => return events.iter().map(|_| Err(e.clone())).collect(),
        };
        parsed
            .into_iter()
            .zip(events)
            .map(|(parsed, event)| {
                let parsed = parsed?;
                let known = known.get(&parsed.id);
                self.stamp(event, parsed, known)
            })
            .collect()
    }

    /// What the tracker reads of `event`: its finding id, fields and mute.
    fn parse(&self, event: &str) -> Result<Parsed, String> {
        let view: EventView<'_> = serde_json::from_str(event)
            .map_err(|e| format!("an event is not a JSON object: {e}"))?;
        let com_view = view.com.unwrap_or_default();
        let field = |text: &Text<'_>| text.as_str().map(str::to_string);
        let (id, id_given) = match com_view.finding_id.as_str() {
            Some(id) => (id.to_string(), true),
            // An event plugin that does not use the SDK's helper: the same
            // rule, without distinguishing values.
            None => {
                let ext = view
                    .ext
                    .and_then(|raw| serde_json::from_str::<Map<String, Value>>(raw.get()).ok())
                    .unwrap_or_default();
                let id = cloudmarker_plugin_api::sdk::check::finding_id(
                    com_view.record_type.as_str().unwrap_or_default(),
                    com_view.reference.as_str(),
                    &ext,
                    &Map::new(),
                );
                (id, false)
            }
        };
        // Every finding has a severity: an event plugin that gives none
        // (one that does not use the SDK's helper) gets the helper's default.
        let severity = field(&com_view.severity).unwrap_or_else(|| {
            cloudmarker_plugin_api::sdk::check::Severity::Medium
                .name()
                .to_string()
        });
        let mute = if self.mutes.is_empty() {
            None
        } else {
            let com = serde_json::json!({
                com::RECORD_TYPE: com_view.record_type.as_str(),
                com::REFERENCE: com_view.reference.as_str(),
                com::CLOUD_TYPE: com_view.cloud_type.as_str(),
                com::FINDING_ID: id,
            });
            self.mutes.find(&self.audit, &com).map(|m| m.stamp())
        };
        Ok(Parsed {
            id,
            id_given,
            severity,
            record_type: field(&com_view.record_type),
            reference: field(&com_view.reference),
            cloud_type: field(&com_view.cloud_type),
            description: field(&com_view.description),
            mute,
        })
    }

    /// Notes `event` as seen and stamps it, after `known` (what the
    /// database knew of its finding before the run).
    fn stamp(
        &mut self,
        event: &str,
        parsed: Parsed,
        known: Option<&state::Known>,
    ) -> Result<Observed, String> {
        let Parsed {
            id,
            id_given,
            severity,
            record_type,
            reference,
            cloud_type,
            description,
            mute,
        } = parsed;
        let muted = mute.is_some();
        let status = state::next_status(known.map(|k| k.status));
        let occurrences = known.map_or(0, |k| k.occurrences) + 1;
        // Both sightings of a finding seen twice in a run get the same
        // status: the database does not change until the run commits.
        self.state.note_seen(&Seen {
            finding_id: id.clone(),
            severity: Some(severity.clone()),
            record_type,
            reference,
            cloud_type,
            description,
            muted,
            event: event.to_string(),
        })?;
        let first_seen = known.map_or(self.now.as_str(), |k| k.first_seen.as_str());
        let unmuted = !muted && known.is_some_and(|k| k.muted);
        let mut stamp = Stamp::new(&[
            (STATUS, status.name()),
            (FIRST_SEEN, first_seen),
            (LAST_SEEN, &self.now),
            (com::SEVERITY, &severity),
        ])
        .with_json(OCCURRENCES, &occurrences.to_string());
        if !id_given {
            stamp = stamp.with(com::FINDING_ID, &id);
        }
        if let Some(mute) = mute {
            stamp = stamp.with_json(MUTED, &mute.to_string());
        }
        let mut record = String::with_capacity(event.len() + 160);
        stamp.apply(event, &mut record)?;
        Ok(Observed {
            record,
            status,
            muted,
            unmuted,
        })
    }

    /// When the collection was `complete`, the findings that were active
    /// before the run and that it did not see: their last events, stamped
    /// `resolved`, each with the worker that raised it. Nothing is written
    /// yet (see [`Tracker::commit`]).
    pub fn resolve(&mut self, complete: bool) -> Vec<(String, String)> {
        self.resolve_where(|_| complete)
    }

    /// Like [`Tracker::resolve`], for the findings whose event's `ext`
    /// passes `complete` (their scope was read completely).
    pub fn resolve_where(&mut self, complete: impl Fn(&Value) -> bool) -> Vec<(String, String)> {
        let mut gone = Vec::new();
        let no_ext = Value::Object(Map::new());
        let listed = self
            .state
            .unseen_active(&self.audit, &mut |id: &str, event: &str| {
                let event: Map<String, Value> = serde_json::from_str(event).unwrap_or_default();
                let ext = event
                    .get(EXT)
                    .filter(|ext| ext.is_object())
                    .unwrap_or(&no_ext);
                if complete(ext) {
                    gone.push((id.to_string(), event));
                }
            });
        if let Err(e) = listed {
            log::warn!("Cannot list the findings this run did not see: {e}; none is resolved.");
            return Vec::new();
        }
        let mut events = Vec::new();
        for (id, mut value) in gone {
            if let Err(e) = self.state.note_resolved(&id) {
                log::warn!("Cannot resolve finding {id}: {e}.");
                continue;
            }
            let Some(known) = self.state.known(&self.audit, &id).ok().flatten() else {
                continue;
            };
            let Some(com_map) = value.get_mut(COM).and_then(Value::as_object_mut) else {
                continue;
            };
            let origin = com_map
                .get(com::ORIGIN_WORKER)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            com_map.insert(com::AUDIT_VERSION.into(), self.audit_version.clone().into());
            match &self.shard {
                Some(shard) => com_map.insert(com::SHARD.into(), shard.clone().into()),
                None => com_map.remove(com::SHARD),
            };
            com_map.insert(com::FINDING_ID.into(), id.clone().into());
            if !com_map.contains_key(com::SEVERITY) {
                com_map.insert(
                    com::SEVERITY.into(),
                    cloudmarker_plugin_api::sdk::check::Severity::Medium
                        .name()
                        .into(),
                );
            }
            com_map.insert(STATUS.into(), Status::Resolved.name().into());
            com_map.insert(FIRST_SEEN.into(), known.first_seen.into());
            com_map.insert(LAST_SEEN.into(), known.last_seen.into());
            com_map.insert(OCCURRENCES.into(), known.occurrences.into());
            com_map.insert(RESOLVED_AT.into(), self.now.clone().into());
            events.push((origin, com_last(&value)));
        }
        events
    }

    /// Notes a `check_summary` record (what a check evaluated in a scope),
    /// which the run keeps with its findings; a malformed one is logged
    /// and passed over.
    pub fn note_check_summary(&mut self, record: &str) {
        #[derive(Deserialize)]
        struct SummaryView {
            ext: state::CheckSummary,
        }
        match serde_json::from_str::<SummaryView>(record) {
            Ok(view) => self.check_summaries.push(view.ext),
            Err(e) => log::warn!("Passed over a malformed check_summary record, error: {e}."),
        }
    }

    /// Keeps what the run's clouds read of each scope (their
    /// `collection_summary` records, merged by scope) with its findings.
    pub fn note_collection_summaries(&mut self, summaries: Vec<state::CollectionSummary>) {
        self.collection_summaries = summaries;
    }

    /// Writes what the run saw and resolved, what its checks evaluated and
    /// what its clouds read, in one transaction.
    pub fn commit(mut self) -> Result<(), String> {
        self.state.commit_run(&state::RunEnd {
            audit: &self.audit,
            audit_version: &self.audit_version,
            now: &self.now,
            check_summaries: &self.check_summaries,
            collection_summaries: &self.collection_summaries,
        })
    }

    /// Ends a batch of writes (call after each batch of events).
    pub fn flush(&mut self) -> Result<(), String> {
        self.state.flush()
    }
}

/// What the tracker reads of one event.
struct Parsed {
    id: String,
    id_given: bool,
    severity: String,
    record_type: Option<String>,
    reference: Option<String>,
    cloud_type: Option<String>,
    description: Option<String>,
    /// `com.muted` of the mute that holds it back.
    mute: Option<Value>,
}

/// The parts of an event the tracker reads.
#[derive(Deserialize)]
struct EventView<'a> {
    #[serde(borrow, default)]
    com: Option<ComView<'a>>,
    #[serde(borrow, default)]
    ext: Option<&'a RawValue>,
}

/// The `com` fields the tracker reads.
#[derive(Deserialize, Default)]
struct ComView<'a> {
    #[serde(borrow, default)]
    finding_id: Text<'a>,
    #[serde(borrow, default)]
    record_type: Text<'a>,
    #[serde(borrow, default)]
    reference: Text<'a>,
    #[serde(borrow, default)]
    cloud_type: Text<'a>,
    #[serde(borrow, default)]
    description: Text<'a>,
    #[serde(borrow, default)]
    severity: Text<'a>,
}

/// The record as JSON text with its `com` bucket last (the shape the
/// delivery stamp splices into).
pub fn com_last(record: &Map<String, Value>) -> String {
    let mut text = String::from("{");
    for (key, value) in record.iter().filter(|(k, _)| k.as_str() != COM) {
        text.push_str(&Value::from(key.as_str()).to_string());
        text.push(':');
        text.push_str(&value.to_string());
        text.push(',');
    }
    text.push_str("\"com\":");
    let com_value = record
        .get(COM)
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    text.push_str(&com_value.to_string());
    text.push('}');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn event(id: &str) -> String {
        format!(
            r#"{{"com":{{"record_type":"e","finding_id":"{id}","origin_worker":"a_ev"}},"ext":{{"x":1}}}}"#
        )
    }

    fn tracker(state: State, now: &str, mutes: Vec<super::super::mutes::Mute>) -> Tracker {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        Tracker::start(state, "a", now, now, Arc::new(Mutes::new(mutes, today))).unwrap()
    }

    #[test]
    fn events_are_stamped_and_what_is_gone_is_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let mut first = tracker(State::open(&path).unwrap(), "t1", vec![]);
        let x = first.observe(&event("x")).unwrap();
        assert_eq!(x.status, Status::New);
        assert!(x.record.ends_with('}') && x.record.contains(r#""com":{"#));
        let value: Value = serde_json::from_str(&x.record).unwrap();
        assert_eq!(value["com"]["occurrences"], 1);
        assert_eq!(value["com"]["first_seen"], "t1");
        // The same finding twice in a run: one finding, one occurrence.
        assert_eq!(first.observe(&event("x")).unwrap().status, Status::New);
        first.observe(&event("y")).unwrap();
        assert!(first.resolve(true).is_empty());
        first.commit().unwrap();

        let mut second =
            tracker(State::open(&path).unwrap(), "t2", vec![]).in_shard(Some("1/4".into()));
        let x = second.observe(&event("x")).unwrap();
        assert_eq!(x.status, Status::Open);
        let value: Value = serde_json::from_str(&x.record).unwrap();
        assert_eq!(value["com"]["occurrences"], 2);
        assert_eq!(value["com"]["first_seen"], "t1");
        assert!(
            second.resolve(false).is_empty(),
            "an incomplete run resolves nothing"
        );
        let resolved = second.resolve(true);
        second.commit().unwrap();
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].0, "a_ev");
        let value: Value = serde_json::from_str(&resolved[0].1).unwrap();
        assert_eq!(value["com"]["status"], "resolved");
        assert_eq!(value["com"]["finding_id"], "y");
        assert_eq!(value["com"]["resolved_at"], "t2");
        assert_eq!(value["com"]["shard"], "1/4", "the resolving run's shard");
    }
}
