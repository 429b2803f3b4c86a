//! Helpers for plugins' own unit tests (through the rlib): what a piece of
//! plugin code logs, as the host would receive it.
//!
//! ```
//! use cloudmarker_plugin_api::sdk::testing::capture_logs;
//!
//! let (answer, logged) = capture_logs(|| {
//!     log::warn!("Skipped a record.");
//!     42
//! });
//! assert_eq!(answer, 42);
//! assert_eq!(logged, vec![(log::Level::Warn, "Skipped a record.".to_string())]);
//! ```

use std::cell::RefCell;

thread_local! {
    static LOGGED: RefCell<Option<Vec<(log::Level, String)>>> = const { RefCell::new(None) };
}

/// Keeps the log lines of the threads that are capturing, so that each
/// test (tests run on threads of their own) sees only its own lines.
struct ThreadLogger;

impl log::Log for ThreadLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        LOGGED.with(|logged| {
            if let Some(lines) = logged.borrow_mut().as_mut() {
                lines.push((record.level(), record.args().to_string()));
            }
        });
    }

    fn flush(&self) {}
}

/// Runs `f` and returns what it returned with the lines it logged on this
/// thread, every level. Installs a process-wide logger the first time (a
/// test process has no other); lines of other threads are not kept.
pub fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, Vec<(log::Level, String)>) {
    static LOGGER: ThreadLogger = ThreadLogger;
    // Another test may have installed it already; that is fine.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Trace);
    LOGGED.with(|logged| *logged.borrow_mut() = Some(Vec::new()));
    let answer = f();
    let lines = LOGGED.with(|logged| logged.borrow_mut().take().unwrap_or_default());
    (answer, lines)
}
