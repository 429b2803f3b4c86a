//! The worker threads: one per plugin instance, joined by bounded channels.
//!
//! A worker constructs its plugin, feeds it or drains it, and calls `done`
//! exactly once. When a plugin fails for good, its worker calls `done`, drops
//! its input channel (so senders stop waiting on it at once) and returns.

use super::report::WorkerReport;
use super::StopFlag;
use crate::config::Role;
use crate::logging;
use crate::plugins::{isolate, Instance, LoadedPlugin};
use crate::record::{RecordBatch, Stamp};
use abi_stable::std_types::{RResult, RSlice, RStr, RString, RVec};
use cloudmarker_plugin_api::sdk::tally::is_check_summary;
use cloudmarker_plugin_api::{Outcome, PluginError};
use crossbeam_channel::{Receiver, Sender};
use std::path::Path;
use std::sync::Arc;

/// How many problems of one worker are logged one by one; the rest are counted.
const LOGGED_PROBLEMS: u64 = 10;

/// What travels on a channel to a store, event or alert worker.
#[derive(Debug, Clone)]
pub(crate) enum Message {
    /// Records stamped with their origin, shared by all receivers.
    Records {
        /// The producing worker (every record's `com.origin_worker`).
        origin: Arc<str>,
        /// The records.
        batch: Arc<RecordBatch>,
    },
    /// A `begin_audit`/`end_audit` marker (stores and alerts only).
    Marker(Arc<String>),
}

/// One plugin instance in one role of one audit.
pub(crate) struct Worker {
    /// `<audit_key>_<plugin_key>`.
    pub name: String,
    pub role: Role,
    pub plugin: Arc<LoadedPlugin>,
    pub params: String,
    /// `Some`: run the plugin in its own process, with these limits.
    pub isolation: Option<isolate::Limits>,
    pub report: WorkerReport,
    /// The audit's live counts (its progress line).
    pub counts: Arc<super::progress::Counts>,
}

impl Worker {
    /// Constructs the plugin, or logs why not and marks the report.
    fn construct(&mut self) -> Option<Instance> {
        let watched = super::watchdog::watch(&self.name, "new");
        let constructed = match (&self.isolation, &self.plugin.path) {
            (Some(limits), Some(library)) => self.start_isolated(library, *limits),
            (Some(_), None) => {
                log::warn!("Plugin {} is linked into this process and cannot run in its own; it runs in the host process.", self.plugin.info.name);
                self.plugin.construct(&self.params, logging::host_context())
            }
            (None, _) => self.plugin.construct(&self.params, logging::host_context()),
        };
        drop(watched);
        match constructed {
            RResult::ROk(plugin) => {
                log::info!(
                    "Started {} worker for plugin {}.",
                    self.role,
                    self.plugin.info.name
                );
                Some(plugin)
            }
            RResult::RErr(e) => {
                self.fatal("construct", &e);
                None
            }
        }
    }

