//! Benchmark frameworks as data: the `frameworks/*.yaml` files (see
//! `frameworks/README.md` for the format), each an edition of a benchmark
//! listing every requirement and the checks that answer it. A check is a
//! rule id or a compiled event plugin's name, which events carry as
//! `com.check`; [`Frameworks`] indexes the requirements by check, so that
//! an event's `com.compliance` and a compliance report both come from
//! these files.
//!
//! # Where the bundled frameworks are
//!
//! As for the bundled rule packs ([`crate::bundled_dir`]), one rule:
//! `$CLOUDMARKER_FRAMEWORKS_DIR` when set; else `<plugin dir>/../frameworks`
//! (installed: the plugins in `PREFIX/lib/cloudmarker/plugins`, the rule
//! packs in `PREFIX/lib/cloudmarker/rules` and the frameworks in
//! `PREFIX/lib/cloudmarker/frameworks`, as `deploy/install.sh` lays them
//! out); else the source tree's `frameworks/` (a cargo build run from the
//! workspace). See [`bundled_dir`].

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variable that, when set, names the directory of the
/// bundled frameworks (for tests and unusual layouts).
pub const FRAMEWORKS_DIR_ENV: &str = "CLOUDMARKER_FRAMEWORKS_DIR";

/// The bundled frameworks in this source tree (`<workspace>/frameworks`),
/// for builds run from it.
pub fn source_frameworks_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../frameworks")
}

/// The directory of the bundled frameworks: `$CLOUDMARKER_FRAMEWORKS_DIR`
/// when set; else `<plugin dir>/../frameworks` (installed, beside
/// `PREFIX/lib/cloudmarker/plugins`), `plugin_dir` being the directory of
/// the plugin libraries; else the source tree's `frameworks/` when it
/// exists. The same rule as [`crate::bundled_dir`] for the rule packs.
pub fn bundled_dir(plugin_dir: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(FRAMEWORKS_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    plugin_dir
        .map(|d| d.join("../frameworks"))
        .into_iter()
        .chain([source_frameworks_dir()])
        .find(|d| d.is_dir())
}

/// A framework file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameworkFile {
    framework: Header,
    requirements: Vec<Requirement>,
}

/// The `framework:` mapping of a file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    id: String,
    name: String,
    version: String,
    provider: String,
}

/// One requirement (a benchmark recommendation) and what answers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// The benchmark's number for it, e.g. `7.1`: unique in its framework.
    pub id: String,
    /// Its top-level section, number first (`7 Networking Services`).
    pub section: String,
    /// Its sub-section, when it sits in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsection: Option<String>,
    /// What holds when an estate passes it (cloudmarker's own wording).
    pub title: String,
    /// The benchmark's profile level (1 or 2).
    pub level: u8,
    /// Whether the benchmark calls it automated (else: manual).
    pub automated: bool,
    /// The checks that answer it in full: rule ids or event plugin names.
    pub checks: Vec<String>,
    /// Checks that answer only part of it: shown, never enough to pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partial_checks: Vec<String>,
}

impl Requirement {
    /// Its checks, then its partial checks.
    pub fn all_checks(&self) -> impl Iterator<Item = &str> {
        self.checks
            .iter()
            .chain(&self.partial_checks)
            .map(String::as_str)
    }
}

/// One framework: an edition of a benchmark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Framework {
    /// `cis_azure_6.0.0`: the file's name without `.yaml`.
    pub id: String,
    /// The benchmark's name (`CIS Microsoft Azure Foundations Benchmark`).
    pub name: String,
    /// Its edition (`6.0.0`).
    pub version: String,
    /// The cloud it is about: `aws`, `azure`, `gcp` (as records'
    /// `com.cloud_type` name them).
    pub provider: String,
    /// Every requirement, in the file's order.
    pub requirements: Vec<Requirement>,
    /// The file it came from.
    #[serde(skip)]
    pub path: PathBuf,
}

impl Framework {
    /// The requirement `id`.
    pub fn requirement(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }
}

/// A requirement that maps a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapping {
    /// The framework's id.
    pub framework: String,
    /// The requirement's id.
    pub requirement: String,
    /// Whether the check answers only part of it (`partial_checks`).
    pub partial: bool,
}

