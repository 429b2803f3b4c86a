//! The numbers the report shows, computed from what [`super::gather`]
//! read: the summary, the trend, compliance, the worst scopes and
//! services, the findings table and the blind spots. Everything here is
//! serialized into the page's JSON island (`<script type="application/json"
//! id="report-data">`), except the table's rows, which are in the HTML.

use super::gather::Input;
use super::store::Place;
use crate::compliance::report::{SectionTotals, Status as Requirement, Totals};
use crate::findings::state::Finding;
use crate::findings::Status;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// How many runs the trend shows.
pub const TREND_RUNS: usize = 30;
/// How many rows the findings table shows at most (the most severe, then
/// the oldest, first).
pub const TABLE_CAP: usize = 5000;
/// How many scopes and services are listed.
pub const WORST: usize = 10;
/// Mutes that expire within this many days are listed.
pub const MUTE_WARNING_DAYS: i64 = 14;
/// Findings named under one failing requirement.
const FINDINGS_PER_REQUIREMENT: usize = 10;

/// The severities, most severe first; a finding without one is
/// `unspecified`.
pub const SEVERITIES: [&str; 6] = [
    "critical",
    "high",
    "medium",
    "low",
    "informational",
    "unspecified",
];

/// Index in [`SEVERITIES`] of a finding's severity.
pub fn severity_index(severity: Option<&str>) -> usize {
    severity
        .and_then(|s| SEVERITIES[..5].iter().position(|n| *n == s))
        .unwrap_or(5)
}

/// Counts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BySeverity {
    /// Critical.
    pub critical: u64,
    /// High.
    pub high: u64,
    /// Medium.
    pub medium: u64,
    /// Low.
    pub low: u64,
    /// Informational.
    pub informational: u64,
    /// No severity given.
    pub unspecified: u64,
}

impl BySeverity {
    /// The counts in [`SEVERITIES`] order.
    pub fn counts(&self) -> [u64; 6] {
        [
            self.critical,
            self.high,
            self.medium,
            self.low,
            self.informational,
            self.unspecified,
        ]
    }

    fn from_counts(c: [u64; 6]) -> Self {
        Self {
            critical: c[0],
            high: c[1],
            medium: c[2],
            low: c[3],
            informational: c[4],
            unspecified: c[5],
        }
    }

    /// All of them.
    pub fn total(&self) -> u64 {
        self.counts().iter().sum()
    }
}

/// New, regressed and resolved findings (status changes) in a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// Seen for the first time.
    pub new: u64,
    /// Back after being resolved.
    pub regressed: u64,
    /// Gone.
    pub resolved: u64,
}

impl Changes {
    fn add(&mut self, status: Status) {
        match status {
            Status::New => self.new += 1,
            Status::Regressed => self.regressed += 1,
            Status::Resolved => self.resolved += 1,
            Status::Open => {}
        }
    }
}

/// A mute that expires soon (or has expired).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpiringMute {
    /// What it matches, as `field=value` pairs.
    pub matches: String,
    /// Why.
    pub reason: String,
    /// Who decided.
    pub owner: Option<String>,
    /// Its last day.
    pub expires: String,
    /// Days from today to its last day (negative: expired).
    pub days_left: i64,
}

/// The summary at the top of the page.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Open findings (new, open or regressed), muted ones included.
    pub open: BySeverity,
    /// Their number.
    pub open_total: u64,
    /// The latest run (its audit version), if any.
    pub latest_run: Option<String>,
    /// What the latest run changed (since the previous run).
    pub latest: Changes,
    /// What changed since `since`.
    pub since: Changes,
    /// Open findings a mute holds back.
    pub muted: u64,
    /// Mutes whose last day is within [`MUTE_WARNING_DAYS`] (or past).
    pub mutes_expiring: Vec<ExpiringMute>,
    /// Mutes in the config.
    pub mutes: u64,
}

/// One run of the trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    /// The run's audit version.
    pub run: String,
    /// When it ended (RFC 3339), as well as known.
    pub at: String,
    /// Open findings after the run, by their current severity.
    pub open: BySeverity,
    /// What it changed.
    pub changes: Changes,
}

/// A failing requirement and some of its findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failing {
    /// Its id.
    pub id: String,
    /// Its section.
    pub section: String,
    /// Its title.
    pub title: String,
    /// Open findings of its checks (the compliance report's count).
    pub open_findings: u64,
    /// Some of them: each one's resource (or id) and check.
    pub findings: Vec<String>,
}

