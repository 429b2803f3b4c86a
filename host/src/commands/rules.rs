//! `cloudmarker rules list|test [PATH...]`: the rules of rule files (the
//! bundled packs when no PATH is given), on the rules kit.

use crate::cli::{Cli, RulesCommand};
use crate::exit;
use crate::plugins::SearchPath;
use rules::framework::{Frameworks, Mapping};
use rules::{CaseResult, Expect, Loader, Options, Origin, Outcome, RuleInfo, RuleSet};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A PATH that stands for the bundled packs (as in rulesevent's `paths`).
const BUNDLED: &str = "@bundled";

/// Runs `rules list` or `rules test`.
pub fn run(cli: &Cli, action: &RulesCommand) -> u8 {
    match action {
        RulesCommand::List {
            framework,
            format,
            paths,
        } => list(cli, framework.as_deref(), format, paths),
        RulesCommand::Test { paths } => test(cli, paths),
    }
}

/// The bundled rule packs, found as the rulesevent plugin a run would load
/// finds them: beside its library (see [`rules::bundled_dir`]), the first
/// `librulesevent.so` on the plugin search path, else the installed plugin
/// directory.
pub fn bundled_rules_dir(plugin_dirs: &[PathBuf]) -> Option<PathBuf> {
    let library = SearchPath::from_env(plugin_dirs)
        .named_files("rulesevent")
        .into_iter()
        .find(|file| file.is_file());
    let plugin_dir = library
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .or_else(crate::compliance::installed_plugin_dir);
    rules::bundled_dir(plugin_dir.as_deref())
}

/// Loads the rules of `paths` (the bundled packs when empty) without
/// running their tests; a bad rule file is reported (file, line, rule) and
/// gives [`exit::CONFIG`]. Warnings go to stderr.
fn load(cli: &Cli, paths: &[PathBuf]) -> Result<RuleSet, u8> {
    let mut loader = Loader::new();
    let bundled = || {
        bundled_rules_dir(&cli.plugin_dirs).ok_or_else(|| {
            eprintln!(
                "cloudmarker: error: the bundled rule packs are not installed (set {} or give rule files)",
                rules::RULES_DIR_ENV
            );
            exit::CONFIG
        })
    };
    if paths.is_empty() {
        loader.add_path(bundled()?, Origin::Bundled);
    }
    for path in paths {
        if path.as_os_str() == BUNDLED {
            loader.add_path(bundled()?, Origin::Bundled);
        } else {
            loader.add_path(path, Origin::User);
        }
    }
    let options = Options {
        skip_tests: true,
        ..Options::default()
    };
    match loader.load(&options) {
        Ok(rules) => {
            for warning in rules.warnings() {
                eprintln!("cloudmarker: {warning}");
            }
            Ok(rules)
        }
        Err(e) => {
            eprintln!("cloudmarker: error: {e}");
            Err(exit::CONFIG)
        }
    }
}

/// A rule as `rules list --format json` prints it.
#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    info: RuleInfo,
    /// The framework requirements that map it.
    frameworks: Vec<&'a Mapping>,
}

fn list(cli: &Cli, framework: Option<&str>, format: &str, paths: &[PathBuf]) -> u8 {
    let (_, frameworks) = match super::load_frameworks(cli) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    if let Some(id) = framework.filter(|id| frameworks.get(id).is_none()) {
        eprintln!(
            "cloudmarker: error: no framework {id:?}; the known frameworks are {}",
            frameworks.ids().join(", ")
        );
        return exit::CONFIG;
    }
    let rules = match load(cli, paths) {
        Ok(rules) => rules,
        Err(status) => return status,
    };
    let listed = listed(&rules, &frameworks, framework);
    if format == "json" {
        match serde_json::to_string_pretty(&listed) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("cloudmarker: error: {e}");
                return exit::PLUGIN_FAILED;
            }
        }
    } else {
        print!("{}", table(&listed));
    }
    exit::SUCCESS
}

/// Every rule with the requirements that map it (of `framework` only, and
/// only the rules it maps, when given).
fn listed<'f>(
    rules: &RuleSet,
    frameworks: &'f Frameworks,
    framework: Option<&str>,
) -> Vec<Listed<'f>> {
    rules
        .rules()
        .iter()
        .filter_map(|rule| {
            let mappings: Vec<&Mapping> = frameworks
                .mappings(rule.id())
                .iter()
                .filter(|m| framework.is_none_or(|f| m.framework == f))
                .collect();
            (framework.is_none() || !mappings.is_empty()).then(|| Listed {
                info: rule.info(),
                frameworks: mappings,
            })
        })
        .collect()
}

fn table(listed: &[Listed<'_>]) -> String {
    if listed.is_empty() {
        return "No rules.\n".into();
    }
    let rows: Vec<[String; 6]> = listed
        .iter()
        .map(|l| {
            let info = &l.info;
            let frameworks: Vec<String> = l
                .frameworks
                .iter()
                .map(|m| {
                    if m.partial {
                        format!("{m} (partial)")
                    } else {
                        m.to_string()
                    }
                })
                .collect();
            [
                info.id.clone(),
                info.severity.name().to_string(),
                info.cloud_type.clone().unwrap_or_else(|| "any".into()),
                info.record_types.join(", "),
                info.title.clone(),
                if frameworks.is_empty() {
                    "-".into()
                } else {
                    frameworks.join(", ")
                },
            ]
        })
        .collect();
    crate::table::render(
        [
            "id",
            "severity",
            "cloud",
            "record types",
            "title",
            "frameworks",
        ],
        &rows,
        "",
        6,
    )
}

/// `expected a finding, got none`, for a case that disagreed.
fn expected_got(case: &CaseResult) -> String {
    let expected = match case.expect {
        Expect::Fail => "expected a finding",
        Expect::Pass => "expected no finding",
    };
    let got = match &case.outcome {
        Outcome::Agreed => "agreed".to_string(),
        Outcome::Disagreed => match case.expect {
            Expect::Fail => "got none".to_string(),
            Expect::Pass => "got one".to_string(),
        },
        Outcome::NotApplicable(why) => format!("got: the rule does not apply ({why})"),
        Outcome::NotEvaluated(why) => format!("got: not evaluated ({why})"),
    };
    format!("{expected}, {got}")
}

fn test(cli: &Cli, paths: &[PathBuf]) -> u8 {
    let rules = match load(cli, paths) {
        Ok(rules) => rules,
        Err(status) => return status,
    };
    let report = rules.run_tests();
    let kind = |expect: Expect| match expect {
        Expect::Fail => "fail",
        Expect::Pass => "pass",
    };
    let mut failed = 0;
    for case in report.failures() {
        failed += 1;
        let at = match case.line {
            Some(line) => format!("{}:{line}", case.path.display()),
            None => case.path.display().to_string(),
        };
        println!(
            "FAILED {at}: rule {}: tests.{}[{}]: {}",
            case.rule,
            kind(case.expect),
            case.index,
            expected_got(case)
        );
    }
    println!(
        "{} rule(s), {} test case(s): {} agreed, {failed} disagreed.",
        rules.len(),
        report.cases.len(),
        report.passed()
    );
    if failed == 0 {
        exit::SUCCESS
    } else {
        exit::PLUGIN_FAILED
    }
}
