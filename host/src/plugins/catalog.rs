//! `cloudmarker plugins list` and `cloudmarker plugins inspect`: what is
//! installed on the search path, each library probed in a child process.

use super::probe::{Probed, ProbedInfo};
use super::resolve::{class_module_name, PluginRef};
use super::Registry;
#[cfg(doc)]
use super::SearchPath;
use cloudmarker_plugin_api::sdk::{files, schema};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One library on the search path, as `plugins list` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Entry {
    /// The plugin's name (the file's stem when it is not a plugin).
    pub name: String,
    /// Its roles.
    pub kinds: Vec<String>,
    /// Its own version.
    pub version: String,
    /// The plugin-api version it was built against.
    pub api_version: String,
    /// The library file.
    pub path: PathBuf,
    /// `ok`, `incompatible`, `not a plugin`, `crashed`, `shadowed` or
    /// `insecure`.
    pub status: String,
    /// Why, for every status but `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Every plugin of every library in the search path's directories, in
/// search order; where two libraries provide the same name, the one that
/// resolution picks (see [`SearchPath::candidates`]) is `ok` and the others
/// are `shadowed`.
pub fn list(registry: &Registry) -> Vec<Entry> {
    let search = registry.search_path();
    let mut entries: Vec<Entry> = search
        .libraries()
        .iter()
        .flat_map(|path| describe(registry, path))
        .collect();
    let mut providers: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, entry) in entries.iter().enumerate() {
        if entry.status == "ok" {
            providers.entry(entry.name.clone()).or_default().push(index);
        }
    }
    for (name, indexes) in providers.into_iter().filter(|(_, i)| i.len() > 1) {
        let order = search.candidates(&name);
        let rank = |i: &usize| order.iter().position(|p| *p == entries[*i].path);
        let Some(&winner) = indexes.iter().min_by_key(|i| rank(i).unwrap_or(usize::MAX)) else {
            continue;
        };
        let winner_path = entries[winner].path.display().to_string();
        for index in indexes.into_iter().filter(|i| *i != winner) {
            entries[index].status = "shadowed".into();
            entries[index].reason = Some(format!(
                "{winner_path}, earlier on the search path, provides {name}"
            ));
        }
    }
    entries
}

/// What the library at `path` is: one entry per plugin it provides, or one
/// entry saying why it cannot be used.
pub fn describe(registry: &Registry, path: &Path) -> Vec<Entry> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().trim_start_matches("lib").to_string())
        .unwrap_or_default();
    let entry = |info: ProbedInfo, status: &str, reason: Option<String>| Entry {
        name: if info.name.is_empty() {
            stem.clone()
        } else {
            info.name
        },
        kinds: info.kinds,
        version: info.version,
        api_version: info.api_version,
        path: path.to_path_buf(),
        status: status.into(),
        reason,
    };
    if !registry.allows_insecure_plugins() {
        let unsafe_file = files::check_trusted(path)
            .and_then(|()| path.parent().map_or(Ok(()), files::check_trusted));
        if let Err(problem) = unsafe_file {
            return vec![entry(ProbedInfo::default(), "insecure", Some(problem))];
        }
    }
    let refused =
        |status: &str, reason: String| vec![entry(ProbedInfo::default(), status, Some(reason))];
    match registry.probe(path) {
        Probed::Plugins(plugins) => plugins
            .into_iter()
            .map(|info| entry(info, "ok", None))
            .collect(),
        Probed::Refused(reason) if reason.starts_with("built against") => {
            refused("incompatible", reason)
        }
        Probed::Refused(reason) => refused("not a plugin", reason),
        Probed::Crashed(reason) => refused("crashed", reason),
    }
}

/// The entries as a table for people.
pub fn table(entries: &[Entry]) -> String {
    let header = ["name", "kinds", "version", "api", "status", "path"];
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            [
                e.name.clone(),
                e.kinds.join(","),
                e.version.clone(),
                e.api_version.clone(),
                e.status.clone(),
                e.path.display().to_string(),
            ]
        })
        .collect();
    let mut out = crate::table::render(header, &rows, "", header.len());
    for entry in entries {
        if let Some(reason) = &entry.reason {
            let _ = writeln!(
                out,
                "{}: {} ({})",
                entry.path.display(),
                entry.status,
                reason
            );
        }
    }
    out
}

/// The plugins of `entries` that load (`ok`) as the Markdown table of
/// docs/plugins.md: name (linked to `../plugins/<library>/README.md`, the
/// bundled plugins' layout), kinds, what it does, and its params with their
/// defaults, from each plugin's own info, so that the documentation lists
/// every plugin as it is built. Sorted by library, then as the library
/// lists its plugins.
pub fn markdown(registry: &Registry, entries: &[Entry]) -> String {
    let mut out =
        String::from("| plugin | kinds | what it does | params (defaults) |\n|---|---|---|---|\n");
    let mut libraries: Vec<&Path> = entries
        .iter()
        .filter(|e| e.status == "ok")
        .map(|e| e.path.as_path())
        .collect();
    libraries.sort_by_key(|path| path.file_name().map(|n| n.to_os_string()));
    libraries.dedup();
    for path in libraries {
        let Ok(plugins) = registry.probed(path) else {
            continue;
        };
        let library = path
            .file_stem()
            .map(|s| s.to_string_lossy().trim_start_matches("lib").to_string())
            .unwrap_or_default();
        for info in plugins {
            let described: serde_json::Value =
                serde_json::from_str(&info.params).unwrap_or(serde_json::Value::Null);
            let (defaults, param_schema) = schema::parse(&described);
            let _ = writeln!(
                out,
                "| [`{}`](../plugins/{library}/README.md) | {} | {} | {} |",
                info.name,
                info.kinds.join(", "),
                info.description.replace('|', "\\|"),
                params_summary(&defaults, param_schema.as_ref())
            );
        }
    }
    out
}

