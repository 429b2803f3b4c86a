//! `cloudmarker compliance [--framework ID] [--format F] [--audit A]`: a
//! framework's requirements with their statuses (see
//! [`crate::compliance::report`]), or the known frameworks.

use crate::cli::{Cli, FindingsFormat};
use crate::compliance::report::{self, Evidence};
use crate::config::Config;
use crate::exit;
use crate::findings::state::OpenError;
use rules::framework::Frameworks;
use serde::Serialize;

/// Prints the report of `framework` (the known frameworks when none).
pub fn run(cli: &Cli, framework: Option<&str>, format: FindingsFormat, audit: Option<&str>) -> u8 {
    let (config, frameworks) = match super::load_frameworks(cli) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    let Some(id) = framework.filter(|id| !id.is_empty()) else {
        print!("{}", list(&frameworks, format));
        return exit::SUCCESS;
    };
    let Some(framework) = frameworks.get(id) else {
        eprintln!(
            "cloudmarker: error: no framework {id:?}; the known frameworks are {}",
            known(&frameworks)
        );
        return exit::CONFIG;
    };
    let evidence = match evidence(&config, audit, &frameworks) {
        Ok(evidence) => evidence,
        Err(e) => return super::state_error(&e),
    };
    let report = report::build(framework, &evidence);
    match format {
        FindingsFormat::Table => print!("{}", report::table(&report)),
        FindingsFormat::Csv => print!("{}", report::csv(&report)),
        FindingsFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("cloudmarker: error: {e}");
                return exit::PLUGIN_FAILED;
            }
        },
    }
    exit::SUCCESS
}

fn known(frameworks: &Frameworks) -> String {
    match frameworks.ids() {
        ids if ids.is_empty() => "none (no framework files found)".into(),
        ids => ids.join(", "),
    }
}

/// What the findings database says of the latest runs (of `audit`, when
/// given); nothing when there is no database yet (said on stderr).
fn evidence(
    config: &Config,
    audit: Option<&str>,
    frameworks: &Frameworks,
) -> Result<Evidence, OpenError> {
    let mut evidence = Evidence::for_frameworks(frameworks);
    let state = config.state.clone().unwrap_or_default();
    let place = state.describe();
    if !state.enabled() || (state.url.is_none() && state.path().is_none()) {
        eprintln!("cloudmarker: findings are not kept (state: {{enabled: false}}, or no state directory): no automated requirement is evaluated.");
        return Ok(evidence);
    }
    if !state.may_exist() {
        eprintln!(
            "cloudmarker: no findings recorded in {place} yet: no automated requirement is evaluated."
        );
        return Ok(evidence);
    }
    let mut state = state.open()?;
    let read = |e: String| OpenError::other(format!("cannot read {place}: {e}"));
    evidence.check_summaries = state.check_summaries(audit).map_err(read)?;
    evidence.collection_summaries = state.collection_summaries(audit).map_err(read)?;
    evidence.open_findings = state.open_findings_by_check(audit).map_err(read)?;
    Ok(evidence)
}

/// One known framework, as listed.
#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    name: &'a str,
    version: &'a str,
    provider: &'a str,
    requirements: usize,
    automated: usize,
    /// Automated requirements that a check answers in full.
    mapped: usize,
    path: String,
}

/// The known frameworks, as `format` prints them.
fn list(frameworks: &Frameworks, format: FindingsFormat) -> String {
    let listed: Vec<Listed<'_>> = frameworks
        .iter()
        .map(|f| {
            let automated = f.requirements.iter().filter(|r| r.automated);
            Listed {
                id: &f.id,
                name: &f.name,
                version: &f.version,
                provider: &f.provider,
                requirements: f.requirements.len(),
                automated: automated.clone().count(),
                mapped: automated.filter(|r| !r.checks.is_empty()).count(),
                path: f.path.display().to_string(),
            }
        })
        .collect();
    let cells = |l: &Listed<'_>| {
        [
            l.id.to_string(),
            l.provider.to_string(),
            format!("{} {}", l.name, l.version),
            l.requirements.to_string(),
            l.automated.to_string(),
            l.mapped.to_string(),
        ]
    };
    const HEADER: [&str; 6] = [
        "id",
        "provider",
        "benchmark",
        "requirements",
        "automated",
        "mapped",
    ];
    match format {
        FindingsFormat::Json => serde_json::to_string_pretty(&listed).unwrap_or_default() + "\n",
        FindingsFormat::Csv => {
            let mut out = HEADER.join(",") + "\r\n";
            for l in &listed {
                let row: Vec<String> = cells(l)
                    .iter()
                    .map(|c| {
                        if c.contains([',', '"']) {
                            format!("\"{}\"", c.replace('"', "\"\""))
                        } else {
                            c.clone()
                        }
                    })
                    .collect();
                out.push_str(&row.join(","));
                out.push_str("\r\n");
            }
            out
        }
        FindingsFormat::Table if listed.is_empty() => {
            "No frameworks: no framework files were found.\n".into()
        }
        FindingsFormat::Table => {
            let rows: Vec<[String; 6]> = listed.iter().map(cells).collect();
            crate::table::render(HEADER, &rows, "", 3)
                + "\nShow one: cloudmarker compliance --framework ID\n"
        }
    }
}
