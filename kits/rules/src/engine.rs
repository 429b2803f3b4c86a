//! The rule set: rules indexed by record type, and the evaluation of a
//! record against the rules that apply to it.
//!
//! A record is read once: one pass locates its buckets, reads the heads of
//! `ext` and `com` (record types, cloud, reference, scope) and the entries
//! of `raw` (key, value text), building no tree. A record of no indexed
//! type costs that pass and a hash lookup. The rules that apply read their
//! fields lazily (see the `values` module): a rule pays only for the
//! fields it reads.

use crate::direct::{Var, Variables};
use crate::expr::{env, Expr};
use crate::rule::{Counters, Rule, RuleInfo, RuleStats};
use crate::values::{self, Cel, Lazy};
use crate::Problem;
use cel::common::types::CelBool;
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::Context;
use cloudmarker_plugin_api::record::{com, Text};
use cloudmarker_plugin_api::sdk::check::Finding;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::OnceLock;

/// The `com` field of an event that names the check (rule id) that raised it.
pub const CHECK: &str = com::CHECK;

/// A record that is not a JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError(pub String);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unreadable record: {}", self.0)
    }
}

impl std::error::Error for RecordError {}

/// Loaded, compiled and selected rules: see [`crate::Loader`].
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    index: HashMap<String, Vec<usize>>,
    warnings: Vec<Problem>,
}

/// The three buckets of a record: `raw` read as lazy CEL values, `ext`
/// and `com` located in the text.
#[derive(Deserialize)]
struct Parts<'a> {
    #[serde(borrow, default)]
    raw: Option<Lazy<'a>>,
    #[serde(borrow, default)]
    ext: Option<&'a RawValue>,
    #[serde(borrow, default)]
    com: Option<&'a RawValue>,
}

/// The fields of `ext` and `com` that route a record.
#[derive(Default, Deserialize)]
struct BucketHead<'a> {
    #[serde(borrow, default)]
    record_type: Text<'a>,
    #[serde(borrow, default)]
    cloud_type: Text<'a>,
    #[serde(borrow, default)]
    reference: Text<'a>,
    #[serde(borrow, default)]
    subscription_id: Text<'a>,
    #[serde(borrow, default)]
    project_id: Text<'a>,
    #[serde(borrow, default)]
    account_id: Text<'a>,
    #[serde(borrow, default)]
    tenant_id: Text<'a>,
}

fn head<'a>(bucket: Option<&'a RawValue>) -> BucketHead<'a> {
    bucket
        .filter(|b| b.get().starts_with('{'))
        .and_then(|b| serde_json::from_str(b.get()).ok())
        .unwrap_or_default()
}

/// A record, located and routed; `ext` and `com` become CEL values when
/// an expression first reads them.
pub(crate) struct Located<'a> {
    raw: Cel<'a>,
    ext_text: Option<&'a RawValue>,
    com_text: Option<&'a RawValue>,
    ext: BucketHead<'a>,
    com: BucketHead<'a>,
    ext_cel: OnceLock<Cel<'a>>,
    com_cel: OnceLock<Cel<'a>>,
}

fn bucket_cel<'a>(text: Option<&'a RawValue>) -> Cel<'a> {
    text.map_or_else(values::empty, values::value)
}

impl<'a> Located<'a> {
    pub(crate) fn parse(record: &'a str) -> Result<Self, RecordError> {
        if !record.trim_start().starts_with('{') {
            return Err(RecordError("a record must be a JSON object".into()));
        }
        let parts: Parts<'a> =
            serde_json::from_str(record).map_err(|e| RecordError(e.to_string()))?;
        Ok(Self {
            raw: parts.raw.map_or_else(values::empty, |raw| raw.0),
            ext: head(parts.ext),
            com: head(parts.com),
            ext_text: parts.ext,
            com_text: parts.com,
            ext_cel: OnceLock::new(),
            com_cel: OnceLock::new(),
        })
    }

    fn cloud_type(&self) -> Option<&str> {
        self.com
            .cloud_type
            .as_str()
            .or(self.ext.cloud_type.as_str())
    }

    /// The subscription, project, account or tenant the record belongs to
    /// (`record::SCOPE_KEYS`), as the check summaries count it.
    fn scope(&self) -> &str {
        let ext = &self.ext;
        ext.subscription_id
            .as_str()
            .or(ext.project_id.as_str())
            .or(ext.account_id.as_str())
            .or(ext.tenant_id.as_str())
            .unwrap_or(cloudmarker_plugin_api::sdk::tally::NO_SCOPE)
    }

