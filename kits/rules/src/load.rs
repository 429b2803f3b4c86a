//! Loading rule files: every problem of every file is collected, each
//! naming its file, line and rule, before the load fails.

use crate::engine::RuleSet;
use crate::framework::Frameworks;
use crate::layout::Layout;
use crate::model::{RuleFile, RuleSpec};
use crate::params::{self, RuleParams};
use crate::problem::{Level, LoadError, Problem};
use crate::rule::{Origin, Rule};
use crate::select::{self, Names, Selection};
use crate::testing::{self, TestReport};
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// How a config uses the rules.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Which rules run.
    pub selection: Selection,
    /// Param overrides per rule.
    pub rule_params: RuleParams,
    /// Leave the rules' tests alone (for `rules test`, which runs them
    /// itself). By default a load runs the tests of the selected rules of
    /// the user's (the bundled packs' run in the project's CI), and a case
    /// that disagrees is an error: a rule that fails its own tests (a type
    /// error, a wrong field name) is a bad rule.
    pub skip_tests: bool,
    /// The frameworks whose ids and requirements `selection` may name
    /// (see [`Selection`]).
    pub frameworks: Frameworks,
}

/// Rule files to load.
#[derive(Debug, Default)]
pub struct Loader {
    sources: Vec<(PathBuf, Origin, String)>,
    problems: Vec<Problem>,
}

fn is_rule_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

