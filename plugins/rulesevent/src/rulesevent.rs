//! The event plugin over the rules kit: loads the rules once, then
//! evaluates every record against the rules of its record type.

use cloudmarker_plugin_api::sdk::{self, Batch, Event, PluginType};
use cloudmarker_plugin_api::PluginError;
use rules::{Loader, Options, Origin, RuleParams, RuleSet, Selection};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `paths` entry that stands for the bundled rule packs.
pub const BUNDLED: &str = "@bundled";

/// Parameters of [`RulesEvent`].
#[derive(
    Debug, Clone, Default, Deserialize, Serialize, cloudmarker_plugin_api::sdk::schema::JsonSchema,
)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct RulesEventParams {
    /// Rule files, or directories of them (every `*.yaml` and `*.yml`
    /// below, in name order); relative paths are relative to the working
    /// directory. Empty: the bundled packs. `@bundled` in the list stands
    /// for the bundled packs, to run them along with your own.
    pub paths: Vec<String>,
    /// The rules to run: globs (`*`, `?`) matching rule ids, the event
    /// plugin names rules answer to, the ids of the bundled frameworks that
    /// map them (`cis_gcp_5.0.0`) or their requirements (`cis_gcp_5.0.0 4.*`).
    /// Empty: all.
    pub include: Vec<String>,
    /// The rules not to run, as in `include`.
    pub exclude: Vec<String>,
    /// Param overrides per rule: `{<rule id>: {<param>: value}}`; each
    /// value must have the type of the param's default.
    pub rule_params: RuleParams,
}

/// Evaluates rules written in YAML with CEL expressions; see the
/// `cloudmarker-rules` kit for the rule format.
#[derive(Debug)]
pub struct RulesEvent {
    rules: RuleSet,
}

impl RulesEvent {
    /// The loaded rules.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }
}

/// The directory of this library (the plugin's `.so`), or of the
/// executable it is linked into.
fn library_dir() -> Option<PathBuf> {
    use std::ffi::{CStr, OsStr};
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: dladdr only reads the address; `info` is plain data it fills
    // in, and dli_fname, when not null, is a C string owned by the loader
    // for as long as the library stays loaded (libraries are never
    // unloaded).
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let here = library_dir as *const libc::c_void;
        if libc::dladdr(here, &mut info) == 0 || info.dli_fname.is_null() {
            return None;
        }
        let file = Path::new(OsStr::from_bytes(CStr::from_ptr(info.dli_fname).to_bytes()));
        file.parent().map(Path::to_path_buf)
    }
}

/// The bundled packs: see [`rules::bundled_dir`].
pub fn bundled_dir() -> sdk::Result<PathBuf> {
    let dir = library_dir();
    rules::bundled_dir(dir.as_deref()).ok_or_else(|| {
        PluginError::config(format!(
            "rulesevent: the bundled rule packs are not installed (looked in {}{}); \
             set {} or give the rule files in `paths`",
            dir.map(|d| format!("{}, ", d.join("../rules").display()))
                .unwrap_or_default(),
            rules::source_rules_dir().display(),
            rules::RULES_DIR_ENV,
        ))
    })
}

impl PluginType for RulesEvent {
    type Params = RulesEventParams;

    const NAME: &'static str = "rulesevent";
    const DESCRIPTION: &'static str =
        "Evaluates rules written in YAML with CEL expressions: the bundled packs, or your own.";

    fn new(params: RulesEventParams) -> sdk::Result<Self> {
        let mut loader = Loader::new();
        if params.paths.is_empty() {
            loader.add_path(bundled_dir()?, Origin::Bundled);
        }
        for path in &params.paths {
            if path == BUNDLED {
                loader.add_path(bundled_dir()?, Origin::Bundled);
            } else {
                loader.add_path(path, Origin::User);
            }
        }
        let mut options = Options {
            selection: Selection {
                include: params.include,
                exclude: params.exclude,
            },
            rule_params: params.rule_params,
            skip_tests: false,
            frameworks: Default::default(),
        };
        let aliases = loader.plugin_aliases();
        let plain_name = |pattern: &String| {
            aliases.contains_key(pattern) || aliases.values().flatten().any(|id| id == pattern)
        };
        let patterns = || {
            options
                .selection
                .include
                .iter()
                .chain(&options.selection.exclude)
        };
        if !patterns().all(plain_name) {
            // Some patterns may name frameworks and their requirements.
            let dir = rules::framework::bundled_dir(library_dir().as_deref());
            options.frameworks = rules::framework::Frameworks::layered(dir.as_deref(), &[])
                .map_err(|e| PluginError::config(format!("rulesevent: {e}")))?;
        }
        let rules = loader
            .load(&options)
            .map_err(|e| PluginError::config(format!("rulesevent: {e}")))?;
        for warning in rules.warnings() {
            log::warn!("rulesevent: {warning}");
        }
        if rules.is_empty() {
            return Err(PluginError::config(
                "rulesevent: no rules to evaluate (the paths hold none)",
            ));
        }
        let mut types: Vec<&str> = rules.record_types().collect();
        types.sort_unstable();
        log::info!(
            "rulesevent: evaluating {} rules on records of type {}.",
            rules.len(),
            types.join(", ")
        );
        Ok(Self { rules })
    }
}

impl Event for RulesEvent {
    fn eval(&mut self, record: &str, out: &mut Batch) -> sdk::Result<()> {
        let mut findings = Vec::new();
        self.rules
            .evaluate_with(record, &mut findings, |rule, scope, failed| {
                out.evaluated(rule, scope, failed)
            })
            .map_err(|e| PluginError::failed(format!("rulesevent: {e}")))?;
        for finding in &findings {
            out.push(finding)?;
        }
        Ok(())
    }

    fn done(&mut self, _out: &mut Batch) -> sdk::Result<()> {
        for stats in self.rules.stats() {
            if stats.not_evaluated > 0 {
                log::warn!(
                    "rulesevent: rule {} could not be evaluated on {} of the records it read \
                     (an absent field read without has(), or a value of another type); \
                     debug logging says which and why.",
                    stats.id,
                    stats.not_evaluated
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
