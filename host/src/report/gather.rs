//! What the report reads: the findings database (through
//! [`crate::findings::state::State`], and [`super::store`] for the status
//! changes and each finding's check and scope), the run history, the
//! config's mutes and the compliance reports of the frameworks asked for
//! (built by [`crate::compliance::report::build`], as `cloudmarker
//! compliance` builds them).

use super::store::{self, Change};
use crate::compliance::report::{self, Evidence, Report};
use crate::config::Config;
use crate::findings::mutes::Mute;
use crate::findings::state::{CollectionSummary, Finding};
use crate::history::RunRecord;
use chrono::{DateTime, Utc};
use rules::framework::Frameworks;

/// How many runs of the run history are read.
const HISTORY_RUNS: usize = 200;

/// Everything the report is made of.
#[derive(Default)]
pub struct Input {
    /// When the report is made.
    pub now: DateTime<Utc>,
    /// The start of the period the summary counts changes over.
    pub since: DateTime<Utc>,
    /// The findings database's path.
    pub state_path: String,
    /// Every finding.
    pub findings: Vec<Finding>,
    /// Each finding's check, scope and resource type, by (audit, id).
    pub places: super::store::Places,
    /// Every status change, oldest first.
    pub changes: Vec<Change>,
    /// The latest collection summary of each scope: (audit, summary, at).
    pub collections: Vec<(String, CollectionSummary, String)>,
    /// The last runs of the run history, oldest first.
    pub runs: Vec<RunRecord>,
    /// The config's mutes.
    pub mutes: Vec<Mute>,
    /// The compliance report of each framework asked for.
    pub compliance: Vec<Report>,
    /// What could not be read.
    pub notes: Vec<String>,
}

/// Which frameworks: the ids given, or (none given) those of the clouds
/// the findings database knows.
pub enum Which<'a> {
    /// These ids.
    Ids(&'a [String]),
    /// The frameworks of the clouds seen.
    Seen,
}

/// Reads everything; a missing database or run history is a note, not an
/// error (the report then says so).
pub fn gather(
    config: &Config,
    frameworks: &Frameworks,
    which: Which<'_>,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
) -> Result<Input, String> {
    let mut input = Input {
        now,
        since,
        mutes: config.mutes.clone().unwrap_or_default(),
        ..Input::default()
    };
    let mut evidence = Evidence::for_frameworks(frameworks);
    let state = config.state.clone().unwrap_or_default();
    // An explicit history.path is read as `cloudmarker history` reads it;
    // otherwise the state's run history (the whole estate's).
    let history_file = config.history.as_ref().is_some_and(|h| h.path.is_some());
    if state.enabled() && state.may_exist() {
        let place = state.describe();
        input.state_path = place.clone();
        let read = |e: String| format!("cannot read {place}: {e}");
        let mut db = state.open().map_err(|e| e.to_string())?;
        input.findings = db.all().map_err(read)?;
        evidence.check_summaries = db.check_summaries(None).map_err(read)?;
        evidence.collection_summaries = db.collection_summaries(None).map_err(read)?;
        evidence.open_findings = db.open_findings_by_check(None).map_err(read)?;
        (input.changes, input.places) = store::changes_and_places(&mut db).map_err(read)?;
        input.collections = evidence.collection_summaries.clone();
        if !history_file {
            let lines = db.recent_runs(HISTORY_RUNS).map_err(read)?;
            let before = lines.len();
            input.runs = lines
                .iter()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect();
            if input.runs.len() < before {
                input.notes.push(format!(
                    "{} unreadable run(s) of the run history in {place} were skipped.",
                    before - input.runs.len()
                ));
            }
        }
    } else if state.enabled() {
        input.state_path = state.describe();
        input.notes.push(format!(
            "No findings recorded in {} yet: nothing is evaluated.",
            state.describe()
        ));
    } else {
        input.notes.push(
            "Findings are not kept (state: {enabled: false}, or no state directory): nothing is evaluated."
                .into(),
        );
    }
    if history_file || !(state.enabled() && state.may_exist()) {
        let history = config.history_path();
        match crate::history::read_recent(&history, HISTORY_RUNS) {
            Ok((runs, unreadable)) => {
                input.runs = runs;
                if unreadable > 0 {
                    input.notes.push(format!(
                        "{unreadable} unreadable line(s) of the run history {} were skipped.",
                        history.display()
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => input
                .notes
                .push(format!("No run history at {} yet.", history.display())),
            Err(e) => {
                return Err(format!(
                    "cannot read the run history {}: {e}",
                    history.display()
                ))
            }
        }
    }
    let selected: Vec<&rules::framework::Framework> = match which {
        Which::Ids(ids) => {
            let mut out = Vec::new();
            for id in ids {
                match frameworks.get(id) {
                    Some(f) => out.push(f),
                    None => {
                        return Err(format!(
                            "no framework {id:?}; the known frameworks are {}",
                            frameworks.ids().join(", ")
                        ))
                    }
                }
            }
            out
        }
        Which::Seen => {
            let mut clouds: Vec<&str> = input
                .findings
                .iter()
                .filter_map(|f| f.cloud_type.as_deref())
                .chain(
                    input
                        .collections
                        .iter()
                        .filter_map(|(_, c, _)| c.cloud_type.as_deref()),
                )
                .collect();
            clouds.sort_unstable();
            clouds.dedup();
            frameworks
                .iter()
                .filter(|f| clouds.contains(&f.provider.as_str()))
                .collect()
        }
    };
    input.compliance = selected
        .into_iter()
        .map(|f| report::build(f, &evidence))
        .collect();
    Ok(input)
}