    /// Whether `rule` reads records of this one's types and cloud; else why
    /// not.
    fn fits(&self, rule: &Rule) -> Result<(), String> {
        let types = [self.ext.record_type.as_str(), self.com.record_type.as_str()];
        if !types
            .iter()
            .flatten()
            .any(|t| rule.record_types.iter().any(|r| r == t))
        {
            return Err(format!(
                "not a record of type {} (ext.record_type {:?}, com.record_type {:?})",
                rule.record_types.join(" or "),
                types[0].unwrap_or("none"),
                types[1].unwrap_or("none")
            ));
        }
        match (rule.cloud_type(), self.cloud_type()) {
            (Some(want), Some(got)) if want != got => {
                Err(format!("a record of cloud {got}, not {want}"))
            }
            (Some(want), None) => Err(format!("a record without cloud_type, not of cloud {want}")),
            _ => Ok(()),
        }
    }
}

/// What a rule's expressions see: the record and the rule's params.
struct Scope<'r, 'a> {
    record: &'r Located<'a>,
    params: &'r (dyn Val + 'static),
}

impl Variables for Scope<'_, '_> {
    fn var(&self, var: Var) -> &dyn Val {
        let record = self.record;
        match var {
            Var::Raw => record.raw.as_ref(),
            Var::Ext => record
                .ext_cel
                .get_or_init(|| bucket_cel(record.ext_text))
                .as_ref(),
            Var::Com => record
                .com_cel
                .get_or_init(|| bucket_cel(record.com_text))
                .as_ref(),
            Var::Params => self.params,
        }
    }
}

impl VariableResolver for Scope<'_, '_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let var = match variable {
            "raw" => Var::Raw,
            "ext" => Var::Ext,
            "com" => Var::Com,
            "params" => Var::Params,
            _ => return None,
        };
        Some(CowVal::Borrowed(self.var(var)))
    }
}

impl Scope<'_, '_> {
    /// `expr`'s value, as JSON.
    fn eval(&self, expr: &Expr) -> Result<serde_json::Value, String> {
        let mut context = Context::with_env(env());
        context.set_variable_resolver(self);
        cel::Value::resolve_val(expr.program.expression(), &context)
            .map(|value| values::to_json(value.as_ref()))
            .map_err(|e| e.to_string())
    }

    /// `expr`'s value, which must be a boolean: from its direct form when
    /// that answers, else from the interpreter.
    fn test(&self, expr: &Expr, what: &str) -> Result<bool, String> {
        if let Some(answer) = expr.direct.as_ref().and_then(|d| d.test(self)) {
            return Ok(answer);
        }
        self.interpret(expr, what)
    }

    /// `expr`'s value, which must be a boolean, from the interpreter.
    fn interpret(&self, expr: &Expr, what: &str) -> Result<bool, String> {
        let mut context = Context::with_env(env());
        context.set_variable_resolver(self);
        let value = cel::Value::resolve_val(expr.program.expression(), &context)
            .map_err(|e| e.to_string())?;
        match value.downcast_ref::<CelBool>() {
            Some(b) => Ok(*b.inner()),
            None => Err(format!(
                "{what} gave {} {}, not a boolean",
                value.get_type().name(),
                values::to_json(value.as_ref())
            )),
        }
    }
}

