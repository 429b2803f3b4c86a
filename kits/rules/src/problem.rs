//! Problems found loading rules: each names the file, the line and the
//! rule where it can.

use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Worth fixing; the rules load.
    Warning,
    /// A configuration error: the rules do not load.
    Error,
}

/// One problem with a rule file, a rule or the config that selects them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Error or warning.
    pub level: Level,
    /// The rule file (none for a problem of the config itself).
    pub path: Option<PathBuf>,
    /// The line in it (1-based), where known.
    pub line: Option<usize>,
    /// The rule's id, where known.
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    pub(crate) fn error(message: impl Into<String>) -> Self {
        Self {
            level: Level::Error,
            path: None,
            line: None,
            rule: None,
            message: message.into(),
        }
    }

    pub(crate) fn warning(message: impl Into<String>) -> Self {
        Self {
            level: Level::Warning,
            ..Self::error(message)
        }
    }

    pub(crate) fn at(mut self, path: &std::path::Path, line: Option<usize>) -> Self {
        self.path = Some(path.to_path_buf());
        self.line = line;
        self
    }

    pub(crate) fn rule(mut self, id: Option<&str>) -> Self {
        self.rule = id.map(str::to_owned);
        self
    }
}

/// `path:line: rule <id>: message` (`warning: ` first for a warning).
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.level == Level::Warning {
            f.write_str("warning: ")?;
        }
        match (&self.path, self.line) {
            (Some(path), Some(line)) => write!(f, "{}:{line}: ", path.display())?,
            (Some(path), None) => write!(f, "{}: ", path.display())?,
            (None, _) => {}
        }
        if let Some(rule) = &self.rule {
            write!(f, "rule {rule}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Rules that did not load: every problem found (errors and warnings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// All of them, in the order found.
    pub problems: Vec<Problem>,
}

impl LoadError {
    /// The errors alone.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.level == Level::Error)
    }
}

/// One error a line.
impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors: Vec<&Problem> = self.errors().collect();
        write!(
            f,
            "{} problem{} with the rules:",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        )?;
        for problem in errors {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}