impl fmt::Display for Mapping {
    /// `<framework id> <requirement id>`, e.g. `cis_azure_6.0.0 7.1`: the
    /// form of `com.compliance` entries.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.framework, self.requirement)
    }
}

/// A problem with a framework file: it names the file, the line where
/// known, and the key (`requirements[3]: unknown field ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameworkProblem {
    /// The file.
    pub path: PathBuf,
    /// The line (1-based), where known.
    pub line: Option<usize>,
    /// What is wrong, starting with the key it is about.
    pub message: String,
}

impl fmt::Display for FrameworkProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// Framework files that did not load: every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameworkError {
    /// All of them, file by file.
    pub problems: Vec<FrameworkProblem>,
}

impl fmt::Display for FrameworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{n} problem{} with the framework files:",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FrameworkError {}

/// Loaded frameworks, by id, and the requirements that map each check.
#[derive(Debug, Clone, Default)]
pub struct Frameworks {
    frameworks: BTreeMap<String, Framework>,
    index: HashMap<String, Vec<Mapping>>,
}

fn is_framework_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// The framework files of `path`: the file itself, or every `*.yaml` and
/// `*.yml` file in the directory (not below it), in name order.
fn files_of(path: &Path, problems: &mut Vec<FrameworkProblem>) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    match std::fs::read_dir(path) {
        Ok(entries) => {
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_framework_file(p))
                .collect();
            files.sort();
            files
        }
        Err(e) => {
            problems.push(FrameworkProblem {
                path: path.to_path_buf(),
                line: None,
                message: format!("cannot read the directory: {e}"),
            });
            Vec::new()
        }
    }
}

/// The first line (1-based) of `text` whose content, after indentation and
/// a list dash, starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let content = line.trim_start();
            let content = content.strip_prefix("- ").unwrap_or(content).trim_start();
            content.starts_with(prefix)
        })
        .map(|i| i + 1)
}

/// The line of requirement `id`'s `id:` key.
fn requirement_line(text: &str, id: &str) -> Option<usize> {
    line_of(text, &format!("id: \"{id}\""))
        .or_else(|| line_of(text, &format!("id: '{id}'")))
        .or_else(|| line_of(text, &format!("id: {id}")))
}

/// An id: lowercase ASCII letters, digits, `_`, `.` and `-`, starting with
/// a letter.
fn valid_id(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
}

