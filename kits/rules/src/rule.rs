//! A compiled rule: its expressions compiled once, its params applied.

use crate::expr::{env, Expr};
use crate::model::{RuleSpec, TestsSpec};
use crate::template::Template;
use crate::values::{self, Cel};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::Context;
use cloudmarker_plugin_api::sdk::check::Severity;
use serde::Serialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where a rule came from: the packs that ship with cloudmarker, which must
/// carry test cases of both kinds, or the user's own files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A bundled pack (`rules/<cloud>/<service>.yaml`).
    Bundled,
    /// A file of the user's.
    User,
}

/// A rule's remediation, compiled.
#[derive(Debug)]
pub(crate) struct Remediation {
    pub text: Option<Template>,
    pub console: Option<Template>,
    pub cli: Option<Template>,
}

/// What a rule has done since it was loaded.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub evaluated: AtomicU64,
    pub failed: AtomicU64,
    pub not_applicable: AtomicU64,
    pub not_evaluated: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// How often a rule ran, since it was loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleStats {
    /// The rule.
    pub id: String,
    /// Records its `fail` was evaluated on.
    pub evaluated: u64,
    /// Of those, records it raised a finding for.
    pub failed: u64,
    /// Records of its types that its `when` (or cloud) ruled out.
    pub not_applicable: u64,
    /// Records on which `when` or `fail` could not be evaluated (an absent
    /// field read without `has()`, a value of an unexpected type): neither
    /// passed nor failed.
    pub not_evaluated: u64,
}

/// What `rules list` shows of a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInfo {
    /// Its id.
    pub id: String,
    /// What it flags.
    pub title: String,
    /// How bad its findings are.
    pub severity: Severity,
    /// The cloud of its records (`None`: any).
    pub cloud_type: Option<String>,
    /// The record types it reads.
    pub record_types: Vec<String>,
    /// The `record_type` of its events.
    pub event: String,
    /// The event plugin it answers to as well.
    pub plugin: Option<String>,
    /// Its documentation links.
    pub references: Vec<String>,
    /// Its params, as the config left them.
    pub params: Map<String, Value>,
    /// Bundled or the user's.
    pub origin: Origin,
    /// Its file.
    pub path: PathBuf,
    /// Its line there.
    pub line: Option<usize>,
    /// How many records it must fail and pass in its tests.
    pub tests: (usize, usize),
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub(crate) spec: RuleSpec,
    pub(crate) record_types: Vec<String>,
    pub(crate) event: String,
    pub(crate) when: Option<Expr>,
    pub(crate) fail: Expr,
    pub(crate) description: Template,
    pub(crate) remediation: Remediation,
    pub(crate) distinguished_by: Vec<(String, Expr)>,
    /// The params in force, and as CEL (`params`).
    pub(crate) params: Map<String, Value>,
    pub(crate) params_cel: Cel<'static>,
    /// The defaults, as CEL, for the rule's tests.
    pub(crate) defaults_cel: Cel<'static>,
    pub(crate) origin: Origin,
    pub(crate) path: PathBuf,
    pub(crate) line: Option<usize>,
    pub(crate) tests_line: Option<usize>,
    pub(crate) counters: Counters,
}

/// Resolves `params` only: what a `params_check` sees.
struct ParamsOnly<'a>(&'a (dyn Val + 'static));

impl VariableResolver for ParamsOnly<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        (variable == "params").then_some(CowVal::Borrowed(self.0))
    }
}

/// Whether `params` meet `check` (a CEL boolean over `params`).
fn params_valid(check: &Expr, params: &Cel<'static>) -> Result<bool, String> {
    let resolver = ParamsOnly(params.as_ref());
    let mut context = Context::with_env(env());
    context.set_variable_resolver(&resolver);
    let value = cel::Value::resolve_val(check.program.expression(), &context)
        .map_err(|e| format!("{}: {e}", check.source))?;
    match values::to_json(value.as_ref()) {
        Value::Bool(valid) => Ok(valid),
        other => Err(format!("{} gives {other}, not a boolean", check.source)),
    }
}

