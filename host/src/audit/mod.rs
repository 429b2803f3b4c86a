//! The audit engine: runs every audit in `run` concurrently.
//!
//! Within an audit, each plugin instance runs on its own thread. Records flow
//! clouds -> (stores, events) and events -> alerts over bounded channels that
//! block when full, so memory stays flat whatever the record count and the
//! slowest consumer sets the pace (it is never allowed to drop records).
//!
//! Order of an audit:
//! 1. load every plugin library and check its kinds against its role;
//! 2. send `begin_audit` to stores and alerts, start all workers;
//! 3. when all clouds are done, send `end_audit` to stores and close the
//!    store and event inputs;
//! 4. when stores and events are done, send `end_audit` to alerts and close
//!    their inputs.

pub mod progress;
mod relay;
mod report;
mod version;
mod watchdog;
mod workers;

pub use report::{AuditReport, RunReport, WorkerReport};
pub use version::new_audit_version;

use crate::config::{AuditConfig, Config, Role};
use crate::findings::scopes::Scopes;
use crate::findings::tracker::Tracker;
use crate::plugins::{LoadedPlugin, Registry};
use crate::record::{end_marker, marker, Stamp};
use cloudmarker_plugin_api::record::{com, BEGIN_AUDIT};
use cloudmarker_plugin_api::sdk::shard::{self, Shard};
use cloudmarker_plugin_api::PluginKinds;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, ScopedJoinHandle};
use std::time::Instant;
use workers::{Message, Worker};

/// Tuning of the engine.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    /// Records per batch read from a cloud (the unit that crosses the FFI).
    pub batch_size: usize,
    /// Batches a channel holds before its sender blocks.
    pub channel_capacity: usize,
    /// Whether to show live progress lines (`-n` on a terminal).
    pub progress: bool,
    /// This process's part of a sharded run: cloud plugins read only its
    /// subscriptions, projects and accounts, every record and event carries
    /// `com.shard`, and findings are resolved only in the scopes it read.
    pub shard: Option<Shard>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            batch_size: 256,
            channel_capacity: 8,
            progress: false,
            shard: None,
        }
    }
}

/// Asks a run to stop early (a shutdown signal): clouds stop reading, and
/// everything already read is still delivered, flushed and `done`.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the flag is set.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Called as each audit begins and ends (the audit notifications).
pub trait AuditHooks: Sync {
    /// Audit `audit_key` is starting.
    fn audit_started(&self, audit_key: &str, at: chrono::DateTime<chrono::Utc>) {
        let _ = (audit_key, at);
    }

    /// Audit `audit_key` has ended.
    fn audit_ended(
        &self,
        audit_key: &str,
        started: chrono::DateTime<chrono::Utc>,
        ended: chrono::DateTime<chrono::Utc>,
    ) {
        let _ = (audit_key, started, ended);
    }
}

/// Hooks that do nothing.
pub struct NoHooks;

impl AuditHooks for NoHooks {}