/// A requirement nothing evaluated, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotEvaluated {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Why.
    pub why: String,
}

/// One framework's compliance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Framework {
    /// Its id.
    pub id: String,
    /// `name version`.
    pub name: String,
    /// Its cloud.
    pub provider: String,
    /// Every requirement's status, and the score.
    pub totals: Totals,
    /// Each section's.
    pub sections: Vec<SectionTotals>,
    /// The failing requirements.
    pub failing: Vec<Failing>,
    /// The automated requirements nothing evaluated.
    pub not_evaluated: Vec<NotEvaluated>,
}

/// A scope or a service, with its open findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Its name.
    pub name: String,
    /// Open findings by severity.
    pub open: BySeverity,
    /// Their number.
    pub total: u64,
}

/// What could not be evaluated, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlindSpot {
    /// The audit.
    pub audit: String,
    /// The account, subscription or project (or the worker, for a run
    /// failure).
    pub scope: String,
    /// Its cloud.
    pub cloud: String,
    /// What was not read (a record type), or what failed.
    pub what: String,
    /// Why.
    pub why: String,
    /// Whether the answer says a permission is missing (HTTP 401/403,
    /// AccessDenied, AuthorizationFailed, PermissionDenied, Forbidden).
    pub permission: bool,
    /// When the run that said so wrote it.
    pub at: String,
}

/// The findings table's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TableInfo {
    /// Open findings.
    pub open: u64,
    /// Rows shown.
    pub shown: u64,
    /// Open findings not shown (the cap).
    pub not_shown: u64,
    /// The cap.
    pub cap: u64,
}

/// One row of the findings table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Its severity's index in [`SEVERITIES`].
    pub severity: usize,
    /// The check.
    pub check: String,
    /// The resource.
    pub resource: String,
    /// The scope.
    pub scope: String,
    /// First seen (RFC 3339).
    pub first_seen: String,
    /// Days since first seen.
    pub age_days: i64,
    /// Its status, `muted` appended when a mute holds it.
    pub status: String,
    /// The finding id.
    pub id: String,
}

/// One run of the run history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// Its audit version.
    pub run: String,
    /// When it started.
    pub started: String,
    /// Its exit status.
    pub status: u8,
    /// Whether a signal stopped it.
    pub interrupted: bool,
    /// Plugin failures.
    pub failures: u64,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    /// When the report was made (RFC 3339).
    pub generated: String,
    /// The start of the `since` period (RFC 3339).
    pub since: String,
    /// The findings database.
    pub state: String,
    /// The summary.
    pub summary: Summary,
    /// The last runs, oldest first.
    pub trend: Vec<TrendPoint>,
    /// Each framework asked for.
    pub compliance: Vec<Framework>,
    /// The scopes with the most severe open findings.
    pub worst_scopes: Vec<Group>,
    /// The services (resource types) with the most severe open findings.
    pub worst_services: Vec<Group>,
    /// The findings table's size.
    pub table: TableInfo,
    /// What was not evaluated, and why.
    pub blind_spots: Vec<BlindSpot>,
    /// The last runs of the run history, oldest first.
    pub runs: Vec<Run>,
    /// Notes on what the report could not read.
    pub notes: Vec<String>,
    /// The table's rows (in the HTML only).
    #[serde(skip)]
    pub rows: Vec<Row>,
}

