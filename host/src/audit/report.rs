//! What an audit did: counts per worker and per audit, and the summary lines.

use crate::config::Role;
use std::fmt;
use std::time::Duration;

/// What one worker (one plugin instance in one role) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerReport {
    /// `<audit_key>_<plugin_key>`.
    pub worker: String,
    /// The role the plugin played.
    pub role: Role,
    /// Records produced (clouds: read; events: events raised).
    pub produced: u64,
    /// Records written successfully (stores and alerts).
    pub written: u64,
    /// Problems the plugin reported and survived, plus its fatal error.
    pub failures: u64,
    /// Records lost because of those problems, where the plugin knows.
    pub records_lost: u64,
    /// Whether the plugin failed to load, construct or finish.
    pub fatal: bool,
}

impl WorkerReport {
    /// An empty report for `worker` in `role`.
    pub fn new(worker: &str, role: Role) -> Self {
        Self {
            worker: worker.to_string(),
            role,
            produced: 0,
            written: 0,
            failures: 0,
            records_lost: 0,
            fatal: false,
        }
    }
}

/// What one audit did.
#[derive(Debug, Clone)]
pub struct AuditReport {
    /// The audit key.
    pub audit_key: String,
    /// One report per worker, including those that failed to load.
    pub workers: Vec<WorkerReport>,
    /// How long the audit took.
    pub duration: Duration,
}

impl AuditReport {
    fn sum(&self, role: &[Role], field: impl Fn(&WorkerReport) -> u64) -> u64 {
        self.workers
            .iter()
            .filter(|w| role.contains(&w.role))
            .map(field)
            .sum()
    }

    /// Records read by the clouds.
    pub fn records_read(&self) -> u64 {
        self.sum(&[Role::Cloud], |w| w.produced)
    }

    /// Events raised by the event plugins.
    pub fn events(&self) -> u64 {
        self.sum(&[Role::Event], |w| w.produced)
    }

    /// Records written by stores and alerts.
    pub fn writes(&self) -> u64 {
        self.sum(&[Role::Store, Role::Alert], |w| w.written)
    }

    /// Failures of all workers.
    pub fn failures(&self) -> u64 {
        self.sum(&Role::ALL, |w| w.failures)
    }

    /// Records lost, as far as the plugins know.
    pub fn records_lost(&self) -> u64 {
        self.sum(&Role::ALL, |w| w.records_lost)
    }
}

impl fmt::Display for AuditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Audit {} finished: {} records read, {} events, {} writes, {} failures",
            self.audit_key,
            self.records_read(),
            self.events(),
            self.writes(),
            self.failures()
        )?;
        if self.records_lost() > 0 {
            write!(f, " ({} records lost)", self.records_lost())?;
        }
        write!(f, " in {:.3} s.", self.duration.as_secs_f64())
    }
}

/// What one run of all audits in `run` did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The audit version all audits of the run shared.
    pub audit_version: String,
    /// One report per audit.
    pub audits: Vec<AuditReport>,
    /// Whether the run was asked to stop early.
    pub interrupted: bool,
    /// The run's shard, in a sharded run.
    pub shard: Option<cloudmarker_plugin_api::sdk::shard::Shard>,
}

impl RunReport {
    /// A table for people: per audit and plugin, what it read or raised,
    /// wrote, its failures and the records lost, and each audit's time.
    pub fn table(&self) -> String {
        let header = [
            "audit", "plugin", "role", "records", "writes", "failures", "lost", "seconds",
        ];
        let mut rows: Vec<[String; 8]> = Vec::new();
        for audit in &self.audits {
            for (i, worker) in audit.workers.iter().enumerate() {
                let plugin = worker
                    .worker
                    .strip_prefix(&format!("{}_", audit.audit_key))
                    .unwrap_or(&worker.worker);
                let failures = if worker.fatal {
                    format!("{} (stopped)", worker.failures)
                } else {
                    worker.failures.to_string()
                };
                rows.push([
                    if i == 0 {
                        audit.audit_key.clone()
                    } else {
                        String::new()
                    },
                    plugin.to_string(),
                    worker.role.name().to_string(),
                    worker.produced.to_string(),
                    worker.written.to_string(),
                    failures,
                    worker.records_lost.to_string(),
                    if i == 0 {
                        format!("{:.2}", audit.duration.as_secs_f64())
                    } else {
                        String::new()
                    },
                ]);
            }
        }
        crate::table::render(header, &rows, "", 3)
    }

    /// Whether every plugin of every audit succeeded and the run was not interrupted.
    pub fn succeeded(&self) -> bool {
        !self.interrupted && self.audits.iter().all(|a| a.failures() == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_adds_up_workers() {
        let mut cloud = WorkerReport::new("a_c", Role::Cloud);
        cloud.produced = 10;
        let mut event = WorkerReport::new("a_e", Role::Event);
        event.produced = 4;
        let mut store = WorkerReport::new("a_s", Role::Store);
        store.written = 10;
        store.failures = 1;
        store.records_lost = 2;
        let mut alert = WorkerReport::new("a_s", Role::Alert);
        alert.written = 4;
        let report = AuditReport {
            audit_key: "a".into(),
            workers: vec![cloud, event, store, alert],
            duration: Duration::from_millis(1500),
        };
        assert_eq!(
            report.to_string(),
            "Audit a finished: 10 records read, 4 events, 14 writes, 1 failures (2 records lost) in 1.500 s."
        );
        let run = RunReport {
            audit_version: "v".into(),
            audits: vec![report],
            interrupted: false,
            shard: None,
        };
        assert!(!run.succeeded());
    }
}
