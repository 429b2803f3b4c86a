//! Benchmark frameworks in the host: where they are read from, the
//! `com.compliance` of events (see [`Index`]), and the compliance report
//! ([`report`]).
//!
//! The frameworks are the bundled ones (see
//! [`rules::framework::bundled_dir`]: `$CLOUDMARKER_FRAMEWORKS_DIR`, else
//! `PREFIX/lib/cloudmarker/frameworks` beside the installed plugins, else
//! the source tree's `frameworks/`) and the config's own (`frameworks:`, a
//! list of files or directories), which replace a bundled framework of the
//! same id.

pub mod report;

use crate::config::Config;
use rules::framework::{FrameworkError, Frameworks};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The installed host's plugin directory, `<exe dir>/../lib/cloudmarker/plugins`,
/// beside which the bundled rule packs and frameworks are installed.
pub fn installed_plugin_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join("../lib/cloudmarker/plugins"))
}

/// The directory of the bundled frameworks, if there is one.
pub fn bundled_dir() -> Option<PathBuf> {
    rules::framework::bundled_dir(installed_plugin_dir().as_deref())
}

/// The files of the config's `frameworks:` list (`~` expanded; relative
/// paths are relative to the working directory).
pub fn config_paths(config: &Config) -> Vec<PathBuf> {
    config
        .frameworks
        .iter()
        .flatten()
        .map(|path| cloudmarker_plugin_api::sdk::files::expand_tilde(path))
        .collect()
}

/// The frameworks a run uses: the bundled ones and the config's.
pub fn load(config: &Config) -> Result<Frameworks, FrameworkError> {
    Frameworks::layered(bundled_dir().as_deref(), &config_paths(config))
}

/// An event's `com.compliance` by its check, as JSON text made once per
/// check and cloud: what the host stamps on every event that names its
/// check (`com.check`), replacing what the plugin sent.
#[derive(Debug, Default)]
pub struct Index {
    by_check: HashMap<String, Entries>,
}

/// The `com.compliance` of one check: for an event of any cloud, and for
/// each cloud some framework is about.
#[derive(Debug, Default)]
struct Entries {
    any: String,
    by_cloud: Vec<(String, String)>,
}

/// What an event of a check no framework maps gets.
const NONE: &str = "[]";

impl Index {
    /// The index of `frameworks`.
    pub fn new(frameworks: &Frameworks) -> Self {
        let mut providers: Vec<&str> = frameworks.iter().map(|f| f.provider.as_str()).collect();
        providers.sort_unstable();
        providers.dedup();
        let json = |entries: Vec<String>| serde_json::Value::from(entries).to_string();
        let by_check = frameworks
            .checks()
            .into_iter()
            .map(|check| {
                let entries = Entries {
                    any: json(frameworks.compliance(check, None)),
                    by_cloud: providers
                        .iter()
                        .map(|p| (p.to_string(), json(frameworks.compliance(check, Some(p)))))
                        .collect(),
                };
                (check.to_string(), entries)
            })
            .collect();
        Self { by_check }
    }

    /// The index of the frameworks a run of `config` uses, shared by its
    /// event workers; none (and an error in the log) when they cannot be
    /// read: events then keep the `com.compliance` their plugins gave.
    pub fn for_run(config: &Config) -> Option<Arc<Self>> {
        match load(config) {
            Ok(frameworks) => Some(Arc::new(Self::new(&frameworks))),
            Err(e) => {
                log::error!("Cannot read the benchmark frameworks: {e}. Events keep the com.compliance their plugins gave.");
                None
            }
        }
    }

    /// `com.compliance` (a JSON list) of an event of `check` in
    /// `cloud_type`: every requirement that maps the check, of that cloud's
    /// frameworks when some framework is about it.
    pub fn json(&self, check: &str, cloud_type: Option<&str>) -> &str {
        let Some(entries) = self.by_check.get(check) else {
            return NONE;
        };
        cloud_type
            .and_then(|cloud| entries.by_cloud.iter().find(|(c, _)| c == cloud))
            .map_or(entries.any.as_str(), |(_, json)| json.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rules::framework::{parse, Frameworks};
    use std::path::Path;

    pub(crate) fn framework(id: &str, provider: &str, requirements: &str) -> String {
        format!(
            "framework: {{id: {id}, name: Test {id}, version: \"1.0\", provider: {provider}}}\nrequirements:\n{requirements}"
        )
    }

    #[test]
    fn an_event_gets_the_requirements_of_its_cloud_that_map_its_check() {
        let mut frameworks = Frameworks::new();
        for (id, provider, checks) in [("az_1", "azure", "[fw, x]"), ("gc_1", "gcp", "[fw]")] {
            let text = framework(
                id,
                provider,
                &format!("  - {{id: \"1.1\", section: \"1 S\", title: T, level: 1, automated: true, checks: {checks}}}\n"),
            );
            frameworks.insert(parse(Path::new(&format!("{id}.yaml")), &text).unwrap());
        }
        let index = Index::new(&frameworks);
        assert_eq!(index.json("fw", Some("azure")), r#"["az_1 1.1"]"#);
        assert_eq!(index.json("fw", Some("gcp")), r#"["gc_1 1.1"]"#);
        assert_eq!(index.json("fw", Some("mock")), r#"["az_1 1.1","gc_1 1.1"]"#);
        assert_eq!(index.json("fw", None), r#"["az_1 1.1","gc_1 1.1"]"#);
        assert_eq!(index.json("x", Some("gcp")), "[]");
        assert_eq!(index.json("unmapped", Some("azure")), "[]");
    }
}