/// Computes the page's numbers.
pub fn build(input: &Input) -> Model {
    let places: HashMap<(&str, &str), &Place> = input
        .places
        .iter()
        .map(|((a, f), p)| ((a.as_str(), f.as_str()), p))
        .collect();
    let no_place = Place::default();
    let place_of = |f: &Finding| {
        places
            .get(&(f.audit.as_str(), f.finding_id.as_str()))
            .copied()
            .unwrap_or(&no_place)
    };
    let active: Vec<&Finding> = input
        .findings
        .iter()
        .filter(|f| f.status.is_active())
        .collect();

    let mut open = [0u64; 6];
    for f in &active {
        open[severity_index(f.severity.as_deref())] += 1;
    }
    let today = input.now.date_naive();
    let mut summary = Summary {
        open: BySeverity::from_counts(open),
        open_total: active.len() as u64,
        muted: active.iter().filter(|f| f.muted).count() as u64,
        mutes: input.mutes.len() as u64,
        mutes_expiring: expiring_mutes(input, today),
        ..Summary::default()
    };

    let (trend, latest) = trend(input);
    summary.latest_run = latest.clone();
    let since = input
        .since
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for change in &input.changes {
        if Some(&change.transition.audit_version) == latest.as_ref() {
            summary.latest.add(change.transition.status);
        }
        if parse_time(&change.transition.at).is_some_and(|at| at >= input.since) {
            summary.since.add(change.transition.status);
        }
    }

    let group = |key: &dyn Fn(&Finding) -> String| {
        let mut groups: BTreeMap<String, [u64; 6]> = BTreeMap::new();
        for f in &active {
            groups.entry(key(f)).or_default()[severity_index(f.severity.as_deref())] += 1;
        }
        let mut groups: Vec<Group> = groups
            .into_iter()
            .map(|(name, counts)| Group {
                name,
                total: counts.iter().sum(),
                open: BySeverity::from_counts(counts),
            })
            .collect();
        groups.sort_by(|a, b| {
            b.open
                .counts()
                .cmp(&a.open.counts())
                .then_with(|| a.name.cmp(&b.name))
        });
        groups.truncate(WORST);
        groups
    };
    let cloud = |f: &Finding| f.cloud_type.clone().unwrap_or_else(|| "?".into());
    let worst_scopes = group(&|f| {
        let scope = &place_of(f).scope;
        let scope = if scope.is_empty() {
            "(none named)"
        } else {
            scope
        };
        format!("{} {scope}", cloud(f))
    });
    let worst_services = group(&|f| {
        let place = place_of(f);
        let kind = match f.reference.as_deref().and_then(service_of) {
            Some(service) => service.to_string(),
            None if place.resource_type.is_empty() => f.record_type.clone().unwrap_or_default(),
            None => place.resource_type.clone(),
        };
        format!("{} {kind}", cloud(f))
    });

    let mut sorted = active.clone();
    sorted.sort_by(|a, b| {
        severity_index(a.severity.as_deref())
            .cmp(&severity_index(b.severity.as_deref()))
            .then_with(|| a.first_seen.cmp(&b.first_seen))
            .then_with(|| a.finding_id.cmp(&b.finding_id))
    });
    let rows: Vec<Row> = sorted
        .iter()
        .take(TABLE_CAP)
        .map(|f| {
            let place = place_of(f);
            Row {
                severity: severity_index(f.severity.as_deref()),
                check: place.check.clone(),
                resource: f.reference.clone().unwrap_or_default(),
                scope: place.scope.clone(),
                first_seen: f.first_seen.clone(),
                age_days: parse_time(&f.first_seen)
                    .map_or(0, |t| (input.now - t).num_days().max(0)),
                status: if f.muted {
                    format!("{} muted", f.status)
                } else {
                    f.status.to_string()
                },
                id: f.finding_id.clone(),
            }
        })
        .collect();
    let table = TableInfo {
        open: active.len() as u64,
        shown: rows.len() as u64,
        not_shown: (active.len() - rows.len()) as u64,
        cap: TABLE_CAP as u64,
    };

    let compliance = input
        .compliance
        .iter()
        .map(|report| {
            let failing = report
                .requirements
                .iter()
                .filter(|r| r.status == Requirement::Fail)
                .map(|r| {
                    let findings = active
                        .iter()
                        .filter(|f| {
                            let check = place_of(f).check.as_str();
                            (r.checks.iter().any(|c| c == check)
                                || r.partial_checks.iter().any(|c| c == check))
                                && f.cloud_type
                                    .as_deref()
                                    .is_none_or(|c| c == report.framework.provider)
                        })
                        .take(FINDINGS_PER_REQUIREMENT)
                        .map(|f| {
                            let what = f.reference.as_deref().unwrap_or(&f.finding_id);
                            format!("{what} ({})", place_of(f).check)
                        })
                        .collect();
                    Failing {
                        id: r.id.clone(),
                        section: r.section.clone(),
                        title: r.title.clone(),
                        open_findings: r.open_findings,
                        findings,
                    }
                })
                .collect();
            let not_evaluated = report
                .requirements
                .iter()
                .filter(|r| r.status == Requirement::NotEvaluated)
                .map(|r| NotEvaluated {
                    id: r.id.clone(),
                    title: r.title.clone(),
                    why: r.why.clone().unwrap_or_default(),
                })
                .collect();
            Framework {
                id: report.framework.id.clone(),
                name: format!("{} {}", report.framework.name, report.framework.version),
                provider: report.framework.provider.clone(),
                totals: report.totals,
                sections: report.sections.clone(),
                failing,
                not_evaluated,
            }
        })
        .collect();

    Model {
        generated: input.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        since,
        state: input.state_path.clone(),
        summary,
        trend,
        compliance,
        worst_scopes,
        worst_services,
        table,
        blind_spots: blind_spots(input),
        runs: input
            .runs
            .iter()
            .map(|r| Run {
                run: r.audit_version.clone(),
                started: r.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                status: r.status,
                interrupted: r.interrupted,
                failures: r.audits.iter().map(|a| a.failures).sum(),
            })
            .collect(),
        notes: input.notes.clone(),
        rows,
    }
}