impl Loader {
    /// Nothing to load yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule file, or every `*.yaml` and `*.yml` file under a
    /// directory (recursively, in name order).
    pub fn add_path(&mut self, path: impl AsRef<Path>, origin: Origin) -> &mut Self {
        let path = path.as_ref();
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
                Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
                Err(e) => {
                    self.problems.push(
                        Problem::error(format!("cannot read the directory: {e}")).at(path, None),
                    );
                    return self;
                }
            };
            entries.sort();
            for entry in entries {
                if entry.is_dir() || is_rule_file(&entry) {
                    self.add_path(entry, origin);
                }
            }
            return self;
        }
        match std::fs::read_to_string(path) {
            Ok(text) => self.sources.push((path.to_path_buf(), origin, text)),
            Err(e) => self
                .problems
                .push(Problem::error(format!("cannot read the rule file: {e}")).at(path, None)),
        }
        self
    }

    /// Adds a rule file's text (`path` names it in problems).
    pub fn add_text(
        &mut self,
        path: impl Into<PathBuf>,
        text: impl Into<String>,
        origin: Origin,
    ) -> &mut Self {
        self.sources.push((path.into(), origin, text.into()));
        self
    }

    /// The event plugin names the rules answer to (their `plugin` field),
    /// each with the ids of its rules, read without compiling anything (a
    /// config that names such a plugin runs those rules; see the host's
    /// configuration). Files and rules that cannot be read are left out:
    /// loading the rules reports them.
    pub fn plugin_aliases(&self) -> BTreeMap<String, Vec<String>> {
        let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (path, origin, text) in &self.sources {
            for parsed in &parse_file_cached(path, *origin, text).0 {
                if let Some(plugin) = &parsed.spec.plugin {
                    aliases
                        .entry(plugin.clone())
                        .or_default()
                        .push(parsed.spec.id.clone());
                }
            }
        }
        aliases
    }

    /// Loads, compiles and selects the rules; every problem found when any
    /// is an error.
    pub fn load(&self, options: &Options) -> Result<RuleSet, LoadError> {
        let mut problems = self.problems.clone();
        let mut specs: Vec<Parsed> = Vec::new();
        for (path, origin, text) in &self.sources {
            let parsed = parse_file_cached(path, *origin, text);
            specs.extend(parsed.0.iter().cloned());
            problems.extend(parsed.1.iter().cloned());
        }
        // Duplicate ids, anywhere.
        let mut first: HashMap<&str, &Parsed> = HashMap::new();
        let mut duplicates = Vec::new();
        for parsed in &specs {
            if let Some(earlier) = first.get(parsed.spec.id.as_str()) {
                let at = match earlier.line {
                    Some(line) => format!("{}:{line}", earlier.path.display()),
                    None => earlier.path.display().to_string(),
                };
                duplicates.push(
                    Problem::error(format!("duplicate rule id (first defined at {at})"))
                        .at(&parsed.path, parsed.line)
                        .rule(Some(&parsed.spec.id)),
                );
            } else {
                first.insert(&parsed.spec.id, parsed);
            }
        }
        problems.extend(duplicates);
        // Overrides of rules that do not exist.
        for id in options.rule_params.keys() {
            if !first.contains_key(id.as_str()) {
                problems.push(Problem::error(format!(
                    "rule_params names `{id}`, which is no rule's id"
                )));
            }
        }
        // Patterns that select nothing.
        let mapped_by = |id: &str| -> Vec<String> {
            options
                .frameworks
                .mappings(id)
                .iter()
                .flat_map(|m| [m.framework.clone(), m.to_string()])
                .collect()
        };
        let names = |p: &Parsed| {
            (
                p.spec.id.clone(),
                p.spec.plugin.clone(),
                mapped_by(&p.spec.id),
            )
        };
        let all_names: Vec<_> = specs.iter().map(names).collect();
        let matches_any = |pattern: &str| {
            all_names.iter().any(|(id, plugin, frameworks)| {
                select::matches(
                    pattern,
                    &Names {
                        id,
                        plugin: plugin.as_deref(),
                        frameworks,
                    },
                )
            })
        };
        for pattern in &options.selection.include {
            if !matches_any(pattern) {
                problems.push(Problem::error(format!(
                    "include: `{pattern}` matches no rule id, plugin name, framework or requirement"
                )));
            }
        }
        for pattern in &options.selection.exclude {
            if !matches_any(pattern) {
                problems.push(Problem::warning(format!(
                    "exclude: `{pattern}` matches no rule id, plugin name, framework or requirement"
                )));
            }
        }
        // Compile the selected rules and the user's (whose problems a run
        // reports whether it selects them or not); the bundled packs are
        // checked whole by the project's CI (`rules test`).
        let mut rules = Vec::new();
        for parsed in specs {
            let id = parsed.spec.id.clone();
            let frameworks = mapped_by(&id);
            let selected = options.selection.selects(&Names {
                id: &id,
                plugin: parsed.spec.plugin.as_deref(),
                frameworks: &frameworks,
            });
            if !selected && parsed.origin == Origin::Bundled {
                continue;
            }
            let problem = |key: &str, message: String, problems: &mut Vec<Problem>| {
                problems.push(
                    Problem::error(message)
                        .at(
                            &parsed.path,
                            parsed.key_lines.get(key).copied().flatten().or(parsed.line),
                        )
                        .rule(Some(&id)),
                );
            };
            let params = match params::apply(&parsed.spec.params, options.rule_params.get(&id)) {
                Ok(params) => params,
                Err(errors) => {
                    for e in errors {
                        problem("params", e, &mut problems);
                    }
                    parsed.spec.params.clone()
                }
            };
            match Rule::compile(parsed.spec, params, parsed.origin, &parsed.path) {
                Ok(mut rule) => {
                    rule.line = parsed.line;
                    rule.tests_line = parsed.key_lines.get("tests").copied().flatten();
                    if selected {
                        rules.push(rule);
                    }
                }
                Err(errors) => {
                    for (key, message) in errors {
                        problem(key, message, &mut problems);
                    }
                }
            }
        }
        // The selected rules' tests; the bundled packs' are run by the
        // project's CI (`rules test`), not again at every load.
        if !options.skip_tests {
            let mut report = TestReport::default();
            for rule in rules.iter().filter(|r| r.origin() == Origin::User) {
                testing::run_rule(rule, &mut report);
            }
            for case in report.failures() {
                problems.push(
                    Problem::error(case.describe())
                        .at(&case.path, case.line)
                        .rule(Some(&case.rule)),
                );
            }
        }
        if problems.iter().any(|p| p.level == Level::Error) {
            return Err(LoadError { problems });
        }
        Ok(RuleSet::new(rules, problems))
    }
}

