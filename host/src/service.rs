//! Running unattended: the schedule loop, shutdown signals with a grace
//! period, and the run history.
//!
//! - Runs never overlap: the loop runs one run at a time, and run times that
//!   come due while a run is going are skipped with a warning.
//! - SIGINT/SIGTERM while idle: exit 0 at once. During a run: clouds stop
//!   reading, stores and alerts flush what they have (`done` is still called
//!   once on each), and the process exits with 128 + the signal number; if the
//!   run has not wound down within the grace period, or a second signal comes,
//!   it exits at once.

use crate::audit::{self, EngineOptions, StopFlag};
use crate::config::Config;
use crate::exit;
use crate::history::{self, RunRecord};
use crate::notify::Notifier;
use crate::plugins::Registry;
use crate::schedule::Schedule;
use chrono::{Local, Utc};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The default grace period for a run to wind down after a signal.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(30);

/// Shutdown state shared by the signal thread and the run loop.
#[derive(Debug, Default)]
pub struct Shutdown {
    /// The first signal received (0: none).
    signal: AtomicI32,
    /// Tells the engine to stop the clouds.
    stop: StopFlag,
    /// Whether a run is going; the condvar is notified when it changes and
    /// when a signal arrives.
    running: Mutex<bool>,
    changed: Condvar,
}

impl Shutdown {
    /// The signal that asked for shutdown, if any.
    pub fn signal(&self) -> Option<i32> {
        Some(self.signal.load(Ordering::SeqCst)).filter(|s| *s != 0)
    }

    /// Records a shutdown request (as the first signal would) and returns
    /// whether a run was going. `on_idle` runs first when none was: the main
    /// thread exits as soon as it sees the request. Holding the lock makes
    /// the check and the request one step, so a run cannot start in between.
    pub fn request(&self, signal: i32, on_idle: impl FnOnce()) -> bool {
        let running = self.lock();
        if !*running {
            on_idle();
        }
        self.signal.store(signal, Ordering::SeqCst);
        self.stop.stop();
        self.changed.notify_all();
        *running
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, bool> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `deadline` or a shutdown request; true if shutdown was requested.
    fn wait_until(&self, deadline: chrono::DateTime<Utc>) -> bool {
        let mut guard = self.lock();
        loop {
            if self.signal().is_some() {
                return true;
            }
            let Ok(left) = (deadline - Utc::now()).to_std() else {
                return false;
            };
            if left.is_zero() {
                return false;
            }
            guard = self
                .changed
                .wait_timeout(guard, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Marks a run as started; false if shutdown was already requested.
    fn begin_run(&self) -> bool {
        let mut running = self.lock();
        if self.signal().is_some() {
            return false;
        }
        *running = true;
        true
    }

    fn end_run(&self) {
        *self.lock() = false;
        self.changed.notify_all();
    }

    /// Waits up to `grace` for the current run to end; true if it ended.
    fn wait_for_run_end(&self, grace: Duration) -> bool {
        let guard = self.lock();
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, grace, |running| *running)
            .unwrap_or_else(|e| e.into_inner());
        !*guard
    }
}

/// Starts the thread that turns SIGINT/SIGTERM into shutdown requests.
pub fn handle_signals(shutdown: Arc<Shutdown>, grace: Duration) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        for signal in signals.forever() {
            let name = signal_name(signal);
            if shutdown.signal().is_some() {
                log::error!("Received {name} again; exiting now.");
                std::process::exit(128 + signal);
            }
            let running = shutdown.request(signal, || log::info!("Received {name} while idle; exiting."));
            if !running {
                continue;
            }
            log::warn!(
                "Received {name} during a run: stopping the clouds and letting stores and alerts flush; exiting within {} s (send it again to exit now).",
                grace.as_secs_f64()
            );
            let watchdog = Arc::clone(&shutdown);
            std::thread::spawn(move || {
                if !watchdog.wait_for_run_end(grace) {
                    log::error!("The run did not wind down within the grace period of {} s; exiting.", grace.as_secs_f64());
                    std::process::exit(128 + signal);
                }
            });
        }
    })?;
    Ok(())
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// Keeps `record` in the findings state's run history too (the whole
/// estate's history when the state is shared), unless findings are not kept.
fn record_in_state(config: &Config, record: &RunRecord) {
    let state = config.state.clone().unwrap_or_default();
    if !state.enabled() {
        return;
    }
    let kept = serde_json::to_string(record)
        .map_err(|e| e.to_string())
        .and_then(|line| {
            let started = record
                .started
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            state.open()?.append_run(&started, &line)
        });
    if let Err(e) = kept {
        log::error!(
            "Cannot record this run in the history of the findings state {}, error: {e}",
            state.describe()
        );
    }
}

/// Runs audits once or on a schedule, recording each run in the history.
pub struct Service<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// Where plugins come from.
    pub registry: &'a Registry,
    /// Shutdown state.
    pub shutdown: Arc<Shutdown>,
    /// The history file.
    pub history: PathBuf,
    /// The audit notification emails.
    pub notifier: Notifier,
    /// Whether to show live progress lines during a run and a summary table
    /// on stdout after it (`-n` on a terminal, without `--quiet`).
    pub summary: bool,
    /// This process's part of a sharded run.
    pub shard: Option<cloudmarker_plugin_api::sdk::shard::Shard>,
}

