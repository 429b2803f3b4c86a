//! Plugin-api versioning across separately built libraries.
//!
//! The projects under `tests/foreign/` build plugin-api's own source as other
//! versions (a later 0.1.x with an extra root-module function, the 0.1.0
//! layout, an old 0.0.9, and a 0.1.1 with a changed layout) and a plugin
//! against each, plus a small host built against the later version. See
//! `tests/foreign/README.md`. The out-of-tree example library is built here too.

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
    run.assert_status(0);
    run.assert_says("Audit mockaudit finished: 13 records read");
    assert_eq!(sb.record_count("mockaudit_foreign.json"), 3);
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
        stdout.contains(&format!(
            "loaded mockcloud built against plugin-api {}",
            cloudmarker_plugin_api::API_VERSION
        )),
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
    run.assert_status(1);
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
    run.assert_status(1);
    run.assert_says(&format!(
        "cannot load {}: built against an incompatible cloudmarker-plugin-api interface",
        lib.display()
    ));
    run.assert_says("in PluginMod.info -> PluginInfo.kinds -> PluginKinds.field_0: Error:mismatched type Expected: u8 Found: u32");
    assert!(run.output().len() < 20_000, "the layout dump is summarized");
}

/// Builds examples/wordcount-plugin on its own, as a third party would, and
/// returns the library.
fn example_library() -> PathBuf {
    let root = workspace_root();
    let built = build_on_its_own(
        &root.join("examples/wordcount-plugin/Cargo.toml"),
        &root.join("target/examples"),
    );
    built.join("libwordcount.so")
}

/// A private directory `name` in the sandbox holding a copy of `library`.
fn plugin_dir_with(sb: &Sandbox, name: &str, library: &Path) -> PathBuf {
    let dir = sb.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(library, dir.join(library.file_name().unwrap())).unwrap();
    dir
}

#[test]
fn an_out_of_tree_library_of_three_plugins_runs_by_their_names() {
    // examples/wordcount-plugin is its own project, as a third party's is,
    // and provides a cloud, an event and a sink from one library.
    let sb = Sandbox::new();
    let plugins = plugin_dir_with(&sb, "plugins", &example_library());
    sb.file(
        "example.yaml",
        "plugins:\n  texts:\n    plugin: cloudmarker.clouds.textcloud.TextCloud\n    params: {texts: [short, far too many words here, one two]}\n  wordcount:\n    plugin: wordcount\n    params: {max_words: 3}\n  tally:\n    plugin: wordtally\n    params: {path: tally.json}\naudits:\n  mockaudit:\n    clouds: [texts]\n    stores: [filestore, tally]\n    events: [wordcount]\n",
    );
    let dir = plugins.display().to_string();
    for (args, env) in [
        (vec!["--plugin-dir", dir.as_str()], vec![]),
        (vec![], vec![("CLOUDMARKER_PLUGIN_PATH", dir.as_str())]),
    ] {
        let mut all = vec!["-n", "-c", "sandbox.yaml", "example.yaml"];
        all.extend(args);
        let run = sb.run_with(&all, &env);
        run.assert_status(0);
        for plugin in ["textcloud", "wordcount", "wordtally"] {
            run.assert_says(&format!(
                "Loaded plugin {plugin} 0.2.0 (plugin-api {}) from {dir}/libwordcount.so",
                cloudmarker_plugin_api::API_VERSION
            ));
        }
        let events = sb.read_json("mockaudit_wordcount.json");
        let events = events.as_array().unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["com"]["reference"], "text-2");
        assert_eq!(events[0]["com"]["record_type"], "long_text_event");
        let tally: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(sb.path().join("tally.json")).unwrap())
                .unwrap();
        assert_eq!(tally, serde_json::json!({"texts": 3, "words": 8}));
    }
    let run = sb.run(&["plugins", "list", "--format", "json", "--plugin-dir", &dir]);
    run.assert_status(0);
    let entries: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let from_example: Vec<_> = entries
        .iter()
        .filter(|e| e["path"].as_str().unwrap().starts_with(&dir))
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                e["kinds"].clone(),
                e["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        from_example,
        [
            ("wordcount", serde_json::json!(["event"]), "ok"),
            ("textcloud", serde_json::json!(["cloud"]), "ok"),
            ("wordtally", serde_json::json!(["store", "alert"]), "ok"),
        ]
    );
}

#[test]
fn the_first_library_on_the_search_path_wins_and_later_ones_are_shadowed() {
    let sb = Sandbox::new();
    let library = example_library();
    let first = plugin_dir_with(&sb, "first", &library);
    // The same plugins under another file name, later on the search path.
    let second = sb.dir("second");
    std::fs::copy(&library, second.join("libtextfamily.so")).unwrap();
    let (first, second) = (first.display().to_string(), second.display().to_string());
    let dirs = [
        "--plugin-dir",
        first.as_str(),
        "--plugin-dir",
        second.as_str(),
    ];

    let mut args = vec!["plugins", "list", "--format", "json"];
    args.extend(dirs);
    let run = sb.run(&args);
    run.assert_status(0);
    let entries: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let status = |name: &str, dir: &str| {
        let entry = entries
            .iter()
            .find(|e| e["name"] == name && e["path"].as_str().unwrap().starts_with(dir))
            .unwrap_or_else(|| panic!("{name} in {dir}: {entries:#?}"));
        (
            entry["status"].as_str().unwrap().to_string(),
            entry["reason"].clone(),
        )
    };
    for name in ["textcloud", "wordcount", "wordtally"] {
        assert_eq!(status(name, &first).0, "ok");
        let (shadowed, reason) = status(name, &second);
        assert_eq!(shadowed, "shadowed");
        assert!(
            reason
                .as_str()
                .unwrap()
                .contains(&format!("{first}/libwordcount.so")),
            "{reason}"
        );
    }

    // A run uses the first; the table says which are shadowed.
    sb.file(
        "texts.yaml",
        "plugins:\n  texts:\n    plugin: textcloud\n    params: {texts: [a b]}\naudits:\n  mockaudit:\n    clouds: [texts]\n",
    );
    let mut args = vec!["-n", "-c", "sandbox.yaml", "texts.yaml"];
    args.extend(dirs);
    let run = sb.run(&args);
    run.assert_status(0);
    run.assert_says(&format!(
        "Loaded plugin textcloud 0.2.0 (plugin-api {}) from {first}/libwordcount.so",
        cloudmarker_plugin_api::API_VERSION
    ));
    let mut args = vec!["plugins", "list"];
    args.extend(dirs);
    let run = sb.run(&args);
    assert!(
        run.stdout
            .contains(&format!("{second}/libtextfamily.so: shadowed")),
        "{}",
        run.stdout
    );
}

