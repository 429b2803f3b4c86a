//! Between an audit's event plugins and its alert plugins: stamps every
//! event with its finding's status ([`Tracker`]) and gives each alert the
//! events its `notify` asks for; when the events are done, it resolves
//! what the run did not see (if the collection was complete) and sends
//! those out too.

use super::workers::Message;
use crate::findings::scopes::Scopes;
use crate::findings::tracker::{Observed, Tracker};
use crate::findings::{Notify, Status};
use crate::record::RecordBatch;
use cloudmarker_plugin_api::sdk::tally::is_check_summary;
use crossbeam_channel::{Receiver, Sender};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// One alert plugin instance and what it receives.
pub(crate) struct Route {
    /// Its input.
    pub tx: Sender<Message>,
    /// The statuses it receives. A plugin that receives every event gets
    /// muted findings too (stamped); one that receives changes does not,
    /// and gets a finding whose mute expired as a change.
    pub notify: Notify,
}

impl Route {
    fn accepts(&self, observed: &Observed) -> bool {
        match &self.notify {
            Notify::All(_) => true,
            notify => !observed.muted && (observed.unmuted || notify.accepts(observed.status)),
        }
    }
}

/// What the relay did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Relayed {
    /// Findings stamped (events).
    pub events: u64,
    /// Findings resolved.
    pub resolved: u64,
    /// Whether the findings could not be kept (no state database).
    pub failed: bool,
}

/// How completely the audit's clouds read, set once they are done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collection {
    /// Every cloud plugin finished without a failure: every finding the
    /// run did not see again is resolved.
    Complete,
    /// Some cloud plugin reported problems but none failed outright: the
    /// findings of the scopes (subscriptions, projects, accounts) that every
    /// collection summary called complete are resolved.
    Partial,
    /// A cloud plugin failed, or the run was interrupted: nothing is resolved.
    Failed,
}

/// Relays `input` to `routes` until every event plugin is done; `collection`
/// is set once the clouds are done. Returns the tracker, whose changes the
/// audit commits once its alerts have them. Without a tracker every alert
/// gets every event as is: a failure when findings are `kept` (the
/// database could not be opened), the configured behaviour when not.
pub(crate) fn run(
    input: Receiver<Message>,
    routes: Vec<Route>,
    mut tracker: Option<Tracker>,
    kept: bool,
    collection: Arc<OnceLock<Collection>>,
    scopes: Arc<Scopes>,
) -> (Relayed, Option<Tracker>) {
    let mut relayed = Relayed {
        failed: kept && tracker.is_none(),
        ..Relayed::default()
    };
    for message in &input {
        let Message::Records { origin, batch } = message else {
            continue;
        };
        let Some(tracker) = tracker.as_mut() else {
            // Without the findings state, every alert gets every event as is
            // (check summaries, which only the state keeps, left out).
            let batch = if batch.iter().any(is_check_summary) {
                let mut findings = RecordBatch::default();
                for event in batch.iter().filter(|event| !is_check_summary(event)) {
                    let _ = findings.push(|text| {
                        text.push_str(event);
                        Ok::<_, ()>(())
                    });
                }
                Arc::new(findings)
            } else {
                batch
            };
            for route in &routes {
                let _ = route.tx.send(Message::Records {
                    origin: Arc::clone(&origin),
                    batch: Arc::clone(&batch),
                });
            }
            continue;
        };
        let mut outgoing: Vec<RecordBatch> =
            routes.iter().map(|_| RecordBatch::default()).collect();
        let mut events = Vec::with_capacity(batch.len());
        for event in batch.iter() {
            if is_check_summary(event) {
                // What a check evaluated is not a finding: the state keeps
                // it for the compliance report; no alert receives it.
                tracker.note_check_summary(event);
            } else {
                events.push(event);
            }
        }
        // The batch's findings are looked up in one query.
        for (event, observed) in events.iter().zip(tracker.observe_batch(&events)) {
            let observed = match observed {
                Ok(observed) => observed,
                Err(e) => {
                    log::warn!("Passed an event on without its finding status: {e}.");
                    Observed {
                        record: event.to_string(),
                        status: Status::New,
                        muted: false,
                        unmuted: false,
                    }
                }
            };
            relayed.events += 1;
            for (route, out) in routes.iter().zip(&mut outgoing) {
                if route.accepts(&observed) {
                    let _ = out.push(|text| {
                        text.push_str(&observed.record);
                        Ok::<_, ()>(())
                    });
                }
            }
        }
        if let Err(e) = tracker.flush() {
            log::warn!("Cannot note this run's findings: {e}.");
        }
        send(&routes, &origin, outgoing);
    }
    let Some(mut tracker) = tracker else {
        return (relayed, None);
    };
    // What the clouds read of each scope, for the compliance report.
    tracker.note_collection_summaries(scopes.summaries());
    let resolved = match collection.get().copied().unwrap_or(Collection::Failed) {
        // A shard resolves only in the scopes it read itself: the other
        // shards' findings (in a shared state) are theirs to resolve.
        Collection::Complete if tracker.sharded() => {
            tracker.resolve_where(|ext| scopes.complete_for(ext))
        }
        Collection::Complete => tracker.resolve(true),
        Collection::Partial => {
            log::info!("The collection was not complete: only the findings of subscriptions, projects and accounts read completely can be resolved.");
            tracker.resolve_where(|ext| scopes.complete_for(ext))
        }
        Collection::Failed => {
            log::info!("The collection was not complete: no finding is resolved in this run.");
            Vec::new()
        }
    };
    relayed.resolved = resolved.len() as u64;
    let mut by_origin: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (origin, event) in resolved {
        by_origin.entry(origin).or_default().push(event);
    }
    for (origin, events) in by_origin {
        let origin: Arc<str> = Arc::from(origin.as_str());
        let outgoing = routes
            .iter()
            .map(|route| {
                let mut out = RecordBatch::default();
                for event in &events {
                    let observed = Observed {
                        record: String::new(),
                        status: Status::Resolved,
                        muted: false,
                        unmuted: false,
                    };
                    if route.accepts(&observed) {
                        let _ = out.push(|text| {
                            text.push_str(event);
                            Ok::<_, ()>(())
                        });
                    }
                }
                out
            })
            .collect();
        send(&routes, &origin, outgoing);
    }
    (relayed, Some(tracker))
}

fn send(routes: &[Route], origin: &Arc<str>, outgoing: Vec<RecordBatch>) {
    for (route, batch) in routes.iter().zip(outgoing) {
        if !batch.is_empty() {
            let _ = route.tx.send(Message::Records {
                origin: Arc::clone(origin),
                batch: Arc::new(batch),
            });
        }
    }
}