/// An id (rule or event type): lowercase ASCII letters, digits and `_`,
/// starting with a letter.
pub(crate) fn valid_id(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Rule {
    /// Compiles `spec` with `params` in force; the problems as (the rule's
    /// key they are about, message).
    pub(crate) fn compile(
        spec: RuleSpec,
        params: Map<String, Value>,
        origin: Origin,
        path: &Path,
    ) -> Result<Self, Vec<(&'static str, String)>> {
        let mut problems: Vec<(&'static str, String)> = Vec::new();
        if !valid_id(&spec.id) {
            problems.push((
                "id",
                format!(
                    "the id `{}` must be lowercase letters, digits and `_`, starting with a letter",
                    spec.id
                ),
            ));
        }
        let event = spec.event.clone().unwrap_or_else(|| spec.id.clone());
        if spec.event.is_some() && !valid_id(&event) {
            problems.push((
                "event",
                format!("the event type `{event}` must be lowercase letters, digits and `_`"),
            ));
        }
        let record_types = spec.record_type.to_vec();
        if record_types.is_empty() || record_types.iter().any(String::is_empty) {
            problems.push(("record_type", "a record type may not be empty".into()));
        }
        let defaults = &spec.params;
        let expr = |key: &'static str, source: &str, problems: &mut Vec<_>| {
            Expr::compile(source, defaults)
                .map_err(|e| problems.push((key, format!("{key}: {e}"))))
                .ok()
        };
        let when = spec.when.as_deref().map(|w| expr("when", w, &mut problems));
        let fail = expr("fail", &spec.fail, &mut problems);
        let mut distinguished_by = Vec::new();
        for (name, source) in &spec.distinguished_by {
            if let Some(e) = expr("distinguished_by", source, &mut problems) {
                distinguished_by.push((name.clone(), e));
            }
        }
        let template = |key: &'static str, source: &str, problems: &mut Vec<_>| {
            Template::compile(source, defaults)
                .map_err(|e| problems.push((key, format!("{key}: {e}"))))
                .ok()
        };
        let description = template("description", &spec.description, &mut problems);
        let r = &spec.remediation;
        if r.text.is_none() && r.console.is_none() && r.cli.is_none() {
            problems.push((
                "remediation",
                "remediation: give at least one of text, console and cli".into(),
            ));
        }
        let part = |source: &Option<String>, problems: &mut Vec<_>| {
            source
                .as_deref()
                .map(|s| template("remediation", s, problems))
        };
        let text = part(&r.text, &mut problems);
        let console = part(&r.console, &mut problems);
        let cli = part(&r.cli, &mut problems);
        let (Some(fail), Some(description), true) = (fail, description, problems.is_empty()) else {
            return Err(problems);
        };
        let params_cel = values::owned(&Value::Object(params.clone()));
        for check in &spec.params_check {
            match Expr::compile(&check.valid, defaults).and_then(|e| params_valid(&e, &params_cel))
            {
                Ok(true) => {}
                Ok(false) => problems.push((
                    "params",
                    format!(
                        "params: {} (in force: {})",
                        check.message,
                        Value::Object(params.clone())
                    ),
                )),
                Err(e) => problems.push(("params_check", format!("params_check: {e}"))),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let defaults_cel = values::owned(&Value::Object(spec.params.clone()));
        Ok(Self {
            record_types,
            event,
            when: when.flatten(),
            fail,
            description,
            remediation: Remediation {
                text: text.flatten(),
                console: console.flatten(),
                cli: cli.flatten(),
            },
            distinguished_by,
            params,
            params_cel,
            defaults_cel,
            origin,
            path: path.to_path_buf(),
            line: None,
            tests_line: None,
            counters: Counters::default(),
            spec,
        })
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// What it flags.
    pub fn title(&self) -> &str {
        &self.spec.title
    }

    /// How bad its findings are.
    pub fn severity(&self) -> Severity {
        self.spec.severity
    }

    /// The cloud of the records it reads, if one.
    pub fn cloud_type(&self) -> Option<&str> {
        self.spec.cloud_type.as_deref()
    }

    /// What its cloud calls the web console, for recommendations:
    /// `portal` for Azure, `console` for the others.
    pub fn console_name(&self) -> &'static str {
        match self.cloud_type() {
            Some("azure") => "portal",
            _ => "console",
        }
    }

    /// The record types it reads.
    pub fn record_types(&self) -> &[String] {
        &self.record_types
    }

    /// The `record_type` of its events.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The event plugin it answers to as well.
    pub fn plugin(&self) -> Option<&str> {
        self.spec.plugin.as_deref()
    }

    /// The params in force.
    pub fn params(&self) -> &Map<String, Value> {
        &self.params
    }

    /// Its test cases.
    pub fn tests(&self) -> Option<&TestsSpec> {
        self.spec.tests.as_ref()
    }

    /// The rule as written.
    pub fn spec(&self) -> &RuleSpec {
        &self.spec
    }

    /// Bundled or the user's.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Its file and line.
    pub fn location(&self) -> (&Path, Option<usize>) {
        (&self.path, self.line)
    }

    /// What `rules list` shows.
    pub fn info(&self) -> RuleInfo {
        let tests = self
            .tests()
            .map_or((0, 0), |t| (t.fail.len(), t.pass.len()));
        RuleInfo {
            id: self.spec.id.clone(),
            title: self.spec.title.clone(),
            severity: self.spec.severity,
            cloud_type: self.spec.cloud_type.clone(),
            record_types: self.record_types.clone(),
            event: self.event.clone(),
            plugin: self.spec.plugin.clone(),
            references: self.spec.references.clone(),
            params: self.params.clone(),
            origin: self.origin,
            path: self.path.clone(),
            line: self.line,
            tests,
        }
    }

    /// How often it ran.
    pub fn stats(&self) -> RuleStats {
        let c = &self.counters;
        RuleStats {
            id: self.spec.id.clone(),
            evaluated: c.evaluated.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            not_applicable: c.not_applicable.load(Ordering::Relaxed),
            not_evaluated: c.not_evaluated.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(valid_id("gcp_compute_serial_port_enabled"));
        assert!(valid_id("a1"));
        assert!(!valid_id("1a"));
        assert!(!valid_id("Gcp"));
        assert!(!valid_id("gcp-compute"));
        assert!(!valid_id(""));
    }
}
