//! Plugin-api versioning across separately built libraries.
//!
//! The projects under `tests/foreign/` build plugin-api's own source as other
//! versions (a later 0.1.x with an extra root-module function, an old 0.0.9,
//! and a 0.1.0 with a changed layout) and a plugin against each, plus a small
//! host built against the later version. See `tests/foreign/README.md`.

mod common;

use common::{plugin_lib, Sandbox};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Builds `tests/foreign/<project>` and returns its output directory.
fn build_foreign(project: &str) -> PathBuf {
    let root = workspace_root();
    let manifest = root.join("tests/foreign").join(project).join("Cargo.toml");
    build_on_its_own(&manifest, &root.join("target/foreign"))
}

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Builds the project at `manifest` on its own, outside the workspace, into
/// `target`, and returns its debug output directory.
fn build_on_its_own(manifest: &Path, target: &Path) -> PathBuf {
    // One build at a time keeps the output readable; cargo locks anyway.
    static BUILD: Mutex<()> = Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--quiet", "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "building {} failed:\n{}",
        manifest.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    target.join("debug")
}

fn config_with_foreign_cloud(sb: &Sandbox, lib: &Path) {
    sb.file(
        "foreign.yaml",
        &format!(
            "plugins:\n  foreign:\n    plugin: {}\n    params: {{record_count: 3}}\naudits:\n  mockaudit:\n    clouds: [mockcloud, foreign]\n",
            lib.display()
        ),
    );
}

#[test]
fn a_plugin_built_against_a_later_compatible_api_runs() {
    let lib = build_foreign("next").join("libnextapi.so");
    let sb = Sandbox::new();
    config_with_foreign_cloud(&sb, &lib);
    let run = sb.run_now(&["foreign.yaml"]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    run.assert_says("Audit mockaudit finished: 13 records read");
    assert_eq!(
        sb.read_json("mockaudit_foreign.json")
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn a_host_built_against_a_later_api_runs_current_plugins() {
    let host = build_foreign("next").join("nexthost");
    let output = Command::new(host)
        .arg(plugin_lib("mockcloud"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("current layout refused: Error:too many fields"),
        "{stdout}"
    );
    assert!(
        stdout.contains("loaded mockcloud built against plugin-api 0.1.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("later function: absent (0.1.0 layout)"),
        "{stdout}"
    );
    assert!(stdout.contains("records read: 5"), "{stdout}");
}

#[test]
fn a_plugin_built_against_an_old_api_is_refused_with_both_versions() {
    let lib = build_foreign("old").join("liboldapi.so");
    let sb = Sandbox::new();
    config_with_foreign_cloud(&sb, &lib);
    let run = sb.run_now(&["foreign.yaml"]);
    assert_eq!(run.status, Some(1), "{}", run.output());
    run.assert_says(&format!(
        "plugin \"foreign\": cannot load {}: built against cloudmarker-plugin-api 0.0.9, but this cloudmarker expects plugin-api 0.1.x",
        lib.display()
    ));
    run.assert_says("Audit mockaudit finished: 10 records read, 4 events, 14 writes, 1 failures");
}

#[test]
fn a_plugin_with_an_incompatible_layout_is_refused_with_the_cause() {
    let lib = build_foreign("broken").join("libbrokenapi.so");
    let sb = Sandbox::new();
    config_with_foreign_cloud(&sb, &lib);
    let run = sb.run_now(&["foreign.yaml"]);
    assert_eq!(run.status, Some(1), "{}", run.output());
    run.assert_says(&format!(
        "cannot load {}: built against an incompatible cloudmarker-plugin-api interface",
        lib.display()
    ));
    run.assert_says("in PluginMod.info -> PluginInfo.kinds -> PluginKinds.field_0: Error:mismatched type Expected: u8 Found: u32");
    assert!(run.output().len() < 20_000, "the layout dump is summarized");
}

#[test]
fn an_out_of_tree_plugin_built_against_plugin_api_alone_runs() {
    // examples/wordcount-plugin is its own project, as a third party's is.
    let root = workspace_root();
    let built = build_on_its_own(
        &root.join("examples/wordcount-plugin/Cargo.toml"),
        &root.join("target/examples"),
    );
    let sb = Sandbox::new();
    let plugins = sb.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::copy(
        built.join("libwordcount.so"),
        plugins.join("libwordcount.so"),
    )
    .unwrap();
    let records = sb.file(
        "records.json",
        r#"[{"raw": {"text": "short"}, "ext": {"record_type": "text"}, "com": {"reference": "doc-1"}},
            {"raw": {"text": "far too many words here"}, "ext": {"record_type": "text"}, "com": {"reference": "doc-2"}}]"#,
    );
    sb.file(
        "example.yaml",
        &format!(
            "plugins:\n  docs:\n    plugin: jsoncloud\n    params: {{path: \"{}\"}}\n  wordcount:\n    plugin: wordcount\n    params: {{max_words: 3}}\naudits:\n  mockaudit:\n    clouds: [docs]\n    events: [wordcount]\n",
            records.display()
        ),
    );
    let dir = plugins.display().to_string();
    for (args, env) in [
        (vec!["--plugin-dir", dir.as_str()], vec![]),
        (vec![], vec![("CLOUDMARKER_PLUGIN_PATH", dir.as_str())]),
    ] {
        let mut all = vec!["-n", "-c", "sandbox.yaml", "example.yaml"];
        all.extend(args);
        let run = sb.run_with(&all, &env);
        assert_eq!(run.status, Some(0), "{}", run.output());
        run.assert_says("Loaded plugin wordcount 0.2.0 (plugin-api 0.1.0)");
        let events = sb.read_json("mockaudit_wordcount.json");
        let events = events.as_array().unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["com"]["reference"], "doc-2");
        assert_eq!(events[0]["com"]["record_type"], "long_text_event");
    }
    let run = sb.run(&["plugins", "list", "--format", "json", "--plugin-dir", &dir]);
    assert_eq!(run.status, Some(0), "{}", run.output());
    let entries: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let wordcount = entries.iter().find(|e| e["name"] == "wordcount").unwrap();
    assert_eq!(wordcount["status"], "ok");
    assert_eq!(wordcount["version"], "0.2.0");
    assert_eq!(wordcount["kinds"], serde_json::json!(["event"]));
}
