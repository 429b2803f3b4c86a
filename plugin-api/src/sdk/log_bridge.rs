//! Forwards the plugin library's `log` records to the host's logger.
//!
//! Each library has its own copy of the `log` crate's globals, so without this
//! a plugin's log lines would vanish.

use crate::{HostContext, LogFn};
use abi_stable::std_types::RStr;
use std::sync::OnceLock;

static HOST_LOG: OnceLock<LogFn> = OnceLock::new();

struct HostLogger;

impl log::Log for HostLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if let (true, Some(host_log)) = (self.enabled(record.metadata()), HOST_LOG.get()) {
            let message = record.args().to_string();
            let message = super::secret::redact(&message);
            host_log(
                record.level() as u8,
                RStr::from_str(record.target()),
                RStr::from_str(&message),
            );
        }
    }

    fn flush(&self) {}
}

static LOGGER: HostLogger = HostLogger;

/// Routes this library's `log` output to the host (idempotent).
pub(crate) fn install(host: &HostContext) {
    if HOST_LOG.set(host.log).is_ok() {
        // Fails only if the plugin set its own logger, which then stays.
        let _ = log::set_logger(&LOGGER);
    }
    log::set_max_level(level_filter(host.max_log_level));
}

fn level_filter(level: u8) -> log::LevelFilter {
    match level {
        0 => log::LevelFilter::Off,
        1 => log::LevelFilter::Error,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Info,
        4 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    }
}
