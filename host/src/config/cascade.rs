//! Reading config files and merging them over the built-in base config.
//!
//! Mappings merge recursively and the later file wins; lists and scalars are
//! replaced whole, never concatenated. An empty file is an empty mapping.
//! Within one file, a mapping that sets a key twice is an error (see
//! [`super::duplicates`]), reported with those of every other file.

use super::ConfigError;
use cloudmarker_plugin_api::sdk::schema::kind_of;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The built-in base config (`config/base.yaml`).
pub const BASE_CONFIG: &str = include_str!("../../../config/base.yaml");

/// Where a piece of configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in base config.
    Base,
    /// A config file.
    File(PathBuf),
}

impl Source {
    /// The directory that relative paths set in this source are relative to.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            Self::Base => None,
            Self::File(path) => path.parent(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Base => f.write_str("built-in base config"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Which source set each key path of the merged config.
#[derive(Debug, Default, Clone)]
pub struct Provenance(BTreeMap<Vec<String>, Source>);

impl Provenance {
    /// The source that set `path` (or the nearest enclosing key).
    pub fn source_of(&self, path: &[&str]) -> Option<&Source> {
        (0..=path.len()).rev().find_map(|n| {
            let key: Vec<String> = path[..n].iter().map(|s| s.to_string()).collect();
            self.0.get(&key)
        })
    }

    fn set(&mut self, path: &[String], source: &Source) {
        let stale: Vec<_> = self
            .0
            .range(path.to_vec()..)
            .take_while(|(k, _)| k.starts_with(path))
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            self.0.remove(&key);
        }
        self.0.insert(path.to_vec(), source.clone());
    }
}

/// The merged configuration and where each part came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The merged config as a JSON value (a mapping).
    pub value: Value,
    /// Which source set which key.
    pub provenance: Provenance,
    /// The files that were found and merged, in order.
    pub files: Vec<PathBuf>,
}

/// The default cascade after the base config: `/etc/cloudmarker.yaml`,
/// `~/.cloudmarker.yaml`, `~/cloudmarker.yaml`, `./cloudmarker.yaml`.
pub fn default_files(home: Option<&Path>) -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("/etc/cloudmarker.yaml")];
    if let Some(home) = home {
        files.push(home.join(".cloudmarker.yaml"));
        files.push(home.join("cloudmarker.yaml"));
    }
    files.push(PathBuf::from("cloudmarker.yaml"));
    files
}

/// Loads the base config, then merges each of `files` that exists, in order.
/// Missing files are skipped; `on_missing` is told about each. Keys set
/// twice in a mapping are reported together once every file is read.
pub fn load(
    files: &[PathBuf],
    mut on_missing: impl FnMut(&Path),
) -> Result<LoadedConfig, ConfigError> {
    let mut config = LoadedConfig {
        value: Value::Object(Map::new()),
        provenance: Provenance::default(),
        files: Vec::new(),
    };
    let mut duplicates = merge_source(&mut config, BASE_CONFIG, Source::Base)?;
    for path in files {
        let text = match super::limits::read_config_file(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                on_missing(path);
                continue;
            }
            Err(error) => {
                return Err(ConfigError::Read {
                    path: path.clone(),
                    error,
                })
            }
        };
        duplicates.extend(merge_source(
            &mut config,
            &text,
            Source::File(path.clone()),
        )?);
        config.files.push(path.clone());
    }
    if !duplicates.is_empty() {
        return Err(ConfigError::Invalid(duplicates));
    }
    Ok(config)
}

/// Parses `text` and merges it into `config`; the keys it sets twice in a
/// mapping (merged as if the later one were the only one).
fn merge_source(
    config: &mut LoadedConfig,
    text: &str,
    source: Source,
) -> Result<Vec<super::Problem>, ConfigError> {
    let mut overlay = parse(text, &source)?;
    let mut problems = duplicate_keys(text, &source);
    let lookup = |name: &str| std::env::var(name).ok();
    let unset = super::interpolate::interpolate(&mut overlay, &lookup);
    if !unset.is_empty() {
        problems.extend(unset.into_iter().map(|(path, message)| {
            let keys: Vec<&str> = path.iter().map(String::as_str).collect();
            super::Problem {
                source: Some(source.clone()),
                line: super::line_of(text, &keys),
                key_path: path,
                message,
            }
        }));
        return Err(ConfigError::Invalid(problems));
    }
    merge(
        &mut config.value,
        overlay,
        &mut Vec::new(),
        &source,
        &mut config.provenance,
    );
    Ok(problems)
}

