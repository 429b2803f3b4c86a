//! The compliance report: each requirement of a framework with its status,
//! from what the findings database keeps of the latest runs (check
//! summaries, collection summaries, open findings).
//!
//! Statuses, for a requirement whose checks are `checks` (and
//! `partial_checks`):
//!
//! - **manual**: the benchmark calls it manual (`automated: false`);
//! - **fail**: a finding of one of its checks (or partial checks) is open
//!   (`new`, `open` or `regressed`), with how many;
//! - **pass**: no open finding, and every one of its `checks` evaluated at
//!   least one record in the latest run that read its scopes;
//! - **not evaluated**, with why: no check maps it (`not automated here`),
//!   only partial checks do, one of its checks evaluated nothing, or the
//!   collection of a scope failed (then that is the why).
//!
//! The score is pass / (pass + fail); not evaluated and manual
//! requirements are counted apart.
//!
//! "Latest" is per audit and scope: a check summary counts when it was
//! written by the latest run that summarised anything in its scope (a
//! check that evaluated nothing in a later run of the scope does not keep
//! an older run's count). Scopes, findings and summaries belong to the
//! framework's cloud: a scope by its collection summary's `cloud_type`, a
//! finding by its own; one of no cloud, or of a cloud no framework is
//! about (a test fixture's), counts for every framework.

use crate::findings::state::{CheckSummary, CollectionSummary, OpenFindings};
use rules::framework::{Framework, Frameworks, Requirement};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;

/// A requirement's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Its checks evaluated records and found nothing open.
    Pass,
    /// A finding of its checks is open.
    Fail,
    /// Nothing says whether it holds (see the why).
    NotEvaluated,
    /// The benchmark assesses it by hand.
    Manual,
}

impl Status {
    /// Its name in the table and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::NotEvaluated => "not evaluated",
            Self::Manual => "manual",
        }
    }
}

/// What the findings database holds for a report.
#[derive(Debug, Default, Clone)]
pub struct Evidence {
    /// The latest check summaries: (audit, summary, when written).
    pub check_summaries: Vec<(String, CheckSummary, String)>,
    /// The latest collection summaries: (audit, summary, when written).
    pub collection_summaries: Vec<(String, CollectionSummary, String)>,
    /// The open findings by audit, check and cloud.
    pub open_findings: Vec<OpenFindings>,
    /// The clouds some framework is about (`azure`, `aws`, `gcp`).
    pub providers: Vec<String>,
}

impl Evidence {
    /// No evidence yet, about the clouds of `frameworks`.
    pub fn for_frameworks(frameworks: &Frameworks) -> Self {
        let mut providers: Vec<String> = frameworks.iter().map(|f| f.provider.clone()).collect();
        providers.sort();
        providers.dedup();
        Self {
            providers,
            ..Self::default()
        }
    }
}

/// One requirement and its status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequirementStatus {
    /// The requirement's id.
    pub id: String,
    /// Its section.
    pub section: String,
    /// Its sub-section.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subsection: Option<String>,
    /// What holds when it passes.
    pub title: String,
    /// Its profile level.
    pub level: u8,
    /// Whether the benchmark calls it automated.
    pub automated: bool,
    /// The checks that answer it.
    pub checks: Vec<String>,
    /// The checks that answer part of it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partial_checks: Vec<String>,
    /// Its status.
    pub status: Status,
    /// Open findings of its checks and partial checks.
    pub open_findings: u64,
    /// Records its checks evaluated in the latest runs.
    pub evaluated: u64,
    /// Why it is not evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// What else to know (a pass while some scope's collection failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How many requirements are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Passed.
    pub pass: u64,
    /// Failed.
    pub fail: u64,
    /// Not evaluated.
    pub not_evaluated: u64,
    /// Manual.
    pub manual: u64,
    /// pass / (pass + fail), from 0 to 1; none when neither.
    pub score: Option<f64>,
}