/// Runs all audits listed in `config.run` concurrently, sharing one audit
/// version. When `stop` is set, the clouds stop reading and the audits wind
/// down as if the clouds had finished.
pub fn run_audits(
    config: &Config,
    registry: &Registry,
    options: EngineOptions,
    stop: &StopFlag,
    hooks: &dyn AuditHooks,
) -> RunReport {
    let audit_version = new_audit_version();
    log::info!(
        "Starting audits {} with audit version {audit_version}{}.",
        config.run.join(", "),
        options
            .shard
            .map(|s| format!(", shard {s}"))
            .unwrap_or_default()
    );
    // Every event's com.compliance, from the benchmark frameworks (read
    // again each run, so that edits to them take effect).
    let compliance = crate::compliance::Index::for_run(config);
    let audits = thread::scope(|scope| {
        let handles: Vec<_> = config
            .run
            .iter()
            .map(|key| {
                let audit = Audit {
                    key,
                    version: &audit_version,
                    config,
                    audit: config.audits.get(key.as_str()).cloned().unwrap_or_default(),
                    registry,
                    options,
                    stop,
                    hooks,
                    compliance: compliance.clone(),
                };
                thread::Builder::new()
                    .name(key.clone())
                    .spawn_scoped(scope, move || audit.run())
                    .expect("spawning an audit thread")
            })
            .collect();
        handles
            .into_iter()
            .zip(&config.run)
            .map(|(handle, key)| {
                handle.join().unwrap_or_else(|_| {
                    log::error!("Audit {key} crashed; this is a bug in cloudmarker.");
                    let mut crashed = WorkerReport::new(key, Role::Cloud);
                    crashed.failures = 1;
                    crashed.fatal = true;
                    AuditReport {
                        audit_key: key.clone(),
                        workers: vec![crashed],
                        duration: Default::default(),
                    }
                })
            })
            .collect()
    });
    let report = RunReport {
        audit_version,
        audits,
        interrupted: stop.is_stopped(),
        shard: options.shard,
    };
    for audit in &report.audits {
        log::info!("{audit}");
    }
    report
}

struct Audit<'a> {
    key: &'a str,
    version: &'a str,
    config: &'a Config,
    audit: AuditConfig,
    registry: &'a Registry,
    options: EngineOptions,
    stop: &'a StopFlag,
    hooks: &'a dyn AuditHooks,
    /// The `com.compliance` of events, by their check (none: the frameworks
    /// could not be read, and events keep their plugins' own).
    compliance: Option<Arc<crate::compliance::Index>>,
}

/// A worker ready to start, with the channel it reads (if any).
struct Planned {
    worker: Worker,
    key: String,
    input: Option<(Sender<Message>, Receiver<Message>)>,
}

/// The workers of an audit, by role, and the reports of those that could
/// not be started.
struct Plan {
    clouds: Vec<Planned>,
    stores: Vec<Planned>,
    events: Vec<Planned>,
    alerts: Vec<Planned>,
    failed: Vec<WorkerReport>,
}

/// The inputs of an audit's stores, events and alerts, which it closes
/// role by role as their producers finish.
struct Inputs {
    stores: Vec<Sender<Message>>,
    events: Vec<Sender<Message>>,
    alerts: Vec<Sender<Message>>,
}

impl Inputs {
    fn of(plan: &Plan) -> Self {
        let senders = |planned: &[Planned]| -> Vec<Sender<Message>> {
            planned
                .iter()
                .filter_map(|p| p.input.as_ref().map(|(tx, _)| tx.clone()))
                .collect()
        };
        Self {
            stores: senders(&plan.stores),
            events: senders(&plan.events),
            alerts: senders(&plan.alerts),
        }
    }
}

/// The findings relay between the event and the alert plugins (see
/// [`relay`]), before it starts.
struct FindingsRelay {
    tx: Sender<Message>,
    rx: Receiver<Message>,
    routes: Vec<relay::Route>,
    tracker: Option<Tracker>,
    kept: bool,
    /// How completely the clouds read, set once they are done.
    complete: Arc<OnceLock<relay::Collection>>,
    /// The scopes that the clouds read.
    scopes: Arc<Scopes>,
}

/// The threads of a running audit, by role.
struct Running<'scope> {
    clouds: Vec<Handle<'scope>>,
    stores: Vec<Handle<'scope>>,
    events: Vec<Handle<'scope>>,
    relay: ScopedJoinHandle<'scope, (relay::Relayed, Option<Tracker>)>,
    alerts: Vec<Handle<'scope>>,
}