    /// Starts the plugin in a child process (`isolation: process`).
    fn start_isolated(
        &self,
        library: &Path,
        limits: isolate::Limits,
    ) -> RResult<Instance, PluginError> {
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => {
                return RResult::RErr(PluginError::failed(format!(
                "cannot find the cloudmarker executable to run the plugin in its own process: {e}"
            )))
            }
        };
        let spec = isolate::Spec {
            exe: &exe,
            library,
            plugin: &self.plugin.info.name,
            worker: &self.name,
            limits,
        };
        match isolate::Isolated::start(&spec, &self.params) {
            Ok(isolated) => RResult::ROk(Instance::Isolated(Box::new(isolated))),
            Err(e) => RResult::RErr(e),
        }
    }

    fn fatal(&mut self, method: &str, error: &PluginError) {
        if self.report.fatal {
            // Already counted: a consequence of the first failure.
            log::warn!(
                "{} plugin could not run {method} after its failure, error: {}",
                self.role_title(),
                error.message
            );
            return;
        }
        log::error!(
            "{} plugin failed in {method}, error: {}",
            self.role_title(),
            error.message
        );
        self.report.fatal = true;
        self.report.failures += 1;
        self.counts.failure();
        self.report.records_lost += error.records_failed;
    }

    /// Counts and logs what an outcome says; returns its records.
    fn outcome(&mut self, outcome: Outcome) -> RVec<RString> {
        for problem in outcome.problems {
            self.problem(problem);
        }
        outcome.records
    }

    /// Counts and logs a problem the plugin survived.
    fn problem(&mut self, problem: PluginError) {
        self.report.failures += 1;
        self.counts.failure();
        self.report.records_lost += problem.records_failed;
        if self.report.failures <= LOGGED_PROBLEMS {
            log::error!(
                "{} plugin reported a problem, error: {}",
                self.role_title(),
                problem.message
            );
        }
    }

    /// Calls `done` once; returns the final records it produced.
    fn done(&mut self, plugin: &mut Instance) -> RVec<RString> {
        let watched = super::watchdog::watch(&self.name, "done");
        let result = plugin.done();
        drop(watched);
        match result {
            RResult::ROk(outcome) => self.outcome(outcome),
            RResult::RErr(e) => {
                self.fatal("done", &e);
                RVec::new()
            }
        }
    }

    /// Logs the worker's end and returns its report.
    fn into_report(self) -> WorkerReport {
        let r = &self.report;
        if r.failures > LOGGED_PROBLEMS {
            log::error!(
                "{} plugin had {} problems in all; the first {LOGGED_PROBLEMS} are logged above.",
                self.role_title(),
                r.failures
            );
        }
        log::info!(
            "Stopped {} worker: {} produced, {} written, {} failures.",
            self.role,
            r.produced,
            r.written,
            r.failures
        );
        self.report
    }

    fn role_title(&self) -> String {
        let role = self.role.name();
        let mut chars = role.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    }
}

/// Sends `message` to every output, forgetting outputs whose worker is gone.
fn broadcast(outputs: &mut Vec<Sender<Message>>, message: &Message) {
    outputs.retain(|tx| tx.send(message.clone()).is_ok());
}

/// Stamps produced records with their origin; a record that is not a JSON
/// object is counted as a problem of the producer.
fn stamp_all(worker: &mut Worker, stamp: &Stamp, records: &[RString]) -> RecordBatch {
    let bytes = records.iter().map(|r| r.len() + stamp.overhead()).sum();
    let mut stamped = RecordBatch::with_capacity(records.len(), bytes);
    for record in records {
        if let Err(e) = stamped.push(|out| stamp.apply(record, out)) {
            worker.problem(PluginError::partial(
                1,
                format!("plugin produced a bad record: {e}"),
            ));
        }
    }
    stamped
}

/// Reads all records from a cloud plugin and sends them to `outputs`.
pub(crate) fn run_cloud(
    mut worker: Worker,
    stamp: Stamp,
    mut outputs: Vec<Sender<Message>>,
    batch_size: usize,
    stop: &StopFlag,
    scopes: &crate::findings::scopes::Scopes,
) -> WorkerReport {
    let Some(mut plugin) = worker.construct() else {
        return worker.report;
    };
    let origin: Arc<str> = Arc::from(worker.name.as_str());
    loop {
        if stop.is_stopped() {
            log::warn!("Cloud worker stops reading: cloudmarker is shutting down.");
            break;
        }
        let watched = super::watchdog::watch(&worker.name, "read");
        let result = plugin.read(batch_size);
        drop(watched);
        match result {
            RResult::ROk(outcome) => {
                let records = worker.outcome(outcome);
                if records.is_empty() {
                    break;
                }
                worker.report.produced += records.len() as u64;
                worker.counts.read(records.len() as u64);
                let stamped = stamp_all(&mut worker, &stamp, &records);
                for record in stamped.iter() {
                    scopes.observe(record);
                }
                let message = Message::Records {
                    origin: Arc::clone(&origin),
                    batch: Arc::new(stamped),
                };
                broadcast(&mut outputs, &message);
            }
            RResult::RErr(e) => {
                worker.fatal("read", &e);
                break;
            }
        }
    }
    worker.done(&mut plugin);
    worker.into_report()
}