impl Totals {
    fn add(&mut self, status: Status) {
        match status {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::NotEvaluated => self.not_evaluated += 1,
            Status::Manual => self.manual += 1,
        }
        let judged = self.pass + self.fail;
        self.score = (judged > 0).then(|| self.pass as f64 / judged as f64);
    }

    /// `Score 67% = 2 pass / (2 pass + 1 fail); 3 not evaluated, 1
    /// manual`.
    pub fn summary(&self) -> String {
        let score = match self.score {
            Some(score) => format!(
                "Score {:.0}% = {} pass / ({} pass + {} fail)",
                score * 100.0,
                self.pass,
                self.pass,
                self.fail
            ),
            None => "Score n/a: no requirement passed or failed".into(),
        };
        format!(
            "{score}; {} not evaluated, {} manual",
            self.not_evaluated, self.manual
        )
    }
}

/// One section's totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionTotals {
    /// The section.
    pub section: String,
    /// Its requirements' statuses.
    #[serde(flatten)]
    pub totals: Totals,
}

/// Which framework a report is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameworkHead {
    /// Its id.
    pub id: String,
    /// The benchmark's name.
    pub name: String,
    /// Its edition.
    pub version: String,
    /// Its cloud.
    pub provider: String,
}

/// The report of one framework.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The framework.
    pub framework: FrameworkHead,
    /// The totals of every requirement, and the score.
    pub totals: Totals,
    /// The totals of each section, in the framework's order.
    pub sections: Vec<SectionTotals>,
    /// Every requirement, in the framework's order.
    pub requirements: Vec<RequirementStatus>,
}

/// What the evidence says for one framework's cloud.
struct View<'e> {
    evaluated: HashMap<&'e str, u64>,
    open: HashMap<&'e str, u64>,
    failed_collections: Vec<&'e CollectionSummary>,
}

impl<'e> View<'e> {
    fn of(evidence: &'e Evidence, provider: &str) -> Self {
        // A cloud belongs to this framework when it is its provider, or no
        // framework is about it (or it is unknown).
        let fits = |cloud: Option<&str>| {
            cloud.is_none_or(|c| c == provider || !evidence.providers.iter().any(|p| p == c))
        };
        // The latest run that summarised each (audit, scope), and each
        // scope's cloud.
        let mut latest: HashMap<(&str, &str), &str> = HashMap::new();
        let mut cloud_of: HashMap<(&str, &str), Option<&str>> = HashMap::new();
        let scopes = evidence
            .check_summaries
            .iter()
            .map(|(audit, s, at)| (audit, &s.scope, at))
            .chain(
                evidence
                    .collection_summaries
                    .iter()
                    .map(|(audit, s, at)| (audit, &s.scope, at)),
            );
        for (audit, scope, at) in scopes {
            let entry = latest.entry((audit, scope)).or_insert(at);
            if at.as_str() > *entry {
                *entry = at;
            }
        }
        let mut failed_collections = Vec::new();
        for (audit, summary, at) in &evidence.collection_summaries {
            let key = (audit.as_str(), summary.scope.as_str());
            cloud_of.insert(key, summary.cloud_type.as_deref());
            let current = latest.get(&key) == Some(&at.as_str());
            if current && !summary.complete && fits(summary.cloud_type.as_deref()) {
                failed_collections.push(summary);
            }
        }
        let mut evaluated: HashMap<&str, u64> = HashMap::new();
        for (audit, summary, at) in &evidence.check_summaries {
            let key = (audit.as_str(), summary.scope.as_str());
            let current = latest.get(&key) == Some(&at.as_str());
            if current && fits(cloud_of.get(&key).copied().flatten()) {
                *evaluated.entry(&summary.check).or_default() += summary.evaluated;
            }
        }
        let mut open: HashMap<&str, u64> = HashMap::new();
        for findings in &evidence.open_findings {
            if fits(findings.cloud_type.as_deref()) {
                *open.entry(&findings.check).or_default() += findings.count;
            }
        }
        Self {
            evaluated,
            open,
            failed_collections,
        }
    }

    fn evaluated(&self, check: &str) -> u64 {
        self.evaluated.get(check).copied().unwrap_or(0)
    }