impl Audit<'_> {
    /// Runs the audit in the order the module's docs give.
    fn run(self) -> AuditReport {
        let counts = Arc::new(progress::Counts::default());
        let _line = self
            .options
            .progress
            .then(|| progress::AuditLine::show(self.key, counts.clone()));
        let started = self.announce_start();
        let plan = self.plan_workers(&counts);
        let inputs = Inputs::of(&plan);
        let findings = self.findings_relay(&plan.alerts);
        self.send_begin(&inputs);
        let workers = self.run_workers(plan, inputs, findings);
        self.finish(started, workers)
    }

    /// Logs and announces the start of the audit; when it started.
    fn announce_start(&self) -> (Instant, chrono::DateTime<chrono::Utc>) {
        let started = (Instant::now(), chrono::Utc::now());
        log::info!("Audit started.");
        self.hooks.audit_started(self.key, started.1);
        started
    }

    /// Loads the plugins of every role.
    fn plan_workers(&self, counts: &Arc<progress::Counts>) -> Plan {
        let mut failed = Vec::new();
        let mut plan = |role| self.plan(role, counts, &mut failed);
        let (clouds, stores, events, alerts) = (
            plan(Role::Cloud),
            plan(Role::Store),
            plan(Role::Event),
            plan(Role::Alert),
        );
        Plan {
            clouds,
            stores,
            events,
            alerts,
            failed,
        }
    }

    /// The findings relay that will feed `alerts`, with this run's findings
    /// in the state database unless findings are not kept.
    fn findings_relay(&self, alerts: &[Planned]) -> FindingsRelay {
        let routes = self.routes(alerts);
        let (tx, rx) = bounded(self.options.channel_capacity);
        let kept = !matches!(&self.config.state, Some(state) if !state.enabled());
        FindingsRelay {
            tx,
            rx,
            routes,
            tracker: if kept { self.tracker() } else { None },
            kept,
            complete: Arc::new(OnceLock::new()),
            scopes: Arc::new(Scopes::default()),
        }
    }

    /// Sends `begin_audit` to the stores and the alerts.
    fn send_begin(&self, inputs: &Inputs) {
        let begin = Message::Marker(Arc::new(marker(BEGIN_AUDIT, self.key, self.version)));
        for tx in inputs.stores.iter().chain(&inputs.alerts) {
            let _ = tx.send(begin.clone());
        }
    }

    /// Runs every worker and the findings relay to the end; the reports of
    /// every worker (those that could not start first).
    fn run_workers(
        &self,
        plan: Plan,
        inputs: Inputs,
        findings: FindingsRelay,
    ) -> Vec<WorkerReport> {
        let complete = Arc::clone(&findings.complete);
        thread::scope(|scope| {
            let (running, failed) = self.start_workers(scope, plan, &inputs, findings);
            self.wind_down(running, inputs, &complete, failed)
        })
    }

    /// Starts the workers, consumers first: alerts, stores, the findings
    /// relay, events, then clouds.
    fn start_workers<'scope>(
        &self,
        scope: &'scope thread::Scope<'scope, '_>,
        plan: Plan,
        inputs: &Inputs,
        findings: FindingsRelay,
    ) -> (Running<'scope>, Vec<WorkerReport>) {
        let sink = |(w, stamp, rx): (Worker, Stamp, Receiver<Message>)| {
            spawn(scope, w, move |w| workers::run_sink(w, stamp, rx))
        };
        let alerts = self.prepare(plan.alerts).map(sink).collect();
        let stores = self.prepare(plan.stores).map(sink).collect();
        let scopes = Arc::clone(&findings.scopes);
        let (relay_tx, relay) = self.start_relay(scope, findings);
        let events = self
            .prepare(plan.events)
            .map(|(w, stamp, rx)| {
                let outputs = vec![relay_tx.clone()];
                spawn(scope, w, move |w| workers::run_event(w, stamp, rx, outputs))
            })
            .collect();
        drop(relay_tx);
        let batch_size = self.options.batch_size;
        let clouds = self
            .prepare(plan.clouds)
            .map(|(w, stamp, _)| {
                let outputs = inputs
                    .stores
                    .iter()
                    .chain(&inputs.events)
                    .cloned()
                    .collect();
                let stop = self.stop.clone();
                let scopes = Arc::clone(&scopes);
                spawn(scope, w, move |w| {
                    workers::run_cloud(w, stamp, outputs, batch_size, &stop, &scopes)
                })
            })
            .collect();
        let running = Running {
            clouds,
            stores,
            events,
            relay,
            alerts,
        };
        (running, plan.failed)
    }

    /// Starts the findings relay; the input of the relay, for the events.
    fn start_relay<'scope>(
        &self,
        scope: &'scope thread::Scope<'scope, '_>,
        findings: FindingsRelay,
    ) -> (
        Sender<Message>,
        ScopedJoinHandle<'scope, (relay::Relayed, Option<Tracker>)>,
    ) {
        let FindingsRelay {
            tx,
            rx,
            routes,
            tracker,
            kept,
            complete,
            scopes,
        } = findings;
        let relay = thread::Builder::new()
            .name(format!("{}_findings", self.key))
            .spawn_scoped(scope, move || {
                relay::run(rx, routes, tracker, kept, complete, scopes)
            })
            .expect("spawning the findings relay");
        (tx, relay)
    }

    /// Waits for the workers role by role, closing the inputs of each role
    /// once its producers are done: clouds, then stores and events (with
    /// the collection's completeness for the relay), then the relay, then
    /// alerts; then records the run's findings. The reports follow those
    /// in `reports`.
    fn wind_down(
        &self,
        running: Running<'_>,
        inputs: Inputs,
        complete: &OnceLock<relay::Collection>,
        mut reports: Vec<WorkerReport>,
    ) -> Vec<WorkerReport> {
        let Inputs {
            stores,
            events,
            alerts,
        } = inputs;
        reports.extend(join_all(running.clouds));
        let _ = complete.set(self.collection_complete(&reports));
        close(stores, &self.end_marker(&reports, Role::Cloud));
        drop(events);
        reports.extend(join_all(running.stores));
        reports.extend(join_all(running.events));
        let (relayed, tracker) = running.relay.join().unwrap_or_else(|_| {
            log::error!("The findings relay stopped unexpectedly.");
            (relay::Relayed::default(), None)
        });
        close(alerts, &self.end_marker(&reports, Role::Event));
        let alert_reports = join_all(running.alerts);
        let alerts_ok = alert_reports.iter().all(|r| !r.fatal && r.failures == 0);
        reports.extend(alert_reports);
        if let Some(failure) = commit_findings(tracker, alerts_ok, relayed) {
            log::error!("{failure}");
            let mut report = WorkerReport::new(&format!("{}_findings", self.key), Role::Event);
            report.failures = 1;
            reports.push(report);
        }
        reports
    }

    /// Announces the end of the audit; its report.
    fn finish(
        &self,
        (started, started_at): (Instant, chrono::DateTime<chrono::Utc>),
        workers: Vec<WorkerReport>,
    ) -> AuditReport {
        self.hooks
            .audit_ended(self.key, started_at, chrono::Utc::now());
        AuditReport {
            audit_key: self.key.to_string(),
            workers,
            duration: started.elapsed(),
        }
    }

    /// How completely this run read what its clouds can see (see
    /// [`relay::Collection`]): which findings it did not see again may be
    /// resolved. A sharded run read only its own scopes, so at best it
    /// resolves findings in those ([`relay::Collection::Partial`]).
    fn collection_complete(&self, reports: &[WorkerReport]) -> relay::Collection {
        let clouds = || reports.iter().filter(|r| r.role == Role::Cloud);
        if self.stop.is_stopped() || clouds().any(|r| r.fatal) {
            relay::Collection::Failed
        } else if clouds().all(|r| r.failures == 0) && self.options.shard.is_none() {
            relay::Collection::Complete
        } else {
            relay::Collection::Partial
        }
    }

    /// The alert plugins' inputs, each with the findings it receives.
    fn routes(&self, alerts: &[Planned]) -> Vec<relay::Route> {
        alerts
            .iter()
            .filter_map(|planned| {
                let (tx, _) = planned.input.as_ref()?;
                let described: serde_json::Value =
                    serde_json::from_str(&planned.worker.plugin.info.params).unwrap_or_default();
                let notifies_people = cloudmarker_plugin_api::sdk::schema::notifies(&described);
                let notify = self.config.plugins[&planned.key].notify.clone();
                let notify = notify.unwrap_or_else(|| {
                    if notifies_people {
                        crate::findings::Notify::changes()
                    } else {
                        crate::findings::Notify::All(crate::findings::AllKeyword::All)
                    }
                });
                Some(relay::Route {
                    tx: tx.clone(),
                    notify,
                })
            })
            .collect()
    }

    /// The findings of this run of the audit, in the state database; none
    /// (and an error in the log) when it cannot be opened.
    fn tracker(&self) -> Option<Tracker> {
        let state = self.config.state.clone().unwrap_or_default();
        let now = chrono::Utc::now();
        let mutes = crate::findings::mutes::Mutes::new(
            self.config.mutes.clone().unwrap_or_default(),
            now.with_timezone(&chrono::Local).date_naive(),
        );
        let opened = state.open().map_err(String::from);
        let started = opened.and_then(|db| {
            Tracker::start(
                db,
                self.key,
                self.version,
                &now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                Arc::new(mutes),
            )
            .map(|tracker| tracker.in_shard(self.options.shard.map(|s| s.to_string())))
        });
        match started {
            Ok(tracker) => Some(tracker),
            Err(e) => {
                log::error!("Cannot keep this run's findings: {e}. Alerts receive every event without a status.");
                None
            }
        }
    }

    /// The `end_audit` marker for the consumers of `producers`: it says
    /// whether the run was interrupted and which producers failed, so that a
    /// store can keep its previous output for them.
    fn end_marker(&self, reports: &[WorkerReport], producers: Role) -> Message {
        let failed: Vec<&str> = reports
            .iter()
            .filter(|r| r.role == producers && r.fatal)
            .map(|r| r.worker.as_str())
            .collect();
        let record = end_marker(self.key, self.version, self.stop.is_stopped(), &failed);
        Message::Marker(Arc::new(record))
    }

    /// Loads the plugins of `role`; failures go to `failed` as reports.
    fn plan(
        &self,
        role: Role,
        counts: &Arc<progress::Counts>,
        failed: &mut Vec<WorkerReport>,
    ) -> Vec<Planned> {
        let mut planned = Vec::new();
        for key in self.audit.keys(role) {
            let name = format!("{}_{key}", self.key);
            let mut report = WorkerReport::new(&name, role);
            let plugin_config = &self.config.plugins[key];
            let loaded = self.load(key, role).and_then(|plugin| {
                let params = match self.options.shard.filter(|_| role == Role::Cloud) {
                    Some(shard) => shard_params(plugin_config, &plugin, shard)?,
                    None => plugin_config.params_json(),
                };
                Ok((plugin, params))
            });
            match loaded {
                Ok((plugin, params)) => {
                    let isolated = plugin_config.isolation.or(self.config.isolation)
                        == Some(crate::config::Isolation::Process);
                    if !isolated
                        && plugin_config.limits() != crate::plugins::isolate::Limits::default()
                    {
                        log::warn!("Plugin {key}: memory_limit, timeout and call_timeout apply only with isolation: process; this plugin runs in the host process.");
                    }
                    let input =
                        (role != Role::Cloud).then(|| bounded(self.options.channel_capacity));
                    let worker = Worker {
                        name,
                        role,
                        plugin,
                        params,
                        isolation: isolated.then(|| plugin_config.limits()),
                        report,
                        counts: counts.clone(),
                    };
                    planned.push(Planned {
                        worker,
                        key: key.clone(),
                        input,
                    });
                }
                Err(reason) => {
                    log::error!("Cannot start {role} worker {name}, error: {reason}");
                    report.failures = 1;
                    report.fatal = true;
                    counts.failure();
                    failed.push(report);
                }
            }
        }
        planned
    }

    /// Loads plugin `key` and checks that it can play `role`.
    fn load(&self, key: &str, role: Role) -> Result<Arc<LoadedPlugin>, String> {
        let plugin_config = &self.config.plugins[key];
        let plugin = self
            .registry
            .load(key, plugin_config)
            .map_err(|e| e.to_string())?;
        let needed = match role {
            Role::Cloud => PluginKinds::CLOUD,
            Role::Event => PluginKinds::EVENT,
            Role::Store => PluginKinds::STORE,
            Role::Alert => PluginKinds::ALERT,
        };
        if plugin.info.kinds.contains(needed) {
            Ok(plugin)
        } else {
            Err(format!(
                "plugin {key:?} ({}) is a {} plugin, but audits.{}.{} needs a {role} plugin",
                plugin.info.name,
                plugin.info.kinds,
                self.key,
                role.list_key()
            ))
        }
    }

    /// Gives each planned worker its stamp and input channel (a closed one
    /// for clouds, which have no input).
    fn prepare(
        &self,
        planned: Vec<Planned>,
    ) -> impl Iterator<Item = (Worker, Stamp, Receiver<Message>)> + '_ {
        planned.into_iter().map(|Planned { worker, key, input }| {
            let plugin_config = &self.config.plugins[&key];
            let value = plugin_config
                .alias_of
                .as_deref()
                .unwrap_or(&plugin_config.plugin);
            let class = class_name(value, &worker.plugin.info);
            let role = worker.role.name();
            let severity = self.config.plugins[&key].severity;
            let origin = || {
                let stamp = Stamp::origin(self.key, self.version, &key, &class, &worker.name, role);
                match self.options.shard {
                    Some(shard) => stamp.with(com::SHARD, &shard.to_string()),
                    None => stamp,
                }
            };
            let stamp = match worker.role {
                Role::Cloud => origin(),
                Role::Event => {
                    let stamp = match severity {
                        Some(severity) => origin().with(
                            cloudmarker_plugin_api::record::com::SEVERITY,
                            severity.name(),
                        ),
                        None => origin(),
                    };
                    match &self.compliance {
                        Some(index) => stamp.with_compliance(Arc::clone(index)),
                        None => stamp,
                    }
                }
                Role::Store | Role::Alert => Stamp::target(&key, &class, &worker.name, role),
            };
            let rx = input.map_or_else(|| bounded(0).1, |(_, rx)| rx);
            (worker, stamp, rx)
        })
    }
}