impl Service<'_> {
    /// Runs the audits now; returns the exit status.
    pub fn run_now(&self) -> u8 {
        if self.config.run.is_empty() {
            log::warn!("The run list is empty; there is nothing to do.");
            return exit::SUCCESS;
        }
        if !self.shutdown.begin_run() {
            return self.signal_status();
        }
        let started = Utc::now();
        self.notifier.audits_started(started);
        let report = audit::run_audits(
            self.config,
            self.registry,
            EngineOptions {
                progress: self.summary,
                shard: self.shard,
                ..EngineOptions::default()
            },
            &self.shutdown.stop,
            &self.notifier,
        );
        self.notifier.audits_ended(started, Utc::now());
        if self.summary {
            print!("\n{}", report.table());
        }
        let status = if report.interrupted {
            self.signal_status()
        } else if report.succeeded() {
            exit::SUCCESS
        } else {
            exit::PLUGIN_FAILED
        };
        let record = RunRecord::new(&report, started, Utc::now(), status);
        if let Err(e) = history::append(&self.history, &record) {
            log::error!(
                "Cannot append to the run history {}, error: {e}",
                self.history.display()
            );
        }
        record_in_state(self.config, &record);
        // `report: true` on a filestore: the run's page beside its outputs,
        // once the findings state and the run history hold the run.
        crate::report::beside::write_after_run(self.config);
        self.shutdown.end_run();
        status
    }

    /// Waits for each run time of `schedule` and runs the audits; with
    /// `once`, only for the next one. Returns the exit status.
    pub fn run_scheduled(&self, schedule: &Schedule, once: bool) -> u8 {
        log::info!("Running on schedule {schedule}.");
        let mut status = exit::SUCCESS;
        loop {
            let Some(next) = schedule.next_after(Utc::now()) else {
                log::warn!("Schedule {schedule} has no more run times; exiting.");
                return status;
            };
            log::info!(
                "Next run at {}.",
                next.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S %z")
            );
            if self.shutdown.wait_until(next) {
                return exit::SUCCESS;
            }
            status = self.run_now();
            if self.shutdown.signal().is_some() {
                return status;
            }
            let skipped = schedule.count_between(next, Utc::now());
            if skipped > 0 {
                log::warn!("Skipped {skipped} scheduled run(s) that came due while this run was going; runs never overlap.");
            }
            if once {
                return status;
            }
        }
    }

    fn signal_status(&self) -> u8 {
        self.shutdown
            .signal()
            .map_or(exit::PLUGIN_FAILED, exit::interrupted)
    }
}