/// The service a resource belongs to, from its reference: an Azure
/// resource id's type (`Microsoft.Network/networkSecurityGroups`, the last
/// `/providers/` segment pair), an AWS ARN's service (`arn:aws:s3:::b` ->
/// `s3`), a Google API URL's API (`https://www.googleapis.com/compute/v1/...`
/// -> `compute`, `https://sqladmin.googleapis.com/...` -> `sqladmin`).
pub fn service_of(reference: &str) -> Option<&str> {
    if let Some(rest) = reference.strip_prefix("arn:") {
        return rest.split(':').nth(1).filter(|s| !s.is_empty());
    }
    if let Some((_, tail)) = reference.rsplit_once("/providers/") {
        let mut parts = tail.split('/');
        let (namespace, kind) = (parts.next()?, parts.next()?);
        let end = reference.len() - tail.len() + namespace.len() + 1 + kind.len();
        return Some(&reference[reference.len() - tail.len()..end]);
    }
    let rest = reference.strip_prefix("https://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let api = host.strip_suffix(".googleapis.com")?;
    if api == "www" {
        path.split('/').next().filter(|s| !s.is_empty())
    } else {
        Some(api)
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn expiring_mutes(input: &Input, today: NaiveDate) -> Vec<ExpiringMute> {
    let mut out: Vec<ExpiringMute> = input
        .mutes
        .iter()
        .filter_map(|mute| {
            let days_left = (mute.expires - today).num_days();
            (days_left <= MUTE_WARNING_DAYS).then(|| {
                let m = &mute.matches;
                let matches = [
                    ("audit", &m.audit),
                    ("cloud_type", &m.cloud_type),
                    ("record_type", &m.record_type),
                    ("reference", &m.reference),
                    ("finding_id", &m.finding_id),
                ]
                .iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
                .collect::<Vec<_>>()
                .join(" ");
                ExpiringMute {
                    matches,
                    reason: mute.reason.clone(),
                    owner: mute.owner.clone(),
                    expires: mute.expires.to_string(),
                    days_left,
                }
            })
        })
        .collect();
    out.sort_by_key(|m| m.days_left);
    out
}

/// The runs (from the run history and the status changes), oldest first,
/// each with the open findings after it; and the latest run.
fn trend(input: &Input) -> (Vec<TrendPoint>, Option<String>) {
    // Every run: its audit version and when it ended.
    let mut when: HashMap<&str, String> = HashMap::new();
    for run in &input.runs {
        when.insert(&run.audit_version, run.ended.to_rfc3339());
    }
    for change in &input.changes {
        let at = when
            .entry(&change.transition.audit_version)
            .or_insert_with(|| change.transition.at.clone());
        if parse_time(&change.transition.at) > parse_time(at) {
            *at = change.transition.at.clone();
        }
    }
    let mut runs: Vec<(&str, String)> = when.into_iter().collect();
    runs.sort_by(|a, b| {
        parse_time(&a.1)
            .cmp(&parse_time(&b.1))
            .then_with(|| a.0.cmp(b.0))
    });
    let index: HashMap<&str, usize> = runs.iter().enumerate().map(|(i, r)| (r.0, i)).collect();
    let severity: HashMap<(&str, &str), usize> = input
        .findings
        .iter()
        .map(|f| {
            (
                (f.audit.as_str(), f.finding_id.as_str()),
                severity_index(f.severity.as_deref()),
            )
        })
        .collect();

    // Replay: +1 where a finding becomes active, -1 where it is resolved.
    let mut delta = vec![[0i64; 6]; runs.len() + 1];
    let mut changes = vec![Changes::default(); runs.len()];
    let mut active: HashMap<(&str, &str), bool> = HashMap::new();
    for change in &input.changes {
        let Some(&k) = index.get(change.transition.audit_version.as_str()) else {
            continue;
        };
        changes[k].add(change.transition.status);
        let key = (change.audit.as_str(), change.finding_id.as_str());
        let sev = severity.get(&key).copied().unwrap_or(5);
        let was = active.get(&key).copied().unwrap_or(false);
        let is = change.transition.status.is_active();
        if is && !was {
            delta[k][sev] += 1;
        } else if was && !is {
            delta[k][sev] -= 1;
        }
        active.insert(key, is);
    }
    let mut open = [0i64; 6];
    let mut points = Vec::with_capacity(runs.len());
    for (k, (run, at)) in runs.iter().enumerate() {
        for s in 0..6 {
            open[s] += delta[k][s];
        }
        points.push(TrendPoint {
            run: run.to_string(),
            at: at.clone(),
            open: BySeverity::from_counts(open.map(|n| n.max(0) as u64)),
            changes: changes[k],
        });
    }
    let latest = points.last().map(|p| p.run.clone());
    let skip = points.len().saturating_sub(TREND_RUNS);
    (points.into_iter().skip(skip).collect(), latest)
}

fn is_permission(why: &str) -> bool {
    let why = why.to_ascii_lowercase();
    [
        "401",
        "403",
        "accessdenied",
        "access denied",
        "authorizationfailed",
        "permissiondenied",
        "permission denied",
        "forbidden",
        "unauthorized",
    ]
    .iter()
    .any(|w| why.contains(w))
}

fn blind_spots(input: &Input) -> Vec<BlindSpot> {
    let mut out = Vec::new();
    for (audit, summary, at) in &input.collections {
        if summary.complete && summary.failed.is_empty() {
            continue;
        }
        let cloud = summary.cloud_type.clone().unwrap_or_default();
        if summary.failed.is_empty() {
            out.push(BlindSpot {
                audit: audit.clone(),
                scope: summary.scope.clone(),
                cloud,
                what: "(collection)".into(),
                why: "the cloud plugin said the collection was incomplete".into(),
                permission: false,
                at: at.clone(),
            });
            continue;
        }
        for (what, why) in &summary.failed {
            out.push(BlindSpot {
                audit: audit.clone(),
                scope: summary.scope.clone(),
                cloud: cloud.clone(),
                what: what.clone(),
                why: why.clone(),
                permission: is_permission(why),
                at: at.clone(),
            });
        }
    }
    // The latest run's plugin failures: what they did not do is not in
    // the findings either.
    if let Some(run) = input.runs.last() {
        for audit in &run.audits {
            for worker in audit.workers.iter().filter(|w| w.fatal || w.failures > 0) {
                out.push(BlindSpot {
                    audit: audit.audit_key.clone(),
                    scope: worker.worker.clone(),
                    cloud: String::new(),
                    what: format!("{} plugin", worker.role),
                    why: if worker.fatal {
                        format!("failed and stopped ({} failures)", worker.failures)
                    } else {
                        format!("{} failures", worker.failures)
                    },
                    permission: false,
                    at: run.ended.to_rfc3339(),
                });
            }
        }
        if run.interrupted {
            out.push(BlindSpot {
                audit: String::new(),
                scope: String::new(),
                cloud: String::new(),
                what: "the latest run".into(),
                why: "was interrupted: it may have read only part of the clouds".into(),
                permission: false,
                at: run.ended.to_rfc3339(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::service_of;

    #[test]
    fn a_reference_names_its_service() {
        assert_eq!(
            service_of("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n/securityRules/r"),
            Some("Microsoft.Network/networkSecurityGroups")
        );
        assert_eq!(service_of("arn:aws:s3:::bucket"), Some("s3"));
        assert_eq!(
            service_of("https://www.googleapis.com/compute/v1/projects/p/global/firewalls/f"),
            Some("compute")
        );
        assert_eq!(
            service_of("https://sqladmin.googleapis.com/v1/projects/p/instances/i"),
            Some("sqladmin")
        );
        assert_eq!(service_of("mock-7"), None);
    }
}