    /// `subscription s2 could not read vm (403 Forbidden)`, for each
    /// failed collection (three at most, then how many more).
    fn collection_failures(&self, provider: &str) -> String {
        let kind = match provider {
            "azure" => "subscription",
            "gcp" => "project",
            "aws" => "account",
            _ => "scope",
        };
        let mut text = String::new();
        for (n, summary) in self.failed_collections.iter().enumerate() {
            if n == 3 {
                let _ = write!(text, "; and {} more", self.failed_collections.len() - 3);
                break;
            }
            if n > 0 {
                text.push_str("; ");
            }
            let _ = write!(text, "{kind} {} could not read ", summary.scope);
            if summary.failed.is_empty() {
                text.push_str("everything");
            } else {
                let failed: Vec<String> = summary
                    .failed
                    .iter()
                    .map(|(record_type, why)| format!("{record_type} ({why})"))
                    .collect();
                text.push_str(&failed.join(", "));
            }
        }
        text
    }
}

fn judge(requirement: &Requirement, view: &View<'_>, provider: &str) -> RequirementStatus {
    let open: u64 = requirement
        .all_checks()
        .map(|c| view.open.get(c).copied().unwrap_or(0))
        .sum();
    let evaluated: u64 = requirement.checks.iter().map(|c| view.evaluated(c)).sum();
    let unevaluated: Vec<&str> = requirement
        .checks
        .iter()
        .map(String::as_str)
        .filter(|c| view.evaluated(c) == 0)
        .collect();
    let collection_failed = !view.failed_collections.is_empty();
    let (status, why, note) = if !requirement.automated {
        (Status::Manual, None, None)
    } else if open > 0 {
        (Status::Fail, None, None)
    } else if requirement.checks.is_empty() {
        let why = if requirement.partial_checks.is_empty() {
            "not automated here (no check maps it)".to_string()
        } else {
            format!(
                "only partly checked here ({})",
                requirement.partial_checks.join(", ")
            )
        };
        (Status::NotEvaluated, Some(why), None)
    } else if unevaluated.is_empty() {
        let note = collection_failed.then(|| {
            format!(
                "the collection was incomplete: {}",
                view.collection_failures(provider)
            )
        });
        (Status::Pass, None, note)
    } else if collection_failed {
        let why = format!(
            "the collection failed: {}",
            view.collection_failures(provider)
        );
        (Status::NotEvaluated, Some(why), None)
    } else {
        let why = format!(
            "its checks evaluated nothing in the latest run: {}",
            unevaluated.join(", ")
        );
        (Status::NotEvaluated, Some(why), None)
    };
    RequirementStatus {
        id: requirement.id.clone(),
        section: requirement.section.clone(),
        subsection: requirement.subsection.clone(),
        title: requirement.title.clone(),
        level: requirement.level,
        automated: requirement.automated,
        checks: requirement.checks.clone(),
        partial_checks: requirement.partial_checks.clone(),
        status,
        open_findings: open,
        evaluated,
        why,
        note,
    }
}

/// The report of `framework` on `evidence`.
pub fn build(framework: &Framework, evidence: &Evidence) -> Report {
    let view = View::of(evidence, &framework.provider);
    let requirements: Vec<RequirementStatus> = framework
        .requirements
        .iter()
        .map(|r| judge(r, &view, &framework.provider))
        .collect();
    let mut totals = Totals::default();
    let mut sections: Vec<SectionTotals> = Vec::new();
    for requirement in &requirements {
        totals.add(requirement.status);
        let index = match sections
            .iter()
            .position(|s| s.section == requirement.section)
        {
            Some(index) => index,
            None => {
                sections.push(SectionTotals {
                    section: requirement.section.clone(),
                    totals: Totals::default(),
                });
                sections.len() - 1
            }
        };
        sections[index].totals.add(requirement.status);
    }
    Report {
        framework: FrameworkHead {
            id: framework.id.clone(),
            name: framework.name.clone(),
            version: framework.version.clone(),
            provider: framework.provider.clone(),
        },
        totals,
        sections,
        requirements,
    }
}

