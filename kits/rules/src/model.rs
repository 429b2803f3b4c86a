//! The rule file format, as written (see the crate documentation for an
//! example). Every struct denies unknown fields, so a typo is an error.

use cloudmarker_plugin_api::sdk::check::Severity;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A rule file: `rules:`, a list of rules. Each rule is read on its own (from
/// a YAML value) so that one bad rule does not hide the problems of the
/// others.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleFile {
    #[serde(default)]
    pub rules: Vec<serde_norway::Value>,
}

/// One rule, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable id, e.g. `gcp_compute_serial_port_enabled`: lowercase
    /// letters, digits and `_`.
    pub id: String,
    /// One line saying what the rule flags.
    pub title: String,
    /// `informational`, `low`, `medium`, `high` or `critical`.
    pub severity: Severity,
    /// The `com.cloud_type` of the records it reads (`gcp`, `azure`, `aws`);
    /// absent: records of any cloud.
    #[serde(default)]
    pub cloud_type: Option<String>,
    /// The record types it reads: one or a list; a record is of a type when
    /// its `ext.record_type` or its `com.record_type` is that type.
    pub record_type: OneOrMany,
    /// The `record_type` of its events; the rule id when absent.
    #[serde(default)]
    pub event: Option<String>,
    /// The name of the event plugin this rule answers to as well (a
    /// compiled check it replaces): a config naming that plugin gets this
    /// rule, and `include`/`exclude` match it.
    #[serde(default)]
    pub plugin: Option<String>,
    /// CEL: whether the rule applies to a record of its types (default:
    /// it does).
    #[serde(default)]
    pub when: Option<String>,
    /// CEL: true raises a finding.
    pub fail: String,
    /// The rule's params with their defaults (`params.x` in CEL); a config
    /// overrides them per rule (`rule_params`).
    #[serde(default)]
    pub params: Map<String, Value>,
    /// The event's description, a template: `{{ cel }}` placeholders.
    pub description: String,
    /// How to fix it (the event's `com.recommendation`), templates too.
    pub remediation: RemediationSpec,
    /// Conditions the params in force must meet (CEL over `params` only),
    /// each with the message of the configuration error a config gets
    /// when it does not: a threshold out of range, a value not in a list.
    #[serde(default)]
    pub params_check: Vec<ParamsCheckSpec>,
    /// Documentation links.
    #[serde(default)]
    pub references: Vec<String>,
    /// CEL values that, with the event type and the resource's reference,
    /// make the finding's identity (`com.finding_id`) when one resource can
    /// have several findings of the rule: `{name: cel}`.
    #[serde(default)]
    pub distinguished_by: BTreeMap<String, String>,
    /// Records the rule must fail and records it must pass.
    #[serde(default)]
    pub tests: Option<TestsSpec>,
}

/// A condition on a rule's params.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamsCheckSpec {
    /// CEL over `params`: true when the params are usable.
    pub valid: String,
    /// What is wrong when `valid` is false.
    pub message: String,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Self::One(one) => vec![one.clone()],
            Self::Many(many) => many.clone(),
        }
    }
}

/// How to fix a finding: `text` (the whole recommendation, or its first
/// part), the console path and the CLI command; at least one. They make
/// `com.recommendation`: `<text>: in the console, <console>; or <cli>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationSpec {
    /// What to do, in words.
    #[serde(default)]
    pub text: Option<String>,
    /// Where to click, e.g. `Compute Engine > VM instances > Edit`.
    #[serde(default)]
    pub console: Option<String>,
    /// The command that fixes it.
    #[serde(default)]
    pub cli: Option<String>,
}

/// A rule's test cases: records (`{raw, ext, com}`, YAML or JSON) it must
/// fail and records it must pass.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestsSpec {
    /// Records that must raise a finding.
    #[serde(default)]
    pub fail: Vec<Value>,
    /// Records that must not.
    #[serde(default)]
    pub pass: Vec<Value>,
}