/// `expr` on `record` (JSON text) both ways, with `params`: its direct
/// form's answer (`None` when it has none or gives none) and the
/// interpreter's; for the tests that hold the two to agree.
#[cfg(test)]
pub(crate) fn both_ways(
    expr: &Expr,
    record: &str,
    params: &(dyn Val + 'static),
) -> (Option<bool>, Result<bool, String>) {
    let located = Located::parse(record).expect("a JSON object");
    let scope = Scope {
        record: &located,
        params,
    };
    let direct = expr.direct.as_ref().and_then(|d| d.test(&scope));
    (direct, scope.interpret(expr, "expr"))
}

/// What a rule made of a record.
pub(crate) enum Judgement {
    /// Its cloud or `when` rules the record out.
    NotApplicable(String),
    /// `fail` is false.
    Pass,
    /// `fail` is true: the finding.
    Fail(Box<Finding>),
    /// `when` or `fail` could not be evaluated.
    NotEvaluated(String),
}

impl Rule {
    /// Judges a located record.
    pub(crate) fn judge(&self, located: &Located<'_>, defaults: bool) -> Judgement {
        let scope = Scope {
            record: located,
            params: if defaults {
                self.defaults_cel.as_ref()
            } else {
                self.params_cel.as_ref()
            },
        };
        if let Some(when) = &self.when {
            match scope.test(when, "when") {
                Ok(true) => {}
                Ok(false) => return Judgement::NotApplicable("`when` is false".into()),
                Err(e) => return Judgement::NotEvaluated(format!("when: {e}")),
            }
        }
        match scope.test(&self.fail, "fail") {
            Ok(false) => Judgement::Pass,
            Ok(true) => Judgement::Fail(Box::new(self.finding(located, &scope))),
            Err(e) => Judgement::NotEvaluated(format!("fail: {e}")),
        }
    }

    /// The finding this rule raises for a record.
    fn finding(&self, located: &Located<'_>, scope: &Scope<'_, '_>) -> Finding {
        let reference = located.com.reference.as_str();
        let on_error = |source: &str, e: &str| {
            log::debug!(
                "Rule {}: placeholder {{{{ {source} }}}} of {} reads (unknown): {e}",
                self.id(),
                reference.unwrap_or("(no reference)")
            );
        };
        let render = |t: &crate::template::Template| t.render(|e| scope.eval(e), on_error);
        let description = render(&self.description);
        let r = &self.remediation;
        let text = r.text.as_ref().map(render);
        let console = r.console.as_ref().map(render);
        let cli = r.cli.as_ref().map(render);
        let recommendation = recommendation(text, console, cli, self.console_name());
        let mut finding = Finding::new(&self.event, description, recommendation)
            .cloud_type(located.com.cloud_type.as_str())
            .reference(reference)
            .ext_from(located.ext_text)
            .com(CHECK, self.id())
            .severity(self.severity());
        for (name, expr) in &self.distinguished_by {
            let value = scope.eval(expr).unwrap_or_else(|e| {
                log::debug!("Rule {}: distinguished_by {name} is null: {e}", self.id());
                serde_json::Value::Null
            });
            finding = finding.distinguished_by(name, value);
        }
        finding.identify(self.severity());
        finding
    }

    /// Judges the record `text` as this rule's tests do: with the default
    /// params, whatever its record type (a test record that names a type
    /// or cloud must be one the rule reads).
    pub(crate) fn judge_text(&self, text: &str) -> Judgement {
        let located = match Located::parse(text) {
            Ok(located) => located,
            Err(e) => return Judgement::NotEvaluated(e.to_string()),
        };
        let states_type = located.ext.record_type.as_str().is_some()
            || located.com.record_type.as_str().is_some();
        if let Err(why) = located.fits(self) {
            if states_type || located.cloud_type().is_some() && self.cloud_type().is_some() {
                return Judgement::NotApplicable(why);
            }
        }
        self.judge(&located, true)
    }
}

/// `com.recommendation` from a remediation's parts; `console_name` is
/// what the cloud calls its web console (`portal` for Azure).
fn recommendation(
    text: Option<String>,
    console: Option<String>,
    cli: Option<String>,
    console_name: &str,
) -> String {
    let steps = match (console, cli) {
        (Some(console), Some(cli)) => Some(format!("in the {console_name}, {console}; or {cli}")),
        (Some(console), None) => Some(format!("in the {console_name}, {console}")),
        (None, Some(cli)) => Some(format!("run {cli}")),
        (None, None) => None,
    };
    match (text, steps) {
        (Some(text), Some(steps)) => format!("{}: {steps}", text.trim_end_matches('.')),
        (Some(text), None) => text,
        (None, Some(steps)) => {
            let mut chars = steps.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
        (None, None) => String::new(),
    }
}

impl RuleSet {
    pub(crate) fn new(rules: Vec<Rule>, warnings: Vec<Problem>) -> Self {
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, rule) in rules.iter().enumerate() {
            for record_type in &rule.record_types {
                let group = index.entry(record_type.clone()).or_default();
                if !group.contains(&i) {
                    group.push(i);
                }
            }
        }
        Self {
            rules,
            index,
            warnings,
        }
    }

    /// The rules, in the order loaded.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule `id`.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id() == id)
    }

    /// How many rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// What `rules list` shows, one per rule.
    pub fn info(&self) -> Vec<RuleInfo> {
        self.rules.iter().map(Rule::info).collect()
    }

    /// The warnings of the load (user rules without tests, exclusions
    /// that match nothing).
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// How often each rule ran.
    pub fn stats(&self) -> Vec<RuleStats> {
        self.rules.iter().map(Rule::stats).collect()
    }

    /// The record types some rule reads.
    pub fn record_types(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }

    /// The ids of the rules of each event plugin name rules answer to.
    pub fn plugins(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut plugins: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for rule in &self.rules {
            if let Some(plugin) = rule.plugin() {
                plugins.entry(plugin).or_default().push(rule.id());
            }
        }
        plugins
    }

    /// The findings the rules raise for `record` (JSON text).
    pub fn evaluate(&self, record: &str) -> Result<Vec<Finding>, RecordError> {
        let mut findings = Vec::new();
        self.evaluate_into(record, &mut findings)?;
        Ok(findings)
    }

    /// Adds the findings the rules raise for `record` to `findings`; returns
    /// how many rules applied. A rule whose `when` or `fail` cannot be
    /// evaluated on the record (an absent field read without `has()`)
    /// raises nothing: it is counted ([`RuleStats::not_evaluated`]) and
    /// logged at debug level. Only a record that is not a JSON object is an
    /// error.
    pub fn evaluate_into(
        &self,
        record: &str,
        findings: &mut Vec<Finding>,
    ) -> Result<usize, RecordError> {
        self.evaluate_with(record, findings, |_, _, _| {})
    }

    /// [`RuleSet::evaluate_into`], calling `evaluated(rule id, scope,
    /// failed)` for each rule that judged the record (passed or failed it;
    /// not one that its cloud or `when` ruled out, nor one that could not
    /// be evaluated): what [`Batch::evaluated`] counts. The scope is the
    /// record's `ext.subscription_id`, `project_id` or `account_id`, else
    /// [`NO_SCOPE`].
    ///
    /// [`Batch::evaluated`]: cloudmarker_plugin_api::sdk::Batch::evaluated
    /// [`NO_SCOPE`]: cloudmarker_plugin_api::sdk::tally::NO_SCOPE
    pub fn evaluate_with(
        &self,
        record: &str,
        findings: &mut Vec<Finding>,
        mut evaluated: impl FnMut(&str, &str, bool),
    ) -> Result<usize, RecordError> {
        let located = Located::parse(record)?;
        let ext_type = located.ext.record_type.as_str();
        let com_type = located
            .com
            .record_type
            .as_str()
            .filter(|t| Some(*t) != ext_type);
        let first: &[usize] = ext_type
            .and_then(|t| self.index.get(t))
            .map_or(&[], Vec::as_slice);
        let second: &[usize] = com_type
            .and_then(|t| self.index.get(t))
            .map_or(&[], Vec::as_slice);
        let cloud = located.cloud_type();
        let mut applied = 0;
        // A rule indexed under both types is judged once.
        let candidates = first
            .iter()
            .chain(second.iter().filter(|i| !first.contains(i)));
        for &i in candidates {
            let rule = &self.rules[i];
            let counters = &rule.counters;
            if rule.cloud_type().is_some_and(|want| cloud != Some(want)) {
                Counters::add(&counters.not_applicable);
                continue;
            }
            applied += 1;
            match rule.judge(&located, false) {
                Judgement::NotApplicable(_) => Counters::add(&counters.not_applicable),
                Judgement::Pass => {
                    Counters::add(&counters.evaluated);
                    evaluated(rule.id(), located.scope(), false);
                }
                Judgement::Fail(finding) => {
                    Counters::add(&counters.evaluated);
                    Counters::add(&counters.failed);
                    evaluated(rule.id(), located.scope(), true);
                    findings.push(*finding);
                }
                Judgement::NotEvaluated(e) => {
                    Counters::add(&counters.not_evaluated);
                    log::debug!(
                        "Rule {} not evaluated on {} {}: {e}",
                        rule.id(),
                        ext_type.or(com_type).unwrap_or("record"),
                        located.com.reference.as_str().unwrap_or("(no reference)")
                    );
                }
            }
        }
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recommendations_join_their_parts() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            recommendation(s("Disable it."), s("A > B"), s("cmd x"), "console"),
            "Disable it: in the console, A > B; or cmd x"
        );
        assert_eq!(
            recommendation(s("Just this."), None, None, "console"),
            "Just this."
        );
        assert_eq!(
            recommendation(None, s("A > B"), s("cmd"), "portal"),
            "In the portal, A > B; or cmd"
        );
        assert_eq!(recommendation(None, None, s("cmd"), "console"), "Run cmd");
    }
}
