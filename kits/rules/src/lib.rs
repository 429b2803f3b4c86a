//! The rules engine: security checks written as data, in YAML with CEL
//! expressions, evaluated on records (`{"raw", "ext", "com"}`) and raising
//! events exactly like the compiled checks of `sdk::check` do (same
//! `com.finding_id`, `com.severity`, `com.compliance`, `description`,
//! `recommendation`, the record's `ext`), plus `com.check`, the id of the
//! rule that raised them. The `rulesevent` plugin runs it; the host's
//! `rules list` and `rules test` commands read it too.
//!
//! # Rule files
//!
//! A rule file holds `rules:`, a list. Bundled packs live in
//! `rules/<cloud>/<service>.yaml` (see [`bundled_dir`]).
//!
//! ```yaml
//! rules:
//!   - id: gcp_compute_ip_forwarding_enabled   # stable: finding ids hash it (or `event`)
//!     title: IP forwarding enabled on a Compute Engine instance
//!     severity: medium                     # informational, low, medium, high, critical
//!     cloud_type: gcp                      # com.cloud_type; absent: any cloud
//!     record_type: compute                 # or a list; ext.record_type or com.record_type
//!     # event: the events' record_type (default: the id), for a rule that
//!     #   replaces a compiled check and keeps its finding ids
//!     # plugin: the compiled check's event plugin name, which then selects it
//!     when: "!raw.name.startsWith('gke-')"   # optional CEL: does the rule apply?
//!     fail: "raw.?canIpForward.orValue(false) == true"   # CEL: true raises a finding
//!     params: {}                           # defaults; params.x in CEL; rule_params override
//!     # params_check: [{valid: "params.max_days >= 1", message: max_days must be at least 1}]
//!     #   conditions on the params in force: false is a configuration error
//!     description: "Instance {{ raw.name }} forwards packets it did not originate."
//!     remediation:                         # text, console, cli: at least one (templates)
//!       text: Disable IP forwarding on instance {{ raw.name }}
//!       console: Compute Engine > VM instances (IP forwarding is set at creation; recreate the instance)
//!       cli: gcloud compute instances export {{ raw.name }} ...
//!     references: [https://cloud.google.com/vpc/docs/using-routes]
//!     # distinguished_by: {disk: "raw.disks[0].deviceName"}   # more of the identity
//!     tests:                               # records it must fail, records it must pass
//!       fail: [{raw: {name: vm1, canIpForward: true}, ext: {record_type: compute}, com: {cloud_type: gcp}}]
//!       pass: [{raw: {name: vm1, canIpForward: false}, ext: {record_type: compute}, com: {cloud_type: gcp}}]
//! ```
//!
//! `com.recommendation` is the remediation's parts joined: `<text>: in the
//! console, <console>; or <cli>` (`in the portal` for Azure rules; the text
//! alone when it is the only part).
//!
//! Which benchmark requirements a rule answers is not written in the rule:
//! the framework files (`frameworks/`, see [`framework`]) list the rule ids
//! that answer each requirement, and the host stamps `com.compliance` from
//! them.
//!
//! # CEL
//!
//! Expressions see `raw`, `ext` and `com` (the record's buckets, JSON as CEL
//! maps, lists, strings, ints, doubles, bools and nulls) and `params`; the
//! standard library, optional values and the `strings`, `lists` and `math`
//! extensions ([`env`]). A name other than those, or a param the rule does
//! not declare, is an error when the rule loads.
//!
//! **Absent fields**: selecting a field a record lacks is an evaluation
//! error in CEL. Write `has(raw.a.b)` to test for it, or
//! `raw.?a.b.orValue(default)` to read it with a default. A `when` or
//! `fail` that fails to evaluate on a record raises nothing, is counted
//! ([`RuleStats::not_evaluated`]) and logged at debug level: it is never a
//! silent pass or fail. `cel` has no type checker, so type errors (a string
//! compared with `<` to an int) show up when a rule runs: a rule's own
//! tests catch them, and every load runs the tests of the rules it selects.
//!
//! # Templates
//!
//! `description` and the parts of `remediation` are templates: text with
//! `{{ cel }}` placeholders (see [`template`](crate::template) for the
//! rendering); a placeholder that cannot be evaluated reads `(unknown)`.
//!
//! # Problems
//!
//! A bad rule is a configuration error: YAML and CEL syntax errors, unknown
//! fields, names and params, duplicate ids, params overridden with the
//! wrong type, a bundled rule without tests of both kinds, a test case the
//! rule disagrees with. A load collects all of them, each naming its file,
//! line and rule ([`Problem`]); a user rule without tests is a warning.

mod direct;
mod engine;
mod expr;
pub mod framework;
mod layout;
mod load;
mod model;
mod params;
mod problem;
mod rule;
mod select;
pub mod template;
mod testing;
mod values;

pub use engine::{RecordError, RuleSet, CHECK};
pub use expr::{env, VARIABLES};
pub use load::{Loader, Options};
pub use model::{OneOrMany, RemediationSpec, RuleSpec, TestsSpec};
pub use params::RuleParams;
pub use problem::{Level, LoadError, Problem};
pub use rule::{Origin, Rule, RuleInfo, RuleStats};
pub use select::{glob_match, Selection};
pub use testing::{CaseResult, Expect, Outcome, TestReport};

use std::path::{Path, PathBuf};

/// The environment variable that, when set, names the directory of the
/// bundled rule packs (for tests and unusual layouts).
pub const RULES_DIR_ENV: &str = "CLOUDMARKER_RULES_DIR";

/// The bundled packs in this source tree (`<workspace>/rules`), for builds
/// run from it.
pub fn source_rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

/// The directory of the bundled rule packs: `$CLOUDMARKER_RULES_DIR` when
/// set; else `<plugin dir>/../rules` (installed, the plugins are in
/// `PREFIX/lib/cloudmarker/plugins` and the packs in
/// `PREFIX/lib/cloudmarker/rules`), `plugin_dir` being where the plugin
/// library (or, for the host, its plugin directory) is; else the source
/// tree's `rules/` when it exists (a build run from the workspace).
pub fn bundled_dir(plugin_dir: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(RULES_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    plugin_dir
        .map(|d| d.join("../rules"))
        .into_iter()
        .chain([source_rules_dir()])
        .find(|d| d.is_dir())
}

#[cfg(test)]
mod tests;
