//! The rules' own test cases (`tests: {fail: [...], pass: [...]}`), run as
//! `opa test` runs a policy's: each record under `fail` must raise a
//! finding, each under `pass` must not. The results are structured, for
//! `cloudmarker rules test` to print.

use crate::engine::{Judgement, RuleSet};
use crate::rule::Rule;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// Which kind of test case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// A record the rule must fail (raise a finding for).
    Fail,
    /// A record the rule must pass.
    Pass,
}

impl Expect {
    fn name(self) -> &'static str {
        match self {
            Self::Fail => "fail",
            Self::Pass => "pass",
        }
    }
}

/// What became of one test case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum Outcome {
    /// The rule did what the case expects.
    Agreed,
    /// A `fail` case raised no finding, or a `pass` case raised one.
    Disagreed,
    /// The rule does not apply to the record: its type, cloud or `when`
    /// rules it out (an agreement for a `pass` case ruled out by `when`).
    NotApplicable(String),
    /// `when` or `fail` could not be evaluated on the record.
    NotEvaluated(String),
}

/// One test case and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    /// The rule.
    pub rule: String,
    /// Its file.
    pub path: PathBuf,
    /// The line of its `tests:`, else of the rule.
    pub line: Option<usize>,
    /// `tests.fail` or `tests.pass`.
    pub expect: Expect,
    /// The case's position in its list (0-based).
    pub index: usize,
    /// What became of it.
    pub outcome: Outcome,
}

impl CaseResult {
    /// Whether the rule did what the case expects.
    pub fn ok(&self) -> bool {
        matches!(self.outcome, Outcome::Agreed)
    }
}

impl CaseResult {
    /// `tests.fail[0]: <what happened>`.
    pub fn describe(&self) -> String {
        let what = match (&self.outcome, self.expect) {
            (Outcome::Agreed, _) => "ok".to_owned(),
            (Outcome::Disagreed, Expect::Fail) => "raised no finding".to_owned(),
            (Outcome::Disagreed, Expect::Pass) => "raised a finding".to_owned(),
            (Outcome::NotApplicable(why), _) => format!("the rule does not apply: {why}"),
            (Outcome::NotEvaluated(why), _) => format!("not evaluated: {why}"),
        };
        format!("tests.{}[{}]: {what}", self.expect.name(), self.index)
    }
}

/// `path:line: rule <id>: tests.fail[0]: <what happened>`.
impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": rule {}: {}", self.rule, self.describe())
    }
}

/// The results of a run of the rules' tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TestReport {
    /// Every case, rule by rule.
    pub cases: Vec<CaseResult>,
    /// The rules without a case of each kind.
    pub untested: Vec<String>,
}

impl TestReport {
    /// The cases that agreed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.ok()).count()
    }

    /// The cases that did not.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| !c.ok())
    }

    /// Whether every case agreed.
    pub fn ok(&self) -> bool {
        self.failures().next().is_none()
    }
}

/// Runs `rule`'s cases, with its default params.
pub(crate) fn run_rule(rule: &Rule, report: &mut TestReport) {
    let Some(tests) = rule.tests() else {
        report.untested.push(rule.id().to_owned());
        return;
    };
    if tests.fail.is_empty() || tests.pass.is_empty() {
        report.untested.push(rule.id().to_owned());
    }
    let (path, line) = rule.location();
    let line = rule.tests_line.or(line);
    for (expect, records) in [(Expect::Fail, &tests.fail), (Expect::Pass, &tests.pass)] {
        for (index, record) in records.iter().enumerate() {
            let outcome = match (rule.judge_text(&record.to_string()), expect) {
                (Judgement::Fail(_), Expect::Fail) | (Judgement::Pass, Expect::Pass) => {
                    Outcome::Agreed
                }
                (Judgement::NotApplicable(why), Expect::Pass) if why.starts_with("`when`") => {
                    Outcome::Agreed
                }
                (Judgement::Fail(_), Expect::Pass) | (Judgement::Pass, Expect::Fail) => {
                    Outcome::Disagreed
                }
                (Judgement::NotApplicable(why), _) => Outcome::NotApplicable(why),
                (Judgement::NotEvaluated(why), _) => Outcome::NotEvaluated(why),
            };
            report.cases.push(CaseResult {
                rule: rule.id().to_owned(),
                path: path.to_path_buf(),
                line,
                expect,
                index,
                outcome,
            });
        }
    }
}

impl RuleSet {
    /// Runs the test cases of every rule of the set.
    pub fn run_tests(&self) -> TestReport {
        let mut report = TestReport::default();
        for rule in self.rules() {
            run_rule(rule, &mut report);
        }
        report
    }
}
