//! Log output: lines with time, process id, level, worker and message, to
//! stdout and to a log file; and the bridge that brings plugins' lines here.
//!
//! Settings come from the original's `logger:` mapping (a Python
//! `dictConfig`): `logger.root.level` (or `logger.level`), the file handler's
//! `logger.handlers.file.filename`, and which of `console`/`file` are listed
//! in `logger.root.handlers`. `RUST_LOG` overrides the level.

use abi_stable::std_types::RStr;
use cloudmarker_plugin_api::sdk::files;
use cloudmarker_plugin_api::sdk::secret::redact;
use cloudmarker_plugin_api::HostContext;
use file_rotate::compression::Compression;
use file_rotate::suffix::{AppendTimestamp, DateFrom, FileLimit};
use file_rotate::{ContentLimit, FileRotate, TimeFrequency};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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

/// The `logger:` mapping: the original's Python `dictConfig`, of which
/// cloudmarker reads the parts people change (see the README). The other
/// `dictConfig` keys are accepted and ignored; any other key is warned about.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LoggerConfig {
    /// A shortcut for `root.level`, which it wins over.
    #[serde(default)]
    pub level: Option<Level>,
    /// `false` turns stdout logging off.
    #[serde(default)]
    pub console: Option<bool>,
    /// The root logger: its level and handlers.
    #[serde(default)]
    pub root: RootLogger,
    /// The handlers; cloudmarker reads `file.filename`.
    #[serde(default)]
    pub handlers: Handlers,
    /// Everything else.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `logger.root`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootLogger {
    /// The most verbose level to log.
    #[serde(default)]
    pub level: Option<Level>,
    /// Which of `console` and `file` are on.
    #[serde(default)]
    pub handlers: Option<Vec<String>>,
}

/// `logger.handlers`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Handlers {
    /// The file handler.
    #[serde(default)]
    pub file: FileHandler,
    /// The other handlers (their settings are not read).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `logger.handlers.file`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FileHandler {
    /// The log file.
    #[serde(default)]
    pub filename: Option<String>,
    /// The other settings (`class`, `when`, ...; not read).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// A log level by its Python name (`DEBUG`, `INFO`, `WARNING`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level(pub log::LevelFilter);

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        python_level(&name).map(Level).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{name:?} is not a log level (use DEBUG, INFO, WARNING, ERROR or CRITICAL)"
            ))
        })
    }
}

/// The `logger:` keys of Python's `dictConfig` that cloudmarker accepts
/// without reading them, so that the original configs load.
const IGNORED_KEYS: [&str; 6] = [
    "version",
    "disable_existing_loggers",
    "incremental",
    "formatters",
    "filters",
    "loggers",
];

impl LogSettings {
    /// The settings from the typed `logger:` mapping, with warnings for
    /// keys cloudmarker does not know and handler names it does not have.
    pub fn from_config(logger: Option<&LoggerConfig>) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let Some(logger) = logger else {
            return (Self::default(), warnings);
        };
        let unknown: Vec<&str> = logger
            .other
            .keys()
            .map(String::as_str)
            .filter(|k| !IGNORED_KEYS.contains(k))
            .collect();
        if !unknown.is_empty() {
            warnings.push(format!(
                "Ignoring unknown logger keys: {}.",
                unknown.join(", ")
            ));
        }
        let level = logger
            .level
            .or(logger.root.level)
            .map_or(log::LevelFilter::Info, |l| l.0);
        let handlers = logger.root.handlers.as_ref();
        let enabled = |name: &str| match handlers {
            None => true,
            Some(list) => list.iter().any(|n| n == name),
        };
        let console = logger.console.unwrap_or_else(|| enabled("console"));
        let file = match logger.handlers.file.filename.as_deref() {
            _ if !enabled("file") => None,
            Some(path) if !path.trim().is_empty() => Some(path.into()),
            _ => Some(DEFAULT_LOG_FILE.into()),
        };
        (
            Self {
                level,
                console,
                file,
            },
            warnings,
        )
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: log::LevelFilter::Info,
            console: true,
            file: Some(DEFAULT_LOG_FILE.into()),
        }
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
    file: Option<FileRotate<AppendTimestamp>>,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.console {
            crate::audit::progress::suspend(|| io::stdout().lock().write_all(buf))?;
        }
        if let Some(file) = &mut self.file {
            file.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(file) = &mut self.file {
            file.flush()?;
        }
        io::stdout().flush()
    }
}

