//! A configuration problem: the file, the line, the key path the user
//! wrote, and what is wrong.

use super::{LoadedConfig, Source};
use std::fmt;

/// One problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file (or the base config) that set the key.
    pub source: Option<Source>,
    /// The line of the key in that file, where it can be found.
    pub line: Option<usize>,
    /// The key path, e.g. `["plugins", "mockcloud", "params"]`.
    pub key_path: Vec<String>,
    /// What is wrong, e.g. `must be a mapping, not a list`.
    pub message: String,
}

impl Problem {
    /// A problem with the key at `path`, located in the file that set it.
    pub fn at(loaded: &LoadedConfig, path: &[&str], message: impl Into<String>) -> Self {
        let source = loaded.provenance.source_of(path).cloned();
        let line = match &source {
            Some(Source::File(file)) => super::limits::read_config_file(file)
                .ok()
                .and_then(|text| line_of(&text, path)),
            _ => None,
        };
        Self {
            source,
            line,
            key_path: path.iter().map(|s| s.to_string()).collect(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.source, self.line) {
            (Some(source), Some(line)) => write!(f, "{source}:{line}: ")?,
            (Some(source), None) => write!(f, "{source}: ")?,
            (None, _) => f.write_str("config: ")?,
        }
        if !self.key_path.is_empty() {
            write!(f, "{}: ", self.key_path.join("."))?;
        }
        f.write_str(&self.message)
    }
}

/// The line (1-based) where block-style YAML `text` sets `path`, or the
/// line of its deepest enclosing key that is there; `None` when even the
/// first key is not found (flow style, or set by another file).
pub fn line_of(text: &str, path: &[&str]) -> Option<usize> {
    let mut stack: Vec<(usize, &str)> = Vec::new();
    let mut best: Option<(usize, usize)> = None;
    for (number, line) in text.lines().enumerate() {
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        let content = content.strip_prefix("- ").unwrap_or(content);
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let Some((key, _)) = content.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, key));
        let depth = stack.len();
        let matches = depth <= path.len() && stack.iter().zip(path).all(|((_, k), p)| k == p);
        let deeper = match best {
            None => true,
            Some((found, _)) => depth > found,
        };
        if matches && deeper {
            best = Some((depth, number + 1));
            if depth == path.len() {
                break;
            }
        }
    }
    best.map(|(_, line)| line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_keys_in_block_yaml() {
        let text = "# comment\nplugins:\n  mockcloud:\n    plugin: mockcloud\n    params:\n      record_cont: 5\naudits:\n  a:\n    clouds: [x]\n";
        assert_eq!(
            line_of(text, &["plugins", "mockcloud", "params", "record_cont"]),
            Some(6)
        );
        assert_eq!(line_of(text, &["audits", "a", "clouds"]), Some(9));
        assert_eq!(
            line_of(text, &["audits", "a", "clouds", "0"]),
            Some(9),
            "the deepest key written"
        );
        assert_eq!(line_of(text, &["schedule"]), None);
        assert_eq!(line_of("a: {b: 1}", &["a", "b"]), Some(1));
    }
}
