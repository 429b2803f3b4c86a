//! Says so when a plugin call takes long: `mockaudit_azcloud: still in read
//! after 60 s.`, and again every 60 s until it returns, so that a slow or
//! stuck plugin is visible in the log while it happens.
//!
//! The interval is 60 s; `CLOUDMARKER_SLOW_CALL_SECONDS` changes it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The default interval between the reports of a slow call.
pub const SLOW_CALL: Duration = Duration::from_secs(60);

/// A call in progress.
struct Call {
    worker: String,
    method: &'static str,
    started: Instant,
    reports: u32,
}

struct Watchdog {
    calls: Mutex<HashMap<u64, Call>>,
    next_id: AtomicU64,
    interval: Duration,
}

/// Watches a call until dropped.
pub struct Watched(u64);

/// Starts watching `worker`'s call of `method`.
pub fn watch(worker: &str, method: &'static str) -> Watched {
    let dog = watchdog();
    let id = dog.next_id.fetch_add(1, Ordering::Relaxed);
    let call = Call {
        worker: worker.to_string(),
        method,
        started: Instant::now(),
        reports: 0,
    };
    dog.calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, call);
    Watched(id)
}

impl Drop for Watched {
    fn drop(&mut self) {
        watchdog()
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.0);
    }
}

/// The process's watchdog, started on first use.
fn watchdog() -> &'static Watchdog {
    static DOG: OnceLock<Watchdog> = OnceLock::new();
    DOG.get_or_init(|| {
        let interval = std::env::var("CLOUDMARKER_SLOW_CALL_SECONDS")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(SLOW_CALL, Duration::from_secs_f64);
        let _ = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || patrol(interval));
        Watchdog {
            calls: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            interval,
        }
    })
}

/// Reports every call that has run another `interval`.
fn patrol(interval: Duration) {
    let tick = (interval / 4).min(Duration::from_secs(5));
    loop {
        std::thread::sleep(tick);
        let dog = watchdog();
        let mut calls = dog.calls.lock().unwrap_or_else(|e| e.into_inner());
        for call in calls.values_mut() {
            let due = dog.interval * (call.reports + 1);
            if call.started.elapsed() >= due {
                call.reports += 1;
                log::warn!(
                    "{}: still in {} after {} s.",
                    call.worker,
                    call.method,
                    due.as_secs_f64().round()
                );
            }
        }
    }
}