/// Parses and checks one framework file.
pub fn parse(path: &Path, text: &str) -> Result<Framework, Vec<FrameworkProblem>> {
    let problem = |line: Option<usize>, message: String| FrameworkProblem {
        path: path.to_path_buf(),
        line,
        message,
    };
    let file: FrameworkFile = serde_norway::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        // serde_norway's message names the key path and then, again, the
        // position: the position is in the problem's line.
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) if line.is_some() => message[..at].to_string(),
            _ => message,
        };
        vec![problem(line, message)]
    })?;
    let mut problems = Vec::new();
    let header = file.framework;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let id_line = line_of(text, "id:");
    if !valid_id(&header.id) {
        problems.push(problem(
            id_line,
            format!(
                "framework.id: `{}` must be lowercase letters, digits, `_`, `.` and `-`, starting with a letter",
                header.id
            ),
        ));
    } else if header.id != stem {
        problems.push(problem(
            id_line,
            format!(
                "framework.id: `{}` must be the file's name without its extension (`{stem}`)",
                header.id
            ),
        ));
    }
    for (key, value) in [
        ("name", &header.name),
        ("version", &header.version),
        ("provider", &header.provider),
    ] {
        if value.trim().is_empty() {
            problems.push(problem(
                line_of(text, &format!("{key}:")),
                format!("framework.{key}: may not be empty"),
            ));
        }
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (n, requirement) in file.requirements.iter().enumerate() {
        let line = requirement_line(text, &requirement.id);
        let key = format!("requirements[{n}]");
        if requirement.id.trim().is_empty() {
            problems.push(problem(line, format!("{key}.id: may not be empty")));
        }
        if let Some(first) = seen.insert(&requirement.id, n) {
            problems.push(problem(
                line,
                format!(
                    "{key}.id: `{}` is also the id of requirements[{first}]",
                    requirement.id
                ),
            ));
        }
        if !(1..=2).contains(&requirement.level) {
            problems.push(problem(
                line,
                format!(
                    "{key}.level: must be 1 or 2, not {} (requirement {})",
                    requirement.level, requirement.id
                ),
            ));
        }
        for (list, checks) in [
            ("checks", &requirement.checks),
            ("partial_checks", &requirement.partial_checks),
        ] {
            if checks.iter().any(|c| c.trim().is_empty()) {
                problems.push(problem(
                    line,
                    format!(
                        "{key}.{list}: a check name may not be empty (requirement {})",
                        requirement.id
                    ),
                ));
            }
        }
        if let Some(both) = requirement
            .partial_checks
            .iter()
            .find(|c| requirement.checks.contains(c))
        {
            problems.push(problem(
                line,
                format!(
                    "{key}.partial_checks: `{both}` is in checks too (requirement {})",
                    requirement.id
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Framework {
        id: header.id,
        name: header.name,
        version: header.version,
        provider: header.provider,
        requirements: file.requirements,
        path: path.to_path_buf(),
    })
}

/// Reads the framework files of `paths` (files, or directories of them);
/// every problem when any, including a framework id given twice.
fn read_all(paths: &[PathBuf]) -> Result<Vec<Framework>, FrameworkError> {
    let mut problems = Vec::new();
    let mut frameworks: Vec<Framework> = Vec::new();
    for path in paths {
        for file in files_of(path, &mut problems) {
            let text = match std::fs::read_to_string(&file) {
                Ok(text) => text,
                Err(e) => {
                    problems.push(FrameworkProblem {
                        path: file,
                        line: None,
                        message: format!("cannot read the framework file: {e}"),
                    });
                    continue;
                }
            };
            match parse(&file, &text) {
                Ok(framework) => {
                    if let Some(other) = frameworks.iter().find(|f| f.id == framework.id) {
                        problems.push(FrameworkProblem {
                            line: line_of(&text, "id:"),
                            path: file,
                            message: format!(
                                "framework.id: `{}` is also the id of {}",
                                framework.id,
                                other.path.display()
                            ),
                        });
                    } else {
                        frameworks.push(framework);
                    }
                }
                Err(found) => problems.extend(found),
            }
        }
    }
    if problems.is_empty() {
        Ok(frameworks)
    } else {
        Err(FrameworkError { problems })
    }
}

impl Frameworks {
    /// No frameworks.
    pub fn new() -> Self {
        Self::default()
    }

    /// The frameworks of `path`: a framework file, or a directory whose
    /// `*.yaml` and `*.yml` files are (not its subdirectories).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, FrameworkError> {
        Self::load_paths(&[path.as_ref().to_path_buf()])
    }

    /// The frameworks of `paths` (files, or directories of them); a
    /// framework id defined twice is a problem.
    pub fn load_paths(paths: &[PathBuf]) -> Result<Self, FrameworkError> {
        let mut frameworks = Self::new();
        for framework in read_all(paths)? {
            frameworks.insert(framework);
        }
        Ok(frameworks)
    }

    /// The bundled frameworks of `bundled` (when given) with those of
    /// `extra` (a config's own files) over them: an extra framework with
    /// the id of a bundled one replaces it.
    pub fn layered(bundled: Option<&Path>, extra: &[PathBuf]) -> Result<Self, FrameworkError> {
        let mut frameworks = match bundled {
            Some(dir) => Self::load(dir)?,
            None => Self::new(),
        };
        for framework in read_all(extra)? {
            frameworks.insert(framework);
        }
        Ok(frameworks)
    }

    /// Adds `framework`, replacing one of the same id.
    pub fn insert(&mut self, framework: Framework) {
        self.frameworks.insert(framework.id.clone(), framework);
        self.reindex();
    }

    fn reindex(&mut self) {
        let mut index: HashMap<String, Vec<Mapping>> = HashMap::new();
        for framework in self.frameworks.values() {
            for requirement in &framework.requirements {
                let full = requirement.checks.iter().map(|c| (c, false));
                let partial = requirement.partial_checks.iter().map(|c| (c, true));
                for (check, partial) in full.chain(partial) {
                    index.entry(check.clone()).or_default().push(Mapping {
                        framework: framework.id.clone(),
                        requirement: requirement.id.clone(),
                        partial,
                    });
                }
            }
        }
        self.index = index;
    }

    /// The framework `id`.
    pub fn get(&self, id: &str) -> Option<&Framework> {
        self.frameworks.get(id)
    }

    /// Every framework, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Framework> {
        self.frameworks.values()
    }

    /// How many frameworks.
    pub fn len(&self) -> usize {
        self.frameworks.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.frameworks.is_empty()
    }

    /// The ids, sorted.
    pub fn ids(&self) -> Vec<&str> {
        self.frameworks.keys().map(String::as_str).collect()
    }

    /// Every requirement that maps `check` (in `checks` or
    /// `partial_checks`), framework by framework in id order.
    pub fn mappings(&self, check: &str) -> &[Mapping] {
        self.index.get(check).map_or(&[], Vec::as_slice)
    }

    /// Every check that some requirement maps, sorted.
    pub fn checks(&self) -> Vec<&str> {
        let mut checks: Vec<&str> = self.index.keys().map(String::as_str).collect();
        checks.sort_unstable();
        checks
    }

    /// An event's `com.compliance`: `<framework id> <requirement id>` for
    /// every requirement that maps `check`. When `cloud_type` is the
    /// provider of some framework (`azure`, `aws`, `gcp`), only that
    /// cloud's frameworks: an Azure event does not answer a GCP benchmark.
    pub fn compliance(&self, check: &str, cloud_type: Option<&str>) -> Vec<String> {
        let provider = cloud_type.filter(|c| self.iter().any(|f| f.provider == *c));
        let mut entries: Vec<String> = Vec::new();
        for mapping in self.mappings(check) {
            let fits = provider.is_none_or(|p| {
                self.get(&mapping.framework)
                    .is_some_and(|f| f.provider == p)
            });
            let entry = mapping.to_string();
            if fits && !entries.contains(&entry) {
                entries.push(entry);
            }
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AZURE: &str = r#"framework:
  id: cis_azure_9.0.0
  name: CIS Microsoft Azure Foundations Benchmark
  version: "9.0.0"
  provider: azure
requirements:
  - id: "7.1"
    section: "7 Networking Services"
    title: "RDP is not open to the Internet"
    level: 1
    automated: true
    checks: [firewallruleevent]
  - id: "7.2"
    section: "7 Networking Services"
    subsection: "7.0 Ports"
    title: "SSH is not open to the Internet"
    level: 2
    automated: false
    checks: []
    partial_checks: [firewallruleevent, my_rule]
"#;

    const GCP: &str = r#"framework:
  id: cis_gcp_9.0.0
  name: CIS Google Cloud Platform Foundation Benchmark
  version: "9.0.0"
  provider: gcp
requirements:
  - id: "3.6"
    section: "3 Networking"
    title: "SSH is not open to the Internet"
    level: 1
    automated: true
    checks: [firewallruleevent]
"#;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn problems(text: &str) -> Vec<String> {
        parse(Path::new("cis_azure_9.0.0.yaml"), text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_directory_loads_indexed_by_check() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "cis_azure_9.0.0.yaml", AZURE);
        write(dir.path(), "cis_gcp_9.0.0.yml", GCP);
        write(dir.path(), "README.md", "not a framework");
        let frameworks = Frameworks::load(dir.path()).unwrap();
        assert_eq!(frameworks.ids(), ["cis_azure_9.0.0", "cis_gcp_9.0.0"]);
        let azure = frameworks.get("cis_azure_9.0.0").unwrap();
        assert_eq!(azure.provider, "azure");
        assert_eq!(
            azure.requirements[1].subsection.as_deref(),
            Some("7.0 Ports")
        );
        assert_eq!(azure.requirement("7.2").unwrap().level, 2);
        let mapped: Vec<(String, bool)> = frameworks
            .mappings("firewallruleevent")
            .iter()
            .map(|m| (m.to_string(), m.partial))
            .collect();
        assert_eq!(
            mapped,
            [
                ("cis_azure_9.0.0 7.1".to_string(), false),
                ("cis_azure_9.0.0 7.2".to_string(), true),
                ("cis_gcp_9.0.0 3.6".to_string(), false)
            ]
        );
        assert_eq!(
            frameworks.compliance("firewallruleevent", Some("azure")),
            ["cis_azure_9.0.0 7.1", "cis_azure_9.0.0 7.2"]
        );
        assert_eq!(
            frameworks.compliance("firewallruleevent", Some("gcp")),
            ["cis_gcp_9.0.0 3.6"]
        );
        // A cloud no framework is about: every framework that maps it.
        assert_eq!(
            frameworks
                .compliance("firewallruleevent", Some("mock"))
                .len(),
            3
        );
        assert_eq!(
            frameworks.compliance("my_rule", None),
            ["cis_azure_9.0.0 7.2"]
        );
        assert!(frameworks.compliance("unmapped", Some("azure")).is_empty());
        assert_eq!(
            frameworks.checks(),
            ["firewallruleevent", "my_rule"],
            "every check mapped"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_file_line_and_key() {
        let text = AZURE.replace("    level: 2\n", "    level: 2\n    levle: 3\n");
        let said = problems(&text);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].starts_with("cis_azure_9.0.0.yaml:18: requirements[1]: unknown field `levle`"),
            "{said:?}"
        );
        let text = AZURE.replace("  provider: azure\n", "");
        let said = problems(&text);
        assert!(
            said[0].contains("framework: missing field `provider`"),
            "{said:?}"
        );
        let text = AZURE
            .replace("id: \"7.2\"", "id: \"7.1\"")
            .replace("level: 2", "level: 3");
        let said = problems(&text);
        assert_eq!(
            said,
            [
                "cis_azure_9.0.0.yaml:7: requirements[1].id: `7.1` is also the id of requirements[0]",
                "cis_azure_9.0.0.yaml:7: requirements[1].level: must be 1 or 2, not 3 (requirement 7.1)",
            ]
        );
        let said = parse(Path::new("other.yaml"), AZURE).unwrap_err();
        assert_eq!(
            said[0].to_string(),
            "other.yaml:2: framework.id: `cis_azure_9.0.0` must be the file's name without its extension (`other`)"
        );
        let text = AZURE.replace(
            "partial_checks: [firewallruleevent, my_rule]",
            "partial_checks: [my_rule]\n    checks: [x]",
        );
        let said = problems(&text);
        assert!(said[0].contains("duplicate field `checks`"), "{said:?}");
    }

    #[test]
    fn a_framework_twice_is_a_problem_and_a_config_layer_replaces_a_bundled_one() {
        let bundled = tempfile::tempdir().unwrap();
        write(bundled.path(), "cis_azure_9.0.0.yaml", AZURE);
        write(bundled.path(), "cis_gcp_9.0.0.yaml", GCP);
        let mine = tempfile::tempdir().unwrap();
        let own = write(
            mine.path(),
            "cis_azure_9.0.0.yaml",
            &AZURE.replace(
                "checks: [firewallruleevent]",
                "checks: [firewallruleevent, my_rule]",
            ),
        );
        let layered =
            Frameworks::layered(Some(bundled.path()), std::slice::from_ref(&own)).unwrap();
        assert_eq!(layered.len(), 2);
        assert_eq!(
            layered.compliance("my_rule", Some("azure")),
            ["cis_azure_9.0.0 7.1", "cis_azure_9.0.0 7.2"]
        );
        let twice = Frameworks::load_paths(&[bundled.path().to_path_buf(), own.clone()])
            .unwrap_err()
            .to_string();
        assert!(
            twice.starts_with("1 problem with the framework files:\n  ")
                && twice.contains("framework.id: `cis_azure_9.0.0` is also the id of"),
            "{twice}"
        );
        let missing = Frameworks::load(mine.path().join("nope.yaml")).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("nope.yaml: cannot read the framework file"),
            "{missing}"
        );
    }

    #[test]
    fn the_bundled_frameworks_load() {
        let frameworks = Frameworks::load(source_frameworks_dir()).unwrap();
        assert!(frameworks.len() >= 7, "{:?}", frameworks.ids());
        let azure = frameworks.get("cis_azure_6.0.0").unwrap();
        assert_eq!(azure.provider, "azure");
        assert!(frameworks
            .compliance("firewall_rdp_open_to_internet", Some("azure"))
            .contains(&"cis_azure_6.0.0 7.1".to_string()));
        assert_eq!(
            frameworks.compliance("firewallruleevent", Some("gcp")),
            ["cis_gcp_1.2.0 6.5", "cis_gcp_5.0.0 6.5"]
        );
    }
}