/// How many rotated log files are kept, as the original's `backupCount: 5`.
pub const KEPT_LOG_FILES: usize = 5;

/// Opens the log file, rotated at midnight into `<file>.<YYYY-MM-DD>` with
/// the last [`KEPT_LOG_FILES`] kept (the original's TimedRotatingFileHandler).
fn open_log_file(path: &Path) -> std::io::Result<FileRotate<AppendTimestamp>> {
    let path = std::path::absolute(path)?;
    if let Some(dir) = path.parent() {
        files::create_private_dir_all(dir)?;
    }
    // Fail here, with a message, rather than inside the rotating writer.
    files::open_private_append(&path)?;
    Ok(FileRotate::new(
        &path,
        AppendTimestamp::with_format(
            "%Y-%m-%d",
            FileLimit::MaxFiles(KEPT_LOG_FILES),
            DateFrom::DateYesterday,
        ),
        ContentLimit::Time(TimeFrequency::Daily),
        Compression::None,
        Some(private_append_options()),
    ))
}

/// How the rotating writer opens each new log file (it asks for read,
/// create and append): appending, `0600`,
/// never through a symbolic link.
fn private_append_options() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    options
        .read(true)
        .create(true)
        .append(true)
        .mode(files::PRIVATE_FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW);
    options
}

/// Installs the logger. Returns warnings (e.g. a log file that cannot be
/// opened) for the caller to log once logging works.
pub fn init(settings: &LogSettings) -> Vec<String> {
    let mut warnings = Vec::new();
    let file = settings.file.as_ref().and_then(|path| {
        open_log_file(path)
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
                // The host's own secrets (the `email:` password); plugins
                // redact theirs before their lines get here.
                redact(&record.args().to_string())
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

    fn settings(value: Value) -> Result<(LogSettings, Vec<String>), String> {
        let logger: LoggerConfig = serde_json::from_value(value).map_err(|e| e.to_string())?;
        Ok(LogSettings::from_config(Some(&logger)))
    }

    #[test]
    fn base_config_logger_gives_info_console_and_tmp_file() {
        let loaded = crate::config::load(&[], |_| {}).unwrap();
        let (s, warnings) = settings(loaded.value["logger"].clone()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(s, LogSettings::default());
        assert_eq!(s.file, Some(PathBuf::from(DEFAULT_LOG_FILE)));
    }

    #[test]
    fn file_name_level_and_handlers_are_read() {
        let (s, _) = settings(json!({"root": {"level": "DEBUG", "handlers": ["file"]}, "handlers": {"file": {"filename": "log/x.log"}}})).unwrap();
        assert_eq!(
            s,
            LogSettings {
                level: log::LevelFilter::Debug,
                console: false,
                file: Some("log/x.log".into())
            }
        );
        let (s, _) =
            settings(json!({"level": "warning", "root": {"handlers": ["console"]}})).unwrap();
        assert_eq!(
            s,
            LogSettings {
                level: log::LevelFilter::Warn,
                console: true,
                file: None
            }
        );
        let (s, _) = settings(json!({"console": false})).unwrap();
        assert!(!s.console);
    }

    #[test]
    fn bad_values_are_errors_and_unknown_keys_warnings() {
        assert!(settings(json!({"level": "LOUD"})).unwrap_err().starts_with(
            "\"LOUD\" is not a log level (use DEBUG, INFO, WARNING, ERROR or CRITICAL)"
        ));
        for bad in [
            json!({"root": {"level": 10}}),
            json!({"root": {"handlers": "file"}}),
            json!({"console": "yes"}),
            json!("verbose"),
        ] {
            assert!(
                settings(bad.clone())
                    .unwrap_err()
                    .starts_with("invalid type"),
                "{bad}"
            );
        }
        let (_, warnings) = settings(json!({"colour": true, "version": 1})).unwrap();
        assert_eq!(warnings, ["Ignoring unknown logger keys: colour."]);
    }

    #[test]
    fn log_file_is_created_with_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/cloudmarker.log");
        let mut file = open_log_file(&path).unwrap();
        file.write_all(b"line\n").unwrap();
        file.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "line\n");
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600, "the log is private");
        assert_eq!(mode(&dir.path().join("logs")), 0o700);
        let planted = dir.path().join("planted.log");
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &planted).unwrap();
        assert!(
            open_log_file(&planted).is_err(),
            "a planted link is not followed"
        );
        assert!(!dir.path().join("elsewhere").exists());
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, "").unwrap();
        assert!(open_log_file(&blocked.join("x.log")).is_err());
    }
}