/// The keys that a mapping of `text` sets twice, as problems.
fn duplicate_keys(text: &str, source: &Source) -> Vec<super::Problem> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    super::duplicates::find(text)
        .into_iter()
        .map(|duplicate| {
            let key = duplicate.path.last().cloned().unwrap_or_default();
            let first = match duplicate.first_line {
                Some(line) => format!("at line {line}"),
                None => "earlier".to_string(),
            };
            super::Problem {
                source: Some(source.clone()),
                line: duplicate.line,
                key_path: duplicate.path,
                message: format!(
                    "duplicate key `{key}` (the same mapping sets it {first}); remove one of them"
                ),
            }
        })
        .collect()
}

/// Parses YAML text into a mapping; an empty document is an empty mapping.
fn parse(text: &str, source: &Source) -> Result<Value, ConfigError> {
    let parse_error = |message: String| ConfigError::Parse {
        source: source.clone(),
        message,
    };
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let depth = super::limits::nesting_depth(text);
    if depth > super::limits::MAX_CONFIG_DEPTH {
        return Err(parse_error(format!(
            "mappings and lists nest {depth} levels deep; at most {} are allowed",
            super::limits::MAX_CONFIG_DEPTH
        )));
    }
    let value: Value = serde_norway::from_str(text).map_err(|e| parse_error(e.to_string()))?;
    match value {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::Object(_) => Ok(value),
        other => Err(parse_error(format!(
            "the top level must be a mapping of config keys, not {}",
            kind_of(&other)
        ))),
    }
}