/// What [`parse_file`] made of a file: its rules and its problems.
type ParsedFile = Arc<(Vec<Parsed>, Vec<Problem>)>;

/// [`parse_file`], once per process for the same file and text: a config
/// that names many of the checks that are rules now has one rulesevent per
/// entry, each loading the same packs.
fn parse_file_cached(path: &Path, origin: Origin, text: &str) -> ParsedFile {
    type Cache = Mutex<HashMap<(PathBuf, Origin, u64), ParsedFile>>;
    static PARSED: OnceLock<Cache> = OnceLock::new();
    let key = {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut hasher);
        (path.to_path_buf(), origin, hasher.finish())
    };
    let cache = PARSED.get_or_init(Mutex::default);
    if let Some(parsed) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Arc::clone(parsed);
    }
    let (mut specs, mut problems) = (Vec::new(), Vec::new());
    parse_file(path, origin, text, &mut specs, &mut problems);
    let parsed = Arc::new((specs, problems));
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, Arc::clone(&parsed));
    parsed
}

/// A rule read from a file, not yet compiled.
#[derive(Clone)]
struct Parsed {
    spec: RuleSpec,
    origin: Origin,
    path: PathBuf,
    line: Option<usize>,
    key_lines: HashMap<&'static str, Option<usize>>,
}

/// The keys whose lines problems name.
const KEYS: [&str; 9] = [
    "id",
    "event",
    "record_type",
    "when",
    "fail",
    "description",
    "remediation",
    "distinguished_by",
    "tests",
];

fn parse_file(
    path: &Path,
    origin: Origin,
    text: &str,
    specs: &mut Vec<Parsed>,
    problems: &mut Vec<Problem>,
) {
    let file: RuleFile = match serde_norway::from_str(text) {
        Ok(file) => file,
        Err(e) => {
            let line = e.location().map(|l| l.line());
            problems.push(Problem::error(format!("not a rule file: {e}")).at(path, line));
            return;
        }
    };
    let layout = Layout::of(text);
    let count = file.rules.len();
    if count == 0 {
        problems.push(Problem::warning("no rules").at(path, layout.rules_line()));
    }
    for (n, value) in file.rules.into_iter().enumerate() {
        let line = layout.item_line(n, count).or(layout.rules_line());
        let id = value.get("id").and_then(|v| v.as_str()).map(str::to_owned);
        let spec: RuleSpec = match serde_norway::from_value(value) {
            Ok(spec) => spec,
            Err(e) => {
                let what = if id.is_none() {
                    format!("rule #{} of the file: {e}", n + 1)
                } else {
                    e.to_string()
                };
                problems.push(Problem::error(what).at(path, line).rule(id.as_deref()));
                continue;
            }
        };
        let mut key_lines: HashMap<&'static str, Option<usize>> = KEYS
            .iter()
            .map(|key| (*key, layout.key_line(n, count, key)))
            .collect();
        key_lines.insert("params", layout.key_line(n, count, "params"));
        key_lines.insert("params_check", layout.key_line(n, count, "params_check"));
        // Tests: required of both kinds in a bundled pack.
        let tests = spec.tests.as_ref();
        let missing: Vec<&str> = [
            ("fail", tests.is_none_or(|t| t.fail.is_empty())),
            ("pass", tests.is_none_or(|t| t.pass.is_empty())),
        ]
        .into_iter()
        .filter_map(|(kind, missing)| missing.then_some(kind))
        .collect();
        if !missing.is_empty() {
            let message = format!(
                "no test records it must {} (tests: {{fail: [...], pass: [...]}})",
                missing.join(" or ")
            );
            let problem = match origin {
                Origin::Bundled => Problem::error(message),
                Origin::User => Problem::warning(message),
            };
            problems.push(problem.at(path, line).rule(Some(&spec.id)));
        }
        specs.push(Parsed {
            spec,
            origin,
            path: path.to_path_buf(),
            line,
            key_lines,
        });
    }
}