/// What to know of a requirement's status: `2 open`, why it is not
/// evaluated, or a pass's note.
fn detail(r: &RequirementStatus) -> String {
    match r.status {
        Status::Fail => format!("{} open", r.open_findings),
        Status::NotEvaluated => r.why.clone().unwrap_or_default(),
        Status::Pass => r.note.clone().unwrap_or_default(),
        Status::Manual if r.open_findings > 0 => format!("{} open", r.open_findings),
        Status::Manual => String::new(),
    }
}

/// The report as tables: the requirements, the sections' totals and the
/// score.
pub fn table(report: &Report) -> String {
    let f = &report.framework;
    let mut out = format!("{} {} ({}, {})\n\n", f.name, f.version, f.id, f.provider);
    let rows: Vec<[String; 5]> = report
        .requirements
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                format!("L{}", r.level),
                r.status.name().to_string(),
                r.title.clone(),
                detail(r),
            ]
        })
        .collect();
    out.push_str(&crate::table::render(
        ["id", "level", "status", "title", "detail"],
        &rows,
        "",
        5,
    ));
    out.push('\n');
    let cell = |t: &Totals| {
        [
            t.pass.to_string(),
            t.fail.to_string(),
            t.not_evaluated.to_string(),
            t.manual.to_string(),
            t.score
                .map_or("n/a".into(), |s| format!("{:.0}%", s * 100.0)),
        ]
    };
    let mut rows: Vec<[String; 6]> = report
        .sections
        .iter()
        .map(|s| {
            let [a, b, c, d, e] = cell(&s.totals);
            [s.section.clone(), a, b, c, d, e]
        })
        .collect();
    let [a, b, c, d, e] = cell(&report.totals);
    rows.push(["all".into(), a, b, c, d, e]);
    out.push_str(&crate::table::render(
        [
            "section",
            "pass",
            "fail",
            "not evaluated",
            "manual",
            "score",
        ],
        &rows,
        "",
        1,
    ));
    let _ = writeln!(out, "\n{}.", report.totals.summary());
    out
}