/// A plugin's params for the Markdown table: each name in backticks with
/// its default in parentheses (none for an empty or null default, `***`
/// for a secret), or `none`.
fn params_summary(
    defaults: &serde_json::Value,
    param_schema: Option<&serde_json::Value>,
) -> String {
    let properties = param_schema
        .and_then(|s| s.get("properties"))
        .and_then(serde_json::Value::as_object);
    let names: Vec<String> = match (properties, defaults.as_object()) {
        (Some(props), _) => props.keys().cloned().collect(),
        (None, Some(map)) => map.keys().cloned().collect(),
        (None, None) => Vec::new(),
    };
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|name| {
            let secret = properties
                .and_then(|p| p.get(name))
                .is_some_and(schema::is_secret);
            match defaults.get(name) {
                None | Some(serde_json::Value::Null) => format!("`{name}`"),
                Some(serde_json::Value::String(s)) if s.is_empty() => format!("`{name}`"),
                Some(serde_json::Value::Array(a)) if a.is_empty() => format!("`{name}`"),
                Some(serde_json::Value::Object(o)) if o.is_empty() => format!("`{name}`"),
                Some(_) if secret => format!("`{name}` (***)"),
                Some(serde_json::Value::String(s)) => format!("`{name}` ({s})"),
                Some(value) => format!("`{name}` ({value})"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
        .replace('|', "\\|")
}

/// The params as a table: name, type, default, required, secret and doc,
/// from the plugin's schema (defaults only for a plugin without one).
fn params_table(defaults: &serde_json::Value, param_schema: Option<&serde_json::Value>) -> String {
    let properties = param_schema
        .and_then(|s| s.get("properties"))
        .and_then(serde_json::Value::as_object);
    let required = param_schema.map(schema::required).unwrap_or_default();
    let names: Vec<String> = match (properties, defaults.as_object()) {
        (Some(props), _) => props.keys().cloned().collect(),
        (None, Some(map)) => map.keys().cloned().collect(),
        (None, None) => Vec::new(),
    };
    if names.is_empty() {
        return "  (none)\n".into();
    }
    let header = ["name", "type", "default", "required", "secret", "doc"];
    let rows: Vec<[String; 6]> = names
        .iter()
        .map(|name| {
            let property = properties.and_then(|p| p.get(name));
            let kind = property.map_or(String::new(), type_name);
            let secret = property.is_some_and(schema::is_secret);
            let default = match defaults.get(name) {
                Some(v) if secret && !v.is_null() && v != "" => "***".to_string(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            let doc = property
                .and_then(|p| p.get("description"))
                .and_then(serde_json::Value::as_str)
                .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_default();
            [
                name.clone(),
                kind,
                default,
                if required.contains(&name.as_str()) {
                    "yes"
                } else {
                    "no"
                }
                .into(),
                if secret { "yes" } else { "no" }.into(),
                doc,
            ]
        })
        .collect();
    crate::table::render(header, &rows, "  ", header.len())
}

/// A short type name from a property's schema (`integer`, `string|null`, ...).
fn type_name(property: &serde_json::Value) -> String {
    if let Some(types) = schema::types(property) {
        return types.join("|");
    }
    match property.get("$ref").and_then(serde_json::Value::as_str) {
        Some(r) => r.rsplit('/').next().unwrap_or(r).to_string(),
        None if property.get("anyOf").is_some() || property.get("oneOf").is_some() => {
            "one of several".into()
        }
        None => String::new(),
    }
}

/// `plugins inspect`: the plugin named (or the library at) `target`, its
/// description, kinds, versions, library, params with their defaults, and a
/// config to paste.
pub fn inspect(registry: &Registry, target: &str) -> Result<String, String> {
    let here = std::env::current_dir().ok();
    let reference = PluginRef::parse(target, here.as_deref());
    let (path, name) = registry
        .find("inspect", target, reference)
        .map_err(|e| e.to_string())?;
    let plugins = registry
        .probed(&path)
        .map_err(|reason| format!("{}: {reason}", path.display()))?;
    let info = match &name {
        Some(name) => plugins.iter().find(|p| &p.name == name),
        None => plugins.first(),
    }
    .ok_or_else(|| format!("{} provides no plugin named {target:?}", path.display()))?;
    let described: serde_json::Value =
        serde_json::from_str(&info.params).unwrap_or(serde_json::Value::Null);
    let (params, param_schema) = schema::parse(&described);
    let mut out = String::new();
    let _ = writeln!(out, "{} {}: {}", info.name, info.version, info.description);
    let _ = writeln!(out, "kinds:      {}", info.kinds.join(", "));
    if let Some(class) = schema::class(&described) {
        let _ = writeln!(
            out,
            "class:      {class} (stamped as com.origin_class/target_class)"
        );
    }
    let _ = writeln!(out, "plugin-api: {}", info.api_version);
    let _ = writeln!(out, "library:    {}", path.display());
    let others: Vec<&str> = plugins
        .iter()
        .map(|p| p.name.as_str())
        .filter(|n| *n != info.name)
        .collect();
    if !others.is_empty() {
        let _ = writeln!(out, "also in it: {}", others.join(", "));
    }
    let _ = writeln!(out, "\nparams:");
    let _ = write!(out, "{}", params_table(&params, param_schema.as_ref()));
    let name = class_module_name(target).unwrap_or(&info.name);
    let example = serde_json::json!({"plugins": {name: {"plugin": info.name, "params": params}}});
    let yaml = serde_norway::to_string(&example).unwrap_or_default();
    let _ = write!(out, "\nexample config:\n{yaml}");
    Ok(out)
}