/// Evaluates records with an event plugin and sends the events to `outputs`.
pub(crate) fn run_event(
    mut worker: Worker,
    stamp: Stamp,
    input: Receiver<Message>,
    mut outputs: Vec<Sender<Message>>,
) -> WorkerReport {
    let Some(mut plugin) = worker.construct() else {
        return worker.report;
    };
    let origin: Arc<str> = Arc::from(worker.name.as_str());
    let mut emit = |worker: &mut Worker, events: RVec<RString>| {
        if !events.is_empty() {
            // Check summaries (what the checks evaluated) are not events.
            let findings = events
                .iter()
                .filter(|e| !is_check_summary(e.as_str()))
                .count() as u64;
            worker.report.produced += findings;
            worker.counts.events(findings);
            let stamped = stamp_all(worker, &stamp, &events);
            let message = Message::Records {
                origin: Arc::clone(&origin),
                batch: Arc::new(stamped),
            };
            broadcast(&mut outputs, &message);
        }
    };
    for message in &input {
        let Message::Records { batch, .. } = message else {
            continue;
        };
        let records: Vec<RStr<'_>> = batch.iter().map(RStr::from_str).collect();
        let watched = super::watchdog::watch(&worker.name, "eval");
        let result = plugin.eval(RSlice::from_slice(&records));
        drop(watched);
        match result {
            RResult::ROk(outcome) => {
                let events = worker.outcome(outcome);
                emit(&mut worker, events);
            }
            RResult::RErr(e) => {
                worker.fatal("eval", &e);
                break;
            }
        }
    }
    drop(input);
    let events = worker.done(&mut plugin);
    emit(&mut worker, events);
    worker.into_report()
}

/// Writes records to a store or alert plugin, stamped with the target.
pub(crate) fn run_sink(mut worker: Worker, stamp: Stamp, input: Receiver<Message>) -> WorkerReport {
    let Some(mut plugin) = worker.construct() else {
        return worker.report;
    };
    for message in &input {
        let (batch, origin) = match &message {
            Message::Records { origin, batch } => {
                (target_stamped(&stamp, batch.iter()), Some(origin))
            }
            Message::Marker(marker) => (
                target_stamped(&stamp, std::iter::once(marker.as_str())),
                None,
            ),
        };
        let counted = origin.is_some();
        let records: Vec<RStr<'_>> = batch.iter().map(RStr::from_str).collect();
        let records = RSlice::from_slice(&records);
        let watched = super::watchdog::watch(&worker.name, "write");
        let result = match origin {
            Some(origin) => plugin.write_from(RStr::from_str(origin), records),
            None => plugin.write(records),
        };
        drop(watched);
        match result {
            RResult::ROk(outcome) => {
                let lost_before = worker.report.records_lost;
                worker.outcome(outcome);
                if counted {
                    let lost = worker.report.records_lost - lost_before;
                    let written = (records.len() as u64).saturating_sub(lost);
                    worker.report.written += written;
                    worker.counts.written(written);
                }
            }
            RResult::RErr(e) => {
                worker.fatal("write", &e);
                break;
            }
        }
    }
    drop(input);
    worker.done(&mut plugin);
    worker.into_report()
}

/// The records with the target stamp added, in one buffer.
fn target_stamped<'a>(
    stamp: &Stamp,
    records: impl ExactSizeIterator<Item = &'a str>,
) -> RecordBatch {
    let mut batch = RecordBatch::default();
    for record in records {
        let _ = batch.push(|out| {
            stamp.splice(record, out);
            Ok::<_, ()>(())
        });
    }
    batch
}