/// The params of cloud plugin `plugin` in shard `shard`: its own, with the
/// shard in the key the SDK takes out ([`shard::PARAM`]). A library built
/// against plugin-api before 0.1.2 would read the key as an unknown param,
/// and could not divide its work anyway: refused.
fn shard_params(
    plugin_config: &crate::config::PluginConfig,
    plugin: &LoadedPlugin,
    shard: Shard,
) -> Result<String, String> {
    let api = plugin.info.api_version.as_str();
    if !crate::plugins::api_at_least(api, SHARD_API) {
        return Err(format!(
            "plugin {} is built against plugin-api {api}, which cannot divide its work between shards (shard {shard} of a sharded run needs plugin-api {SHARD_API} or later); rebuild it, or run without --shard",
            plugin.info.name
        ));
    }
    let mut params = match &plugin_config.params {
        Some(serde_json::Value::Object(map)) => map.clone(),
        _ => serde_json::Map::new(),
    };
    params.insert(shard::PARAM.into(), serde_json::json!(shard));
    Ok(serde_json::Value::Object(params).to_string())
}

/// The first plugin-api that passes the shard to plugins.
const SHARD_API: &str = "0.1.2";

/// Records the run's findings once its alerts have them; why not, if they
/// could not be (a failure of the run).
fn commit_findings(
    tracker: Option<Tracker>,
    alerts_ok: bool,
    relayed: relay::Relayed,
) -> Option<String> {
    if relayed.failed {
        return Some("This run's findings were not recorded (no findings database).".into());
    }
    let tracker = tracker?;
    if !alerts_ok {
        log::warn!("An alert plugin failed: this run's findings are not recorded, so that the next run reports them again.");
        return None;
    }
    let started = std::time::Instant::now();
    match tracker.commit() {
        Ok(()) => {
            log::info!(
                "Recorded the findings of {} event(s); {} resolved ({:.2} s).",
                relayed.events,
                relayed.resolved,
                started.elapsed().as_secs_f64()
            );
            None
        }
        Err(e) => Some(format!(
            "Cannot record this run's findings: {e}. Their statuses are as before the run."
        )),
    }
}

