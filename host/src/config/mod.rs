//! Configuration: the YAML cascade, the typed model and its validation.

mod cascade;
mod duplicates;
pub mod interpolate;
pub mod limits;
mod model;
mod problem;
pub mod show;

pub use cascade::{default_files, load, LoadedConfig, Provenance, Source, BASE_CONFIG};
pub use model::{
    did_you_mean, AuditConfig, ByteSize, Config, HistoryConfig, Isolation, PluginConfig, Role,
    ShardConfig, JOB_COMPLETION_INDEX,
};
pub use problem::{line_of, Problem};

use std::fmt;
use std::path::PathBuf;

/// Why a configuration could not be used.
#[derive(Debug)]
pub enum ConfigError {
    /// A config file exists but could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A config file is not valid YAML, or its top level is not a mapping.
    Parse {
        /// Where the text came from.
        source: Source,
        /// The parser's message, with line and column where it has them.
        message: String,
    },
    /// The merged configuration has the wrong shape or refers to things that
    /// do not exist: every problem found, each naming its file, line and key.
    Invalid(Vec<Problem>),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, error } => {
                write!(f, "cannot read config file {}: {error}", path.display())
            }
            Self::Parse { source, message } => write!(f, "{source}: {message}"),
            Self::Invalid(problems) if problems.len() == 1 => problems[0].fmt(f),
            Self::Invalid(problems) => {
                write!(f, "{} problems in the configuration:", problems.len())?;
                problems.iter().try_for_each(|p| write!(f, "\n  - {p}"))
            }
        }
    }
}

impl std::error::Error for ConfigError {}
