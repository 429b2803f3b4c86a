//! The page: one HTML file with its CSS, its SVG charts, a JSON island of
//! its numbers and a small script that filters the findings table; nothing
//! is fetched from the network.
//!
//! Written with `write!` and one escaping function rather than a template
//! crate: the page has one fixed layout, every value goes through [`esc`],
//! and a template engine would add a dependency (and its build time) for
//! loops that are as short in Rust.

use super::chart::{self, Frame, Mark, Series};
use super::model::{BySeverity, Group, Model, SEVERITIES};
use std::fmt::Write as _;

/// `text` with `& < > " '` escaped, for element text and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Colours of the severities (also told apart by their names and marks).
const COLORS: [&str; 6] = [
    "#8b0000", "#d9480f", "#b08900", "#1c7ed6", "#495057", "#868e96",
];
const MARKS: [Mark; 6] = [
    Mark::Solid,
    Mark::Dashed,
    Mark::Dotted,
    Mark::DashDot,
    Mark::LongDash,
    Mark::Thin,
];

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#212529;background:#fff}
header,main{max-width:1100px;margin:0 auto;padding:0 16px}
header{border-bottom:1px solid #dee2e6;padding-bottom:8px}
h1{font-size:22px;margin:16px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dee2e6}
h3{font-size:15px;margin:18px 0 6px}
nav a{margin-right:12px}
.meta{color:#495057;font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.card{border:1px solid #ced4da;border-left-width:6px;border-radius:4px;padding:6px 12px;min-width:110px}
.card b{display:block;font-size:22px}
.s0{border-left-color:#8b0000}.s1{border-left-color:#d9480f}.s2{border-left-color:#b08900}.s3{border-left-color:#1c7ed6}.s4{border-left-color:#495057}.s5{border-left-color:#868e96}
td.sev{border-left-width:6px;border-left-style:solid;font-weight:600}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #dee2e6;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f5}td.n,th.n{text-align:right}
.warn{background:#fff3bf;border:1px solid #f08c00;padding:8px 12px;border-radius:4px}
.ok{background:#ebfbee;border:1px solid #2b8a3e;padding:8px 12px;border-radius:4px}
.chart{max-width:100%;height:auto;display:block}
.filters{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0}
#findings td{font-size:12px}#findings td.r{word-break:break-all}
";

const SCRIPT: &str = "
(function(){
var q=document.getElementById('f-text'),s=document.getElementById('f-sev'),t=document.getElementById('f-status'),
rows=document.querySelectorAll('#findings tbody tr'),n=document.getElementById('f-count');
function apply(){var w=q.value.toLowerCase(),sv=s.value,st=t.value,c=0;
for(var i=0;i<rows.length;i++){var r=rows[i];
var show=(!sv||r.getAttribute('data-sev')===sv)&&(!st||r.getAttribute('data-status').indexOf(st)===0)&&(!w||r.textContent.toLowerCase().indexOf(w)>=0);
r.hidden=!show;if(show)c++;}
n.textContent=String(c);}
q.addEventListener('input',apply);s.addEventListener('change',apply);t.addEventListener('change',apply);
var d=document.documentElement;d.setAttribute('data-parse-ms',String(Math.round(performance.now())));d.setAttribute('data-ready','1');
})();
";

/// The page of `model`.
pub fn render(model: &Model) -> String {
    let mut out = String::with_capacity(64 * 1024 + model.rows.len() * 320);
    let _ = write!(
        out,
        r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>cloudmarker report {}</title><style>{STYLE}</style></head><body>
<header><h1>cloudmarker report</h1><p class="meta">Made {} from the findings database {} and the run history. Changes are counted since the previous run and since {}.</p>
<nav aria-label="Sections"><a href="#summary">Summary</a><a href="#trend">Trend</a><a href="#compliance">Compliance</a><a href="#worst">Worst scopes and services</a><a href="#blind">Not evaluated</a><a href="#findings-section">Findings</a><a href="#runs">Runs</a></nav></header><main>
"##,
        esc(&model.generated[..model.generated.len().min(10)]),
        esc(&model.generated),
        esc(if model.state.is_empty() {
            "(none)"
        } else {
            &model.state
        }),
        esc(&model.since),
    );
    for note in &model.notes {
        let _ = write!(out, r#"<p class="warn" role="note">{}</p>"#, esc(note));
    }
    if !model.blind_spots.is_empty() {
        let _ = write!(
            out,
            r##"<p class="warn" role="alert" id="blind-banner"><strong>Not everything was evaluated:</strong> <span data-n="blind_spots">{}</span> collection or plugin failure(s); findings there may be missing. See <a href="#blind">Not evaluated</a>.</p>"##,
            model.blind_spots.len()
        );
    }
    summary(&mut out, model);
    trend(&mut out, model);
    compliance(&mut out, model);
    worst(&mut out, model);
    blind(&mut out, model);
    findings(&mut out, model);
    runs(&mut out, model);
    // The numbers, for scripts and tests; `<` escaped so that no string
    // can close the element.
    let json = serde_json::to_string(model)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c");
    let _ = write!(
        out,
        "</main>\n<script type=\"application/json\" id=\"report-data\">{json}</script>\n<script>{SCRIPT}</script>\n</body></html>\n"
    );
    out
}

fn severity_cards(out: &mut String, prefix: &str, counts: &BySeverity) {
    out.push_str(r#"<div class="cards">"#);
    for (i, (name, n)) in SEVERITIES.iter().zip(counts.counts()).enumerate() {
        let _ = write!(
            out,
            r#"<div class="card s{i}"><span>{name}</span><b data-n="{prefix}.{name}">{n}</b></div>"#
        );
    }
    out.push_str("</div>");
}

fn summary(out: &mut String, model: &Model) {
    let s = &model.summary;
    let _ = write!(
        out,
        r#"<section id="summary"><h2>Summary</h2><p><b data-n="summary.open_total">{}</b> open findings (new, open or regressed), of which <b data-n="summary.muted">{}</b> muted:</p>"#,
        s.open_total, s.muted
    );
    severity_cards(out, "summary.open", &s.open);
    let _ = write!(
        out,
        r#"<table><caption>What changed</caption><thead><tr><th scope="col">Period</th><th class="n" scope="col">New</th><th class="n" scope="col">Regressed</th><th class="n" scope="col">Resolved</th></tr></thead><tbody>
<tr><th scope="row">The latest run ({})</th><td class="n" data-n="summary.latest.new">{}</td><td class="n" data-n="summary.latest.regressed">{}</td><td class="n" data-n="summary.latest.resolved">{}</td></tr>
<tr><th scope="row">Since {}</th><td class="n" data-n="summary.since.new">{}</td><td class="n" data-n="summary.since.regressed">{}</td><td class="n" data-n="summary.since.resolved">{}</td></tr></tbody></table>"#,
        esc(s.latest_run.as_deref().unwrap_or("none")),
        s.latest.new,
        s.latest.regressed,
        s.latest.resolved,
        esc(&model.since),
        s.since.new,
        s.since.regressed,
        s.since.resolved
    );
    let _ = write!(
        out,
        r#"<h3>Mutes</h3><p><span data-n="summary.mutes">{}</span> mute(s) in the config; <span data-n="summary.mutes_expiring">{}</span> expire within 14 days or have expired.</p>"#,
        s.mutes,
        s.mutes_expiring.len()
    );
    if !s.mutes_expiring.is_empty() {
        out.push_str(r#"<table id="mutes-expiring"><thead><tr><th scope="col">Matches</th><th scope="col">Reason</th><th scope="col">Owner</th><th scope="col">Last day</th><th class="n" scope="col">Days left</th></tr></thead><tbody>"#);
        for m in &s.mutes_expiring {
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="n">{}</td></tr>"#,
                esc(&m.matches),
                esc(&m.reason),
                esc(m.owner.as_deref().unwrap_or("")),
                esc(&m.expires),
                m.days_left
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n");
}

fn trend(out: &mut String, model: &Model) {
    out.push_str(r#"<section id="trend"><h2>Trend</h2>"#);
    if model.trend.is_empty() {
        out.push_str("<p>No runs recorded yet.</p></section>\n");
        return;
    }
    let x: Vec<String> = model
        .trend
        .iter()
        .map(|p| p.at.get(5..16).unwrap_or(&p.at).replace('T', " "))
        .collect();
    let first = &model.trend[0];
    let last = &model.trend[model.trend.len() - 1];
    let series: Vec<Series<'_>> = (0..6)
        .filter(|&i| i < 5 || model.trend.iter().any(|p| p.open.counts()[5] > 0))
        .map(|i| Series {
            name: SEVERITIES[i],
            color: COLORS[i],
            mark: MARKS[i],
            values: model.trend.iter().map(|p| p.open.counts()[i]).collect(),
        })
        .collect();
    let desc = format!(
        "Open findings by severity after each of the last {} runs, from {} to {}: {} open after the first, {} after the latest ({}).",
        model.trend.len(),
        first.at,
        last.at,
        first.open.total(),
        last.open.total(),
        SEVERITIES
            .iter()
            .zip(last.open.counts())
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out.push_str(&chart::lines(
        &Frame {
            id: "open-chart",
            title: "Open findings by severity, per run",
            desc: &desc,
            x_label: "Run (month-day hour:minute, UTC)",
            y_label: "Open findings",
            x: &x,
        },
        &series,
    ));
    let changes = [
        ("new", "#c92a2a", Mark::Solid),
        ("regressed", "#e67700", Mark::Dotted),
        ("resolved", "#2b8a3e", Mark::Dashed),
    ];
    let values = |k: usize| -> Vec<u64> {
        model
            .trend
            .iter()
            .map(|p| [p.changes.new, p.changes.regressed, p.changes.resolved][k])
            .collect()
    };
    let series: Vec<Series<'_>> = changes
        .iter()
        .enumerate()
        .map(|(k, (name, color, mark))| Series {
            name,
            color,
            mark: *mark,
            values: values(k),
        })
        .collect();
    let total = |k: usize| values(k).iter().sum::<u64>();
    let desc = format!(
        "New, regressed and resolved findings in each of the last {} runs: {} new, {} regressed and {} resolved in all.",
        model.trend.len(),
        total(0),
        total(1),
        total(2)
    );
    out.push_str(&chart::bars(
        &Frame {
            id: "changes-chart",
            title: "New, regressed and resolved findings, per run",
            desc: &desc,
            x_label: "Run (month-day hour:minute, UTC)",
            y_label: "Findings",
            x: &x,
        },
        &series,
    ));
    out.push_str(r#"<details><summary>The charts' numbers</summary><table id="trend-table"><thead><tr><th scope="col">Run</th><th scope="col">Ended</th>"#);
    for s in SEVERITIES {
        let _ = write!(out, r#"<th class="n" scope="col">Open {s}</th>"#);
    }
    out.push_str(r#"<th class="n" scope="col">New</th><th class="n" scope="col">Regressed</th><th class="n" scope="col">Resolved</th></tr></thead><tbody>"#);
    for p in &model.trend {
        let _ = write!(out, "<tr><td>{}</td><td>{}</td>", esc(&p.run), esc(&p.at));
        for n in p.open.counts() {
            let _ = write!(out, r#"<td class="n">{n}</td>"#);
        }
        let _ = write!(
            out,
            r#"<td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            p.changes.new, p.changes.regressed, p.changes.resolved
        );
    }
    out.push_str("</tbody></table></details></section>\n");
}

fn compliance(out: &mut String, model: &Model) {
    out.push_str(r#"<section id="compliance"><h2>Compliance</h2>"#);
    if model.compliance.is_empty() {
        out.push_str("<p>No framework: none asked for (<code>--framework ID</code>), and none is about the clouds in the findings database.</p>");
    }
    for f in &model.compliance {
        let t = &f.totals;
        let score = t
            .score
            .map_or("n/a".to_string(), |s| format!("{:.0}%", s * 100.0));
        let _ = write!(
            out,
            r#"<article class="framework" data-framework="{id}"><h3>{} ({id}, {})</h3><p>Score <b data-n="compliance.{id}.score">{score}</b> = pass / (pass + fail): <span data-n="compliance.{id}.pass">{}</span> pass, <span data-n="compliance.{id}.fail">{}</span> fail, <span data-n="compliance.{id}.not_evaluated">{}</span> not evaluated, <span data-n="compliance.{id}.manual">{}</span> manual.</p>"#,
            esc(&f.name),
            esc(&f.provider),
            t.pass,
            t.fail,
            t.not_evaluated,
            t.manual,
            id = esc(&f.id),
        );
        out.push_str(r#"<table><thead><tr><th scope="col">Section</th><th class="n" scope="col">Pass</th><th class="n" scope="col">Fail</th><th class="n" scope="col">Not evaluated</th><th class="n" scope="col">Manual</th><th class="n" scope="col">Score</th></tr></thead><tbody>"#);
        for s in &f.sections {
            let t = &s.totals;
            let _ = write!(
                out,
                r#"<tr><th scope="row">{}</th><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                esc(&s.section),
                t.pass,
                t.fail,
                t.not_evaluated,
                t.manual,
                t.score
                    .map_or("n/a".to_string(), |s| format!("{:.0}%", s * 100.0))
            );
        }
        out.push_str("</tbody></table>");
        if f.failing.is_empty() {
            out.push_str("<p>No failing requirement.</p>");
        } else {
            out.push_str("<h4>Failing requirements</h4><ul class=\"failing\">");
            for r in &f.failing {
                let _ = write!(
                    out,
                    r#"<li><b>{}</b> {} <span class="meta">({})</span>: <span data-n="compliance.{}.failing.{}">{}</span> open finding(s)"#,
                    esc(&r.id),
                    esc(&r.title),
                    esc(&r.section),
                    esc(&f.id),
                    esc(&r.id),
                    r.open_findings
                );
                if !r.findings.is_empty() {
                    out.push_str("<ul>");
                    for finding in &r.findings {
                        let _ = write!(out, "<li><code>{}</code></li>", esc(finding));
                    }
                    if r.open_findings > r.findings.len() as u64 {
                        let _ = write!(
                            out,
                            "<li>and {} more</li>",
                            r.open_findings - r.findings.len() as u64
                        );
                    }
                    out.push_str("</ul>");
                }
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        if !f.not_evaluated.is_empty() {
            let _ = write!(
                out,
                r#"<details><summary>{} automated requirement(s) not evaluated, and why</summary><ul>"#,
                f.not_evaluated.len()
            );
            for r in &f.not_evaluated {
                let _ = write!(
                    out,
                    "<li><b>{}</b> {}: {}</li>",
                    esc(&r.id),
                    esc(&r.title),
                    esc(&r.why)
                );
            }
            out.push_str("</ul></details>");
        }
        out.push_str("</article>");
    }
    out.push_str("</section>\n");
}

fn groups(out: &mut String, id: &str, caption: &str, first: &str, groups: &[Group]) {
    let _ = write!(
        out,
        r#"<table id="{id}"><caption>{}</caption><thead><tr><th scope="col">{}</th><th class="n" scope="col">Open</th>"#,
        esc(caption),
        esc(first)
    );
    for s in SEVERITIES {
        let _ = write!(out, r#"<th class="n" scope="col">{s}</th>"#);
    }
    out.push_str("</tr></thead><tbody>");
    if groups.is_empty() {
        out.push_str(r#"<tr><td colspan="8">No open finding.</td></tr>"#);
    }
    for g in groups {
        let _ = write!(
            out,
            r#"<tr><th scope="row">{}</th><td class="n">{}</td>"#,
            esc(&g.name),
            g.total
        );
        for n in g.open.counts() {
            let _ = write!(out, r#"<td class="n">{n}</td>"#);
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn worst(out: &mut String, model: &Model) {
    out.push_str(r#"<section id="worst"><h2>Worst scopes and services</h2><p>Ranked by their most severe open findings (critical first, then high, and so on).</p>"#);
    groups(
        out,
        "worst-scopes",
        "Accounts, subscriptions and projects",
        "Cloud and scope",
        &model.worst_scopes,
    );
    groups(
        out,
        "worst-services",
        "Services (from each resource's id: Azure resource type, AWS ARN service, Google API)",
        "Cloud and resource type",
        &model.worst_services,
    );
    out.push_str("</section>\n");
}

fn blind(out: &mut String, model: &Model) {
    out.push_str(r#"<section id="blind"><h2>Not evaluated</h2>"#);
    if model.blind_spots.is_empty() {
        out.push_str(r#"<p class="ok">Every scope's latest collection was complete and no plugin failed in the latest run.</p>"#);
    } else {
        out.push_str(r#"<p>What the latest runs could not read or do: findings there are not known, and requirements on it are not evaluated.</p><table id="blind-spots"><thead><tr><th scope="col">Audit</th><th scope="col">Cloud</th><th scope="col">Scope or plugin</th><th scope="col">What</th><th scope="col">Why</th><th scope="col">Missing permission?</th><th scope="col">When</th></tr></thead><tbody>"#);
        for b in &model.blind_spots {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&b.audit),
                esc(&b.cloud),
                esc(&b.scope),
                esc(&b.what),
                esc(&b.why),
                if b.permission { "yes" } else { "no" },
                esc(&b.at)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n");
}

fn findings(out: &mut String, model: &Model) {
    let t = &model.table;
    let _ = write!(
        out,
        r#"<section id="findings-section"><h2>Findings</h2><p>Open findings, the most severe first, then the oldest: <span data-n="table.shown">{}</span> of <span data-n="table.open">{}</span> shown."#,
        t.shown, t.open
    );
    if t.not_shown > 0 {
        let _ = write!(
            out,
            r#" <strong><span data-n="table.not_shown">{}</span> more are not shown</strong> (the table stops at {}); <code>cloudmarker findings --format csv</code> lists them all."#,
            t.not_shown, t.cap
        );
    }
    out.push_str("</p>");
    out.push_str(r#"<div class="filters" role="search"><label>Text <input id="f-text" type="search"></label><label>Severity <select id="f-sev"><option value="">any</option>"#);
    for s in SEVERITIES {
        let _ = write!(out, r#"<option value="{s}">{s}</option>"#);
    }
    let _ = write!(
        out,
        r#"</select></label><label>Status <select id="f-status"><option value="">any</option><option>new</option><option>open</option><option>regressed</option></select></label><span><span id="f-count">{}</span> row(s) match</span></div>"#,
        t.shown
    );
    out.push_str(r#"<table id="findings"><thead><tr><th scope="col">Severity</th><th scope="col">Check</th><th scope="col">Resource</th><th scope="col">Scope</th><th scope="col">First seen</th><th class="n" scope="col">Age (days)</th><th scope="col">Status</th></tr></thead><tbody>
"#);
    for r in &model.rows {
        let sev = SEVERITIES[r.severity];
        let _ = writeln!(
            out,
            "<tr data-sev=\"{sev}\" data-status=\"{}\" id=\"f-{}\"><td class=\"sev s{}\">{sev}</td><td>{}</td><td class=\"r\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&r.status),
            esc(&r.id),
            r.severity,
            esc(&r.check),
            esc(&r.resource),
            esc(&r.scope),
            esc(r.first_seen.get(..10).unwrap_or(&r.first_seen)),
            r.age_days,
            esc(&r.status)
        );
    }
    out.push_str("</tbody></table></section>\n");
}

fn runs(out: &mut String, model: &Model) {
    out.push_str(r#"<section id="runs"><h2>Runs</h2>"#);
    if model.runs.is_empty() {
        out.push_str("<p>No run in the run history.</p></section>\n");
        return;
    }
    out.push_str(r#"<table><thead><tr><th scope="col">Run</th><th scope="col">Started</th><th class="n" scope="col">Exit status</th><th scope="col">Interrupted</th><th class="n" scope="col">Plugin failures</th></tr></thead><tbody>"#);
    for r in model.runs.iter().rev().take(20) {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td class="n">{}</td><td>{}</td><td class="n">{}</td></tr>"#,
            esc(&r.run),
            esc(&r.started),
            r.status,
            if r.interrupted { "yes" } else { "no" },
            r.failures
        );
    }
    out.push_str("</tbody></table></section>\n");
}