/// Sends `last` (the `end_audit` marker) on each of `inputs`, then closes
/// them.
fn close(inputs: Vec<Sender<Message>>, last: &Message) {
    for tx in &inputs {
        let _ = tx.send(last.clone());
    }
}

type Handle<'scope> = (String, Role, ScopedJoinHandle<'scope, WorkerReport>);

/// Starts `run` on a thread named after the worker, so log lines carry it.
fn spawn<'scope, F>(
    scope: &'scope thread::Scope<'scope, '_>,
    worker: Worker,
    run: F,
) -> Handle<'scope>
where
    F: FnOnce(Worker) -> WorkerReport + Send + 'scope,
{
    let (name, role) = (worker.name.clone(), worker.role);
    let handle = thread::Builder::new()
        .name(name.clone())
        .spawn_scoped(scope, move || run(worker))
        .expect("spawning a worker thread");
    (name, role, handle)
}

fn join_all(handles: Vec<Handle<'_>>) -> Vec<WorkerReport> {
    handles
        .into_iter()
        .map(|(name, role, handle)| {
            handle.join().unwrap_or_else(|_| {
                log::error!("The {role} worker {name} crashed; this is a bug in cloudmarker.");
                let mut report = WorkerReport::new(&name, role);
                report.failures = 1;
                report.fatal = true;
                report
            })
        })
        .collect()
}