/// Merges `overlay` into `base`: mappings key by key, everything else replaced.
fn merge(
    base: &mut Value,
    overlay: Value,
    path: &mut Vec<String>,
    source: &Source,
    provenance: &mut Provenance,
) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                path.push(key.clone());
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value, path, source, provenance),
                    None => {
                        provenance.set(path, source);
                        base.insert(key, value);
                    }
                }
                path.pop();
            }
        }
        (base, overlay) => {
            provenance.set(path, source);
            *base = overlay;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(docs: &[&str]) -> Value {
        let mut config = LoadedConfig {
            value: json!({}),
            provenance: Provenance::default(),
            files: vec![],
        };
        for (i, doc) in docs.iter().enumerate() {
            merge_source(&mut config, doc, Source::File(format!("f{i}.yaml").into())).unwrap();
        }
        config.value
    }

    #[test]
    fn later_scalars_and_lists_replace_earlier_ones() {
        let v = merged(&[
            "run: [mockaudit, fooaudit]\nschedule: '00:00'",
            "run: [baraudit]",
        ]);
        assert_eq!(v, json!({"run": ["baraudit"], "schedule": "00:00"}));
    }

    #[test]
    fn mappings_merge_recursively() {
        let v = merged(&[
            "plugins: {a: {plugin: x, params: {n: 1, m: 2}}, b: {plugin: y}}",
            "plugins: {a: {params: {n: 5}}, c: {plugin: z}}",
        ]);
        assert_eq!(
            v,
            json!({"plugins": {"a": {"plugin": "x", "params": {"n": 5, "m": 2}},
                               "b": {"plugin": "y"}, "c": {"plugin": "z"}}})
        );
    }

    #[test]
    fn a_mapping_replaced_by_a_scalar_is_replaced() {
        let v = merged(&["a: {b: 1}", "a: 2", "a: {c: 3}"]);
        assert_eq!(v, json!({"a": {"c": 3}}));
    }

    #[test]
    fn empty_and_comment_only_files_are_empty_mappings() {
        assert_eq!(merged(&["a: 1", "", "# nothing here\n"]), json!({"a": 1}));
    }

    #[test]
    fn provenance_names_the_file_that_set_a_key() {
        let mut config = LoadedConfig {
            value: json!({}),
            provenance: Provenance::default(),
            files: vec![],
        };
        merge_source(&mut config, "plugins: {a: {plugin: x}}", Source::Base).unwrap();
        merge_source(
            &mut config,
            "plugins: {a: {params: {n: 1}}}",
            Source::File("u.yaml".into()),
        )
        .unwrap();
        let p = &config.provenance;
        assert_eq!(
            p.source_of(&["plugins", "a", "plugin"]),
            Some(&Source::Base)
        );
        assert_eq!(
            p.source_of(&["plugins", "a", "params", "n"]),
            Some(&Source::File("u.yaml".into()))
        );
        merge_source(
            &mut config,
            "plugins: {a: 7}",
            Source::File("v.yaml".into()),
        )
        .unwrap();
        assert_eq!(
            p_of(&config, &["plugins", "a", "plugin"]),
            Some(Source::File("v.yaml".into())),
            "a replaced mapping forgets where its old keys came from"
        );
    }

    fn p_of(config: &LoadedConfig, path: &[&str]) -> Option<Source> {
        config.provenance.source_of(path).cloned()
    }

    #[test]
    fn malformed_yaml_names_file_line_and_column() {
        let err = parse("run: [a\nplugins: {", &Source::File("bad.yaml".into())).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("bad.yaml: "), "{msg}");
        assert!(msg.contains("line"), "{msg}");
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("a: {}1{}", "[".repeat(5000), "]".repeat(5000));
        let err = parse(&deep, &Source::File("deep.yaml".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "deep.yaml: mappings and lists nest 5001 levels deep; at most 64 are allowed"
        );
    }

    #[test]
    fn top_level_must_be_a_mapping() {
        let err = parse("- a\n- b", &Source::File("list.yaml".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "list.yaml: the top level must be a mapping of config keys, not a list"
        );
    }

    #[test]
    fn cascade_order_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("one.yaml");
        let two = dir.path().join("two.yaml");
        let missing = dir.path().join("missing.yaml");
        std::fs::write(&one, "run: [one]\nschedule: '01:00'").unwrap();
        std::fs::write(&two, "run: [two]").unwrap();
        let mut missed = vec![];
        let config = load(&[one.clone(), missing.clone(), two.clone()], |p| {
            missed.push(p.to_path_buf())
        })
        .unwrap();
        assert_eq!(config.value["run"], json!(["two"]));
        assert_eq!(config.value["schedule"], json!("01:00"));
        assert_eq!(
            config.value["audits"]["mockaudit"]["clouds"],
            json!(["mockcloud"]),
            "base is loaded first"
        );
        assert_eq!(config.files, [one, two]);
        assert_eq!(missed, [missing]);
    }

    #[test]
    fn keys_set_twice_in_a_mapping_are_reported_for_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("one.yaml");
        let two = dir.path().join("two.yaml");
        std::fs::write(&one, "plugins:\n  a: {plugin: x}\n  a: {plugin: y}\n").unwrap();
        std::fs::write(&two, "run: [a]\nschedule: '01:00'\nrun: [b]\n").unwrap();
        let Err(ConfigError::Invalid(problems)) = load(&[one.clone(), two.clone()], |_| {}) else {
            panic!("duplicate keys are an error");
        };
        let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            shown,
            [
                format!("{}:3: plugins.a: duplicate key `a` (the same mapping sets it at line 2); remove one of them", one.display()),
                format!("{}:3: run: duplicate key `run` (the same mapping sets it at line 1); remove one of them", two.display()),
            ]
        );
    }

    #[test]
    fn default_cascade_order() {
        let files = default_files(Some(Path::new("/home/u")));
        let expected = [
            "/etc/cloudmarker.yaml",
            "/home/u/.cloudmarker.yaml",
            "/home/u/cloudmarker.yaml",
            "cloudmarker.yaml",
        ];
        assert_eq!(files, expected.map(PathBuf::from));
    }
}
