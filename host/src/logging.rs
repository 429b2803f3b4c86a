//! Log output: lines with time, process id, level, worker and message, to
//! stdout and to a log file; and the bridge that brings plugins' lines here.
//!
//! Settings come from the original's `logger:` mapping (a Python
//! `dictConfig`): `logger.root.level` (or `logger.level`), the file handler's
//! `logger.handlers.file.filename`, and which of `console`/`file` are listed
//! in `logger.root.handlers`. `RUST_LOG` overrides the level.

use abi_stable::std_types::RStr;
use cloudmarker_plugin_api::HostContext;
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;

/// The default log file, as in the original.
pub const DEFAULT_LOG_FILE: &str = "/tmp/cloudmarker.log";

/// The logging settings read from the `logger:` config key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// The most verbose level to log.
    pub level: log::LevelFilter,
    /// Whether to log to stdout.
    pub console: bool,
    /// The log file, if file logging is on.
    pub file: Option<PathBuf>,
}

impl LogSettings {
    /// Reads the settings from the `logger:` value; returns them and
    /// warnings about values it could not use.
    pub fn from_config(logger: Option<&Value>) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let get = |path: &[&str]| path.iter().try_fold(logger?, |v, k| v.get(k));
        let level_value = get(&["level"]).or_else(|| get(&["root", "level"]));
        let level = match level_value.and_then(Value::as_str) {
            None => log::LevelFilter::Info,
            Some(name) => python_level(name).unwrap_or_else(|| {
                warnings.push(format!("logger: unknown level {name:?}; using INFO (use DEBUG, INFO, WARNING, ERROR or CRITICAL)"));
                log::LevelFilter::Info
            }),
        };
        let handlers: Option<Vec<&str>> = get(&["root", "handlers"])
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).collect());
        let enabled = |name: &str| handlers.as_ref().is_none_or(|h| h.contains(&name));
        let file = enabled("file").then(|| {
            get(&["handlers", "file", "filename"])
                .and_then(Value::as_str)
                .unwrap_or(DEFAULT_LOG_FILE)
                .into()
        });
        let settings = Self {
            level,
            console: enabled("console"),
            file,
        };
        (settings, warnings)
    }
}

fn python_level(name: &str) -> Option<log::LevelFilter> {
    Some(match name.to_ascii_uppercase().as_str() {
        "NOTSET" | "TRACE" => log::LevelFilter::Trace,
        "DEBUG" => log::LevelFilter::Debug,
        "INFO" => log::LevelFilter::Info,
        "WARNING" | "WARN" => log::LevelFilter::Warn,
        "ERROR" | "CRITICAL" | "FATAL" => log::LevelFilter::Error,
        "OFF" => log::LevelFilter::Off,
        _ => return None,
    })
}

/// Writes every line to stdout and the log file.
struct Tee {
    console: bool,
    file: Option<File>,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.console {
            io::stdout().lock().write_all(buf)?;
        }
        if let Some(file) = &mut self.file {
            file.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}

/// Installs the logger. Returns warnings (e.g. a log file that cannot be
/// opened) for the caller to log once logging works.
pub fn init(settings: &LogSettings) -> Vec<String> {
    let mut warnings = Vec::new();
    let file = settings.file.as_ref().and_then(|path| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                warnings.push(format!(
                    "Cannot open log file {}, error: {e}; logging to stdout only.",
                    path.display()
                ))
            })
            .ok()
    });
    let console = settings.console || file.is_none() && settings.file.is_some();
    let pid = std::process::id();
    let mut builder = env_logger::Builder::new();
    builder
        .filter_level(settings.level)
        .parse_env(env_logger::Env::default())
        .format(move |buf, record| {
            let thread = std::thread::current();
            writeln!(
                buf,
                "{} [{pid}] {} {} {} - {}",
                chrono::Local::now().format("%Y-%m-%d %H:%M:%S"),
                record.level(),
                thread.name().unwrap_or("-"),
                record.target(),
                record.args()
            )
        })
        .target(env_logger::Target::Pipe(Box::new(Tee { console, file })));
    if builder.try_init().is_err() {
        warnings.push("A logger was already installed; keeping it.".to_string());
    }
    warnings
}

/// The log function handed to plugins: their lines go through this logger
/// on the calling thread, so they carry the worker's name.
extern "C" fn host_log(level: u8, target: RStr<'_>, message: RStr<'_>) {
    let level = match level {
        1 => log::Level::Error,
        2 => log::Level::Warn,
        3 => log::Level::Info,
        4 => log::Level::Debug,
        _ => log::Level::Trace,
    };
    // Never unwind into the plugin.
    let _ = std::panic::catch_unwind(|| {
        log::logger().log(
            &log::Record::builder()
                .level(level)
                .target(target.as_str())
                .args(format_args!("{}", message.as_str()))
                .build(),
        );
    });
}

/// What plugins get from the host at construction.
pub fn host_context() -> HostContext {
    HostContext {
        log: host_log,
        max_log_level: log::max_level() as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base_config_logger_gives_info_console_and_tmp_file() {
        let loaded = crate::config::load(&[], |_| {}).unwrap();
        let (settings, warnings) = LogSettings::from_config(loaded.value.get("logger"));
        assert!(warnings.is_empty());
        assert_eq!(
            settings,
            LogSettings {
                level: log::LevelFilter::Info,
                console: true,
                file: Some(DEFAULT_LOG_FILE.into())
            }
        );
    }

    #[test]
    fn file_name_level_and_handlers_are_read() {
        let logger = json!({"root": {"level": "DEBUG", "handlers": ["file"]}, "handlers": {"file": {"filename": "log/x.log"}}});
        let (s, _) = LogSettings::from_config(Some(&logger));
        assert_eq!(
            s,
            LogSettings {
                level: log::LevelFilter::Debug,
                console: false,
                file: Some("log/x.log".into())
            }
        );
        let (s, _) = LogSettings::from_config(Some(
            &json!({"level": "warning", "root": {"handlers": ["console"]}}),
        ));
        assert_eq!(
            s,
            LogSettings {
                level: log::LevelFilter::Warn,
                console: true,
                file: None
            }
        );
    }

    #[test]
    fn unknown_level_warns_and_uses_info() {
        let (s, warnings) = LogSettings::from_config(Some(&json!({"level": "LOUD"})));
        assert_eq!(s.level, log::LevelFilter::Info);
        assert!(warnings[0].contains("\"LOUD\""), "{warnings:?}");
    }
}