/// RFC 4180: fields with a comma, quote or line break are quoted.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// One CSV row per requirement, with a header row.
pub fn csv(report: &Report) -> String {
    let mut out = String::from(
        "framework,id,section,subsection,title,level,automated,status,open_findings,evaluated,checks,partial_checks,why\r\n",
    );
    for r in &report.requirements {
        let row = [
            report.framework.id.clone(),
            r.id.clone(),
            r.section.clone(),
            r.subsection.clone().unwrap_or_default(),
            r.title.clone(),
            r.level.to_string(),
            r.automated.to_string(),
            r.status.name().to_string(),
            r.open_findings.to_string(),
            r.evaluated.to_string(),
            r.checks.join(" "),
            r.partial_checks.join(" "),
            r.why.clone().or(r.note.clone()).unwrap_or_default(),
        ];
        let row: Vec<String> = row.iter().map(|c| csv_field(c)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const FRAMEWORK: &str = r#"framework: {id: cis_az_1.0, name: Test, version: "1.0", provider: azure}
requirements:
  - {id: "1.1", section: "1 Net", title: RDP closed, level: 1, automated: true, checks: [fw]}
  - {id: "1.2", section: "1 Net", title: SSH closed, level: 1, automated: true, checks: [fw, nsg]}
  - {id: "1.3", section: "1 Net", title: Flow logs, level: 2, automated: true, checks: []}
  - {id: "2.1", section: "2 Disk", title: Encrypted, level: 1, automated: true, checks: [disk]}
  - {id: "2.2", section: "2 Disk", title: Reviewed, level: 1, automated: false, checks: [disk]}
  - {id: "2.3", section: "2 Disk", title: Keys, level: 1, automated: true, checks: [], partial_checks: [disk]}
"#;

    fn framework() -> Framework {
        rules::framework::parse(Path::new("cis_az_1.0.yaml"), FRAMEWORK).unwrap()
    }

    fn summary(check: &str, scope: &str, evaluated: u64) -> CheckSummary {
        CheckSummary {
            check: check.into(),
            scope: scope.into(),
            plugin: None,
            evaluated,
            failed: 0,
        }
    }

    fn collection(scope: &str, cloud: &str, failed: &[(&str, &str)]) -> CollectionSummary {
        CollectionSummary {
            scope: scope.into(),
            cloud_type: Some(cloud.into()),
            plugin: None,
            complete: failed.is_empty(),
            failed: failed
                .iter()
                .map(|(t, w)| (t.to_string(), w.to_string()))
                .collect(),
        }
    }

    fn open(check: &str, cloud: &str, count: u64) -> OpenFindings {
        OpenFindings {
            audit: "a".into(),
            check: check.into(),
            cloud_type: Some(cloud.into()),
            count,
        }
    }

    fn evidence() -> Evidence {
        Evidence {
            providers: vec!["azure".into(), "gcp".into()],
            ..Evidence::default()
        }
    }

    fn statuses(report: &Report) -> Vec<(String, Status, u64, Option<String>)> {
        report
            .requirements
            .iter()
            .map(|r| (r.id.clone(), r.status, r.open_findings, r.why.clone()))
            .collect()
    }

    #[test]
    fn pass_fail_not_evaluated_and_manual() {
        let mut e = evidence();
        let at = |t: &str| t.to_string();
        e.check_summaries = vec![
            ("a".into(), summary("fw", "sub1", 4), at("t2")),
            ("a".into(), summary("nsg", "sub1", 2), at("t2")),
            ("a".into(), summary("disk", "sub1", 3), at("t2")),
        ];
        e.collection_summaries = vec![("a".into(), collection("sub1", "azure", &[]), at("t2"))];
        e.open_findings = vec![open("fw", "azure", 2), open("disk", "gcp", 5)];
        let report = build(&framework(), &e);
        assert_eq!(
            statuses(&report),
            [
                ("1.1".into(), Status::Fail, 2, None),
                ("1.2".into(), Status::Fail, 2, None),
                (
                    "1.3".into(),
                    Status::NotEvaluated,
                    0,
                    Some("not automated here (no check maps it)".into())
                ),
                ("2.1".into(), Status::Pass, 0, None),
                ("2.2".into(), Status::Manual, 0, None),
                (
                    "2.3".into(),
                    Status::NotEvaluated,
                    0,
                    Some("only partly checked here (disk)".into())
                ),
            ],
            "a GCP finding does not fail an Azure requirement"
        );
        assert_eq!(report.requirements[1].evaluated, 6);
        let t = report.totals;
        assert_eq!((t.pass, t.fail, t.not_evaluated, t.manual), (1, 2, 2, 1));
        assert_eq!(t.score.map(|s| (s * 1000.0).round()), Some(333.0));
        assert_eq!(
            t.summary(),
            "Score 33% = 1 pass / (1 pass + 2 fail); 2 not evaluated, 1 manual"
        );
        let sections: Vec<(&str, u64, u64, Option<f64>)> = report
            .sections
            .iter()
            .map(|s| {
                (
                    s.section.as_str(),
                    s.totals.pass,
                    s.totals.fail,
                    s.totals.score,
                )
            })
            .collect();
        assert_eq!(
            sections,
            [("1 Net", 0, 2, Some(0.0)), ("2 Disk", 1, 0, Some(1.0))]
        );
    }

    #[test]
    fn a_check_that_evaluated_nothing_or_only_in_an_older_run_is_not_evaluated() {
        let mut e = evidence();
        // Run t1 evaluated fw and nsg in sub1; run t2 read sub1 again and
        // evaluated fw only: nsg's count is t1's, not the latest.
        e.check_summaries = vec![
            ("a".into(), summary("fw", "sub1", 4), "t2".into()),
            ("a".into(), summary("nsg", "sub1", 2), "t1".into()),
        ];
        let report = build(&framework(), &e);
        let s = statuses(&report);
        assert_eq!(s[0].1, Status::Pass);
        assert_eq!(
            s[1],
            (
                "1.2".into(),
                Status::NotEvaluated,
                0,
                Some("its checks evaluated nothing in the latest run: nsg".into())
            )
        );
        assert_eq!(
            s[3].3.as_deref(),
            Some("its checks evaluated nothing in the latest run: disk")
        );
        // An empty database: nothing is evaluated, nothing fails.
        let report = build(&framework(), &evidence());
        assert_eq!(report.totals.not_evaluated, 5);
        assert_eq!(report.totals.score, None);
        assert!(table(&report)
            .contains("Score n/a: no requirement passed or failed; 5 not evaluated, 1 manual."));
    }

    #[test]
    fn a_failed_collection_is_the_why_of_what_evaluated_nothing() {
        let mut e = evidence();
        e.check_summaries = vec![("a".into(), summary("fw", "sub1", 4), "t2".into())];
        e.collection_summaries = vec![
            ("a".into(), collection("sub1", "azure", &[]), "t2".into()),
            (
                "a".into(),
                collection("sub2", "azure", &[("vm", "403 Forbidden")]),
                "t2".into(),
            ),
            // Another cloud's failure is not this framework's.
            (
                "a".into(),
                collection("proj", "gcp", &[("firewall", "denied")]),
                "t2".into(),
            ),
        ];
        let report = build(&framework(), &e);
        let s = statuses(&report);
        assert_eq!(s[0].1, Status::Pass);
        assert_eq!(
            report.requirements[0].note.as_deref(),
            Some("the collection was incomplete: subscription sub2 could not read vm (403 Forbidden)")
        );
        assert_eq!(
            s[3].3.as_deref(),
            Some("the collection failed: subscription sub2 could not read vm (403 Forbidden)")
        );
        // A later complete read of sub2 makes the failure history.
        e.collection_summaries[1] = ("a".into(), collection("sub2", "azure", &[]), "t3".into());
        let report = build(&framework(), &e);
        assert_eq!(
            report.requirements[3].why.as_deref(),
            Some("its checks evaluated nothing in the latest run: disk")
        );
        assert_eq!(report.requirements[0].note, None);
    }

    #[test]
    fn scopes_of_another_cloud_do_not_count_and_unknown_ones_do() {
        let mut e = evidence();
        e.check_summaries = vec![
            ("a".into(), summary("disk", "proj", 7), "t1".into()),
            ("a".into(), summary("fw", "", 1), "t1".into()),
        ];
        e.collection_summaries = vec![("a".into(), collection("proj", "gcp", &[]), "t1".into())];
        e.open_findings = vec![open("nsg", "mock", 1)];
        let report = build(&framework(), &e);
        let s = statuses(&report);
        assert_eq!(s[0].1, Status::Pass, "a scope no summary names counts");
        assert_eq!(
            s[1].1,
            Status::Fail,
            "a finding of a cloud no framework is about counts"
        );
        assert_eq!(
            s[3].1,
            Status::NotEvaluated,
            "a GCP project's records do not count"
        );
    }

    #[test]
    fn csv_and_json_shapes() {
        let mut e = evidence();
        e.open_findings = vec![open("fw", "azure", 1)];
        let report = build(&framework(), &e);
        let csv = csv(&report);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 7);
        assert_eq!(
            lines[1],
            "cis_az_1.0,1.1,1 Net,,RDP closed,1,true,fail,1,0,fw,,"
        );
        assert!(lines[3].ends_with(",not evaluated,0,0,,,not automated here (no check maps it)"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["requirements"][0]["status"], "fail");
        assert_eq!(json["requirements"][2]["status"], "not_evaluated");
        assert_eq!(json["sections"][0]["section"], "1 Net");
        assert_eq!(json["sections"][0]["fail"], 2);
        assert_eq!(json["totals"]["score"], 0.0);
        assert!(table(&report).contains("fail           RDP closed  1 open"));
    }
}
