//! Event plugin names that stand for bundled rules.
//!
//! Checks that were compiled event plugins are rules now (`rules/`); each
//! such rule names the plugin it replaces in its `plugin` field. A config
//! that still names that plugin (`plugin: azstorageaccountsecuretransferevent`,
//! or upstream's class path `cloudmarker.events.….AzStorage…Event`) gets the
//! `rulesevent` plugin running those rules, with the entry's params as the
//! rules' params, so that configs, event types and finding ids stay as
//! they were.

use super::resolve::{class_module_name, PluginRef};
use crate::config::Config;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The plugin that evaluates rules.
pub const RULES_PLUGIN: &str = "rulesevent";

/// The event plugin names of the rules in `dir` (the bundled packs), each
/// with its rules' ids.
pub fn bundled(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut loader = rules::Loader::new();
    loader.add_path(dir, rules::Origin::Bundled);
    loader.plugin_aliases()
}

/// The plugin name a `plugin:` value names: a bare name, or the module of
/// an original class path; none for a library path.
fn named(value: &str, config_dir: Option<&Path>) -> Option<String> {
    if let Some(module) = class_module_name(value) {
        return Some(module.to_string());
    }
    match PluginRef::parse(value, config_dir) {
        PluginRef::Name(name) => Some(name.to_string()),
        PluginRef::File { .. } => None,
    }
}

/// Makes every entry of `config` whose plugin is one of `aliases` a
/// `rulesevent` entry running that plugin's rules: `include: [<name>]`, and
/// the entry's params as `rule_params` of each of the rules (a param a
/// rule does not declare is then a configuration error naming the rule).
/// Returns the keys of the entries changed.
pub fn expand(config: &mut Config, aliases: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut changed = Vec::new();
    for (key, entry) in &mut config.plugins {
        let Some(name) = named(&entry.plugin, entry.config_dir.as_deref()) else {
            continue;
        };
        let Some(ids) = aliases.get(&name) else {
            continue;
        };
        let own = match &entry.params {
            Some(Value::Object(own)) if !own.is_empty() => Some(own.clone()),
            _ => None,
        };
        let mut params = Map::new();
        params.insert("include".into(), json!([name]));
        if let Some(own) = own {
            let rule_params: Map<String, Value> = ids
                .iter()
                .map(|id| (id.clone(), Value::Object(own.clone())))
                .collect();
            params.insert("rule_params".into(), Value::Object(rule_params));
        }
        entry.alias_of = Some(std::mem::replace(&mut entry.plugin, RULES_PLUGIN.into()));
        entry.params = Some(Value::Object(params));
        changed.push(key.clone());
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, Config};

    fn config(yaml: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(&path, yaml).unwrap();
        Config::from_loaded(&load(&[path], |_| {}).unwrap()).unwrap()
    }

    fn aliases() -> BTreeMap<String, Vec<String>> {
        [("oldtlsevent".to_string(), vec!["azure_tls_old".to_string()])].into()
    }

    #[test]
    fn an_old_plugin_name_runs_its_rules_with_its_params() {
        let mut config = config(
            "plugins:\n  tls:\n    plugin: oldtlsevent\n    params: {_min_tls_version: TLS1_1}\n  \
             upstream:\n    plugin: cloudmarker.events.oldtlsevent.OldTlsEvent\n  \
             other:\n    plugin: firewallruleevent\n",
        );
        let changed = expand(&mut config, &aliases());
        assert_eq!(changed, ["tls", "upstream"]);
        let tls = &config.plugins["tls"];
        assert_eq!(tls.plugin, RULES_PLUGIN);
        assert_eq!(tls.alias_of.as_deref(), Some("oldtlsevent"));
        assert_eq!(
            tls.params,
            Some(json!({"include": ["oldtlsevent"],
                        "rule_params": {"azure_tls_old": {"_min_tls_version": "TLS1_1"}}}))
        );
        let upstream = &config.plugins["upstream"];
        assert_eq!(upstream.params, Some(json!({"include": ["oldtlsevent"]})));
        assert_eq!(
            upstream.alias_of.as_deref(),
            Some("cloudmarker.events.oldtlsevent.OldTlsEvent")
        );
        assert_eq!(config.plugins["other"].plugin, "firewallruleevent");
        assert_eq!(config.plugins["other"].alias_of, None);
    }

    #[test]
    fn a_library_path_is_never_an_alias() {
        let mut config = config("plugins:\n  tls:\n    plugin: ./liboldtlsevent.so\n");
        assert!(expand(&mut config, &aliases()).is_empty());
    }

    #[test]
    fn the_bundled_packs_name_the_plugins_they_replace() {
        let bundled = bundled(&rules::source_rules_dir());
        assert_eq!(
            bundled["azstorageaccountsecuretransferevent"],
            ["azure_storage_secure_transfer_disabled"]
        );
    }
}