#[test]
fn a_plugin_built_against_plugin_api_0_1_0_still_runs() {
    let lib = build_foreign("v0.1.0").join("libv010api.so");
    let sb = Sandbox::new();
    config_with_foreign_cloud(&sb, &lib);
    let run = sb.run_now(&["foreign.yaml"]);
    run.assert_status(0);
    run.assert_says(&format!(
        "Loaded plugin foreigncloud 0.1.0 (plugin-api 0.1.0) from {}",
        lib.display()
    ));
    assert_eq!(sb.record_count("mockaudit_foreign.json"), 3);
    // It cannot divide its work between shards: refused in a sharded run,
    // with both versions.
    let run = sb.run(&["-n", "--shard", "0/2", "-c", "sandbox.yaml", "foreign.yaml"]);
    run.assert_status(1);
    run.assert_says("plugin foreigncloud is built against plugin-api 0.1.0, which cannot divide its work between shards (shard 0/2 of a sharded run needs plugin-api 0.1.2 or later)");

    // A 0.1.0 sink lacks write_from: the host writes through write.
    let sink = build_foreign("v0.1.0-sink").join("libv010sink.so");
    sb.file(
        "sink.yaml",
        &format!(
            "plugins:\n  oldsink:\n    plugin: {}\n    params: {{path: received.jsonl}}\naudits:\n  mockaudit:\n    stores: [filestore, oldsink]\n",
            sink.display()
        ),
    );
    let run = sb.run_now(&["sink.yaml"]);
    run.assert_status(0);
    let received = std::fs::read_to_string(sb.path().join("received.jsonl")).unwrap();
    let origins: Vec<String> = received
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|r| r["com"]["origin_worker"].as_str().map(str::to_string))
        .collect();
    assert_eq!(origins.len(), 10, "{received}");
    assert!(
        origins.iter().all(|o| o == "mockaudit_mockcloud"),
        "{origins:?}"
    );

    let dir = plugin_dir_with(&sb, "plugins", &lib).display().to_string();
    let run = sb.run(&["plugins", "list", "--format", "json", "--plugin-dir", &dir]);
    let entries: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let entry = entries
        .iter()
        .find(|e| e["name"] == "foreigncloud")
        .unwrap();
    assert_eq!(entry["status"], "ok", "{entry}");
    assert_eq!(entry["api_version"], "0.1.0", "{entry}");
}

#[test]
fn validate_connect_runs_each_plugins_health_check() {
    let sb = Sandbox::new();
    let plugins = plugin_dir_with(&sb, "plugins", &example_library());
    let old = build_foreign("v0.1.0").join("libv010api.so");
    sb.file(
        "connect.yaml",
        &format!(
            "plugins:\n  oldcloud:\n    plugin: {}\n  tally:\n    plugin: wordtally\n    params: {{path: tally.json}}\n  lost:\n    plugin: wordtally\n    params: {{path: no/such/dir/tally.json}}\naudits:\n  mockaudit:\n    clouds: [mockcloud, oldcloud]\n    stores: [filestore, tally, lost]\n",
            old.display()
        ),
    );
    let dir = plugins.display().to_string();
    // The example's directory through the environment: the bundled plugins'
    // --plugin-dir that the sandbox gives stays in force.
    let env = [("CLOUDMARKER_PLUGIN_PATH", dir.as_str())];
    let args = ["validate", "-c", "sandbox.yaml", "connect.yaml"];
    let run = sb.run_with(&args, &env);
    assert_eq!(
        run.status,
        Some(0),
        "without --connect nothing is reached: {}",
        run.output()
    );

    let mut connect = args.to_vec();
    connect.push("--connect");
    let run = sb.run_with(&connect, &env);
    run.assert_status(1);
    let row = |key: &str| {
        run.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no row for {key}: {}", run.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let out = sb.path().display().to_string();
    assert!(
        row("filestore").starts_with(&format!("filestore filestore ok can write to {out}")),
        "{}",
        row("filestore")
    );
    assert!(
        row("tally").starts_with("tally wordtally ok can write to ."),
        "{}",
        row("tally")
    );
    assert!(
        row("lost").starts_with("lost wordtally failed cannot write to no/such/dir"),
        "{}",
        row("lost")
    );
    assert!(
        row("mockcloud").starts_with("mockcloud mockcloud no check"),
        "{}",
        row("mockcloud")
    );
    assert!(
        row("oldcloud").contains(
            "no check plugin foreigncloud has no health check (built against plugin-api 0.1.0)"
        ),
        "{}",
        row("oldcloud")
    );
    run.assert_says("1 plugin(s) failed their health check");
    assert!(
        !sb.path().join("tally.json").exists(),
        "a health check writes no output"
    );
}