/// The class a record's `com.origin_class` / `target_class` names, as
/// upstream stamps it so that upstream dashboards and queries keep working:
/// the class of an original Cloudmarker class path (`plugin:
/// cloudmarker.clouds.azcloud.AzCloud` gives `AzCloud`), else the upstream
/// class the plugin declares (`PluginType::CLASS`), else the plugin's name.
fn class_name(value: &str, info: &cloudmarker_plugin_api::PluginInfo) -> String {
    if crate::plugins::class_module_name(value).is_some() {
        if let Some(class) = value.rsplit('.').next() {
            return class.to_string();
        }
    }
    let described: serde_json::Value = serde_json::from_str(&info.params).unwrap_or_default();
    cloudmarker_plugin_api::sdk::schema::class(&described)
        .unwrap_or(&info.name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::class_name;
    use cloudmarker_plugin_api::{PluginInfo, PluginKinds};

    fn info(params: &str) -> PluginInfo {
        PluginInfo {
            name: "azcloud".into(),
            version: "0.1.0".into(),
            description: "".into(),
            kinds: PluginKinds::CLOUD,
            params: params.into(),
            api_version: "0.1.1".into(),
        }
    }

    #[test]
    fn the_class_comes_from_the_path_then_the_plugin_then_its_name() {
        let declared = info(r#"{"$cloudmarker_params": {}, "class": "AzCloud"}"#);
        let undeclared = info("{}");
        let path = "cloudmarker.clouds.azcloud.AzCloudLegacy";
        assert_eq!(class_name(path, &declared), "AzCloudLegacy");
        assert_eq!(class_name("azcloud", &declared), "AzCloud");
        assert_eq!(class_name("azcloud", &undeclared), "azcloud");
        assert_eq!(
            class_name("/opt/p/libazcloud.so", &info("not json")),
            "azcloud"
        );
    }
}
