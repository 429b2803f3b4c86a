//! End-to-end tests: the real `cloudmarker` binary with the real plugin libraries.

mod common;

use common::{plugin_lib, Sandbox};
use serde_json::{json, Value};

fn com(record: &Value, key: &str) -> Value {
    record["com"][key].clone()
}

#[test]
fn default_mock_audit_writes_records_events_and_markers() {
    let sb = Sandbox::new();
    let run = sb.run_now(&[]);
    run.assert_status(0);
    run.assert_says("Audit mockaudit finished: 10 records read, 4 events, 14 writes, 0 failures");

    let records = sb.read_json("mockaudit_mockcloud.json");
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 10);
    let version = com(&records[0], "audit_version");
    assert!(
        version.as_str().unwrap().len() == 15,
        "audit_version is %Y%m%d_%H%M%S: {version}"
    );
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["raw"], json!({"data": i}));
        let record_type = ["foo", "bar"][i % 2];
        assert_eq!(
            r["ext"],
            json!({"cloud_type": "mock", "record_type": record_type})
        );
        assert_eq!(
            r["com"],
            json!({
                "cloud_type": "mock", "record_type": "mock",
                "audit_key": "mockaudit", "audit_version": version,
                "origin_key": "mockcloud", "origin_class": "MockCloud",
                "origin_worker": "mockaudit_mockcloud", "origin_type": "cloud",
                "target_key": "filestore", "target_class": "FileStore",
                "target_worker": "mockaudit_filestore", "target_type": "store",
            })
        );
    }

    let events = sb.read_json("mockaudit_mockevent.json");
    let data: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ext"]["data"].clone())
        .collect();
    assert_eq!(data, [0, 3, 6, 9]);
    let event = &events[1];
    assert_eq!(com(event, "description"), "3 is a multiple of 3.");
    assert_eq!(com(event, "origin_worker"), "mockaudit_mockevent");
    assert_eq!(com(event, "origin_type"), "event");
    assert_eq!(com(event, "target_type"), "alert");
    assert_eq!(com(event, "audit_version"), version);

    for role in ["store", "alert"] {
        let markers = sb.read_json(&format!("audit_markers/mockaudit_filestore_{role}.json"));
        let types: Vec<_> = markers
            .as_array()
            .unwrap()
            .iter()
            .map(|m| com(m, "record_type"))
            .collect();
        assert_eq!(types, ["begin_audit", "end_audit"], "{role} markers");
        assert_eq!(com(&markers[0], "target_type"), role);
    }
    let log = std::fs::read_to_string(sb.path().join("cloudmarker.log")).unwrap();
    assert!(
        log.contains("INFO mockaudit_mockcloud"),
        "log lines carry the worker:\n{log}"
    );
}

#[test]
fn two_audits_run_together_with_one_audit_version() {
    let sb = Sandbox::new();
    sb.file(
        "two.yaml",
        "plugins:\n  bigcloud:\n    plugin: mockcloud\n    params:\n      record_count: 1000\n\
         audits:\n  second:\n    clouds: [bigcloud]\n    stores: [filestore]\n    events: [mockevent]\n    alerts: [filestore]\n\
         run: [mockaudit, second]\n",
    );
    let run = sb.run_now(&["two.yaml"]);
    run.assert_status(0);
    run.assert_says(
        "Audit second finished: 1000 records read, 334 events, 1334 writes, 0 failures",
    );
    run.assert_says("Audit mockaudit finished: 10 records read, 4 events, 14 writes, 0 failures");
    let first = sb.read_json("mockaudit_mockcloud.json");
    let second = sb.read_json("second_bigcloud.json");
    assert_eq!(second.as_array().unwrap().len(), 1000);
    assert_eq!(
        com(&first[0], "audit_version"),
        com(&second[999], "audit_version")
    );
    assert_eq!(sb.record_count("second_mockevent.json"), 334);
}

#[test]
fn two_config_files_cascade_in_order() {
    let sb = Sandbox::new();
    sb.file("foo.yaml", "plugins:\n  mockcloud:\n    params:\n      record_count: 5\n      record_types: [x]\nrun: [mockaudit, other]\n");
    sb.file("bar.yaml", "plugins:\n  mockcloud:\n    params:\n      record_types: [apple, ball, cat]\nrun: [mockaudit]\n");
    let run = sb.run_now(&["foo.yaml", "bar.yaml"]);
    assert_eq!(
        run.status,
        Some(0),
        "lists are replaced, so `other` is gone: {}",
        run.output()
    );
    let records = sb.read_json("mockaudit_mockcloud.json");
    let types: Vec<_> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ext"]["record_type"].clone())
        .collect();
    assert_eq!(types, ["apple", "ball", "cat", "apple", "ball"]);
}

#[test]
fn default_cascade_reads_cloudmarker_yaml_in_the_working_directory() {
    let sb = Sandbox::new();
    let settings = std::fs::read_to_string(sb.path().join("sandbox.yaml")).unwrap();
    sb.file("cloudmarker.yaml", &format!("{settings}run: [mockaudit]\n"));
    sb.file(
        ".cloudmarker.yaml",
        "plugins:\n  mockcloud:\n    params:\n      record_count: 3\n",
    );
    let run = sb.run(&["-n"]);
    run.assert_status(0);
    run.assert_says("3 records read");
}

#[test]
fn plugins_load_from_paths_dirs_env_and_class_names() {
    let sb = Sandbox::new();
    let lib_dir = sb.dir("myplugins");
    std::fs::copy(plugin_lib("mockcloud"), lib_dir.join("libmycloud.so")).unwrap();
    std::fs::create_dir_all(sb.path().join("conf")).unwrap();
    sb.file(
        "conf/paths.yaml",
        "plugins:\n  relcloud:\n    plugin: ../myplugins/libmycloud.so\n    params: {record_count: 2}\n\
         \x20 classcloud:\n    plugin: cloudmarker.clouds.mockcloud.MockCloud\n    params: {record_count: 3}\n\
         \x20 envcloud:\n    plugin: mycloud\n    params: {record_count: 4}\n\
         audits:\n  paths:\n    clouds: [relcloud, classcloud, envcloud]\n    stores: [filestore]\nrun: [paths]\n",
    );
    let env_path = format!("/nonexistent:{}", lib_dir.display());
    let run = sb.run_with(
        &["-n", "-c", "sandbox.yaml", "conf/paths.yaml"],
        &[("CLOUDMARKER_PLUGIN_PATH", &env_path)],
    );
    run.assert_status(0);
    assert_eq!(sb.record_count("paths_relcloud.json"), 2);
    assert_eq!(sb.record_count("paths_classcloud.json"), 3);
    assert_eq!(sb.record_count("paths_envcloud.json"), 4);
}

#[test]
fn unknown_plugin_is_reported_and_the_rest_of_the_audit_runs() {
    let sb = Sandbox::new();
    sb.file(
        "cfg.yaml",
        "plugins:\n  nosuchstore:\n    plugin: nosuchstore\naudits:\n  mockaudit:\n    stores: [filestore, nosuchstore]\n",
    );
    let run = sb.run_now(&["cfg.yaml"]);
    run.assert_status(1);
    run.assert_says("Cannot start store worker mockaudit_nosuchstore, error: plugin \"nosuchstore\": plugin library \"nosuchstore\" not found; looked for ");
    run.assert_says(&format!(
        "{}/libnosuchstore.so",
        common::plugin_dir().display()
    ));
    run.assert_says("Audit mockaudit finished: 10 records read, 4 events, 14 writes, 1 failures");
    assert_eq!(sb.record_count("mockaudit_mockcloud.json"), 10);
}

#[test]
fn a_plugin_in_the_wrong_role_is_refused() {
    let sb = Sandbox::new();
    sb.file(
        "cfg.yaml",
        "audits:\n  mockaudit:\n    stores: [filestore, mockcloud]\n",
    );
    let run = sb.run_now(&["cfg.yaml"]);
    run.assert_status(1);
    run.assert_says("plugin \"mockcloud\" (mockcloud) is a cloud plugin, but audits.mockaudit.stores needs a store plugin");
}

#[test]
fn malformed_yaml_names_the_file_and_exits_2() {
    let sb = Sandbox::new();
    sb.file(
        "bad.yaml",
        "plugins:\n  mockcloud:\n    params: {record_count: 5\nrun: [mockaudit]\n",
    );
    let run = sb.run_now(&["bad.yaml"]);
    run.assert_status(2);
    run.assert_says(
        "cloudmarker: error: bad.yaml: did not find expected ',' or '}' at line 4 column 4",
    );
    assert!(!sb.out().exists(), "nothing ran");
}

#[test]
fn bad_params_name_the_plugin_and_the_field() {
    let sb = Sandbox::new();
    sb.file(
        "cfg.yaml",
        "plugins:\n  mockcloud:\n    params:\n      record_cont: 5\n",
    );
    // Checked against the plugin's schema before anything runs.
    let run = sb.run_now(&["cfg.yaml"]);
    run.assert_status(2);
    run.assert_says("cfg.yaml:4: plugins.mockcloud.params.record_cont: unknown param (did you mean `record_count`?)");
    assert!(!sb.out().exists(), "no audit ran");
    let run = sb.run(&["validate", "-c", "sandbox.yaml", "cfg.yaml"]);
    run.assert_status(2);
    run.assert_says("cfg.yaml:4: plugins.mockcloud.params.record_cont: unknown param");
    let run = sb.run(&["validate", "-c", "sandbox.yaml"]);
    run.assert_status(0);
    run.assert_says("The configuration is valid");
}

#[test]
fn wrong_types_and_unknown_audits_are_config_errors() {
    let sb = Sandbox::new();
    sb.file("cfg.yaml", "run: [mockaudit, nosuch]\n");
    let run = sb.run_now(&["cfg.yaml"]);
    run.assert_status(2);
    run.assert_says("cloudmarker: error: cfg.yaml:1: run: lists audit \"nosuch\", which is not defined under audits (defined: mockaudit)");

    sb.file("types.yaml", "audits:\n  mockaudit:\n    clouds: 7\n");
    let run = sb.run_now(&["types.yaml"]);
    run.assert_status(2);
    run.assert_says(
        "types.yaml:3: audits.mockaudit.clouds: invalid type: integer `7`, expected a sequence",
    );
}

#[test]
fn empty_config_file_is_fine_and_missing_c_file_warns() {
    let sb = Sandbox::new();
    sb.file("empty.yaml", "");
    let run = sb.run_now(&["empty.yaml", "missing.yaml"]);
    run.assert_status(0);
    run.assert_says(
        "WARN main cloudmarker - Config file missing.yaml does not exist; skipping it.",
    );
}

#[test]
fn print_base_config_and_help() {
    let sb = Sandbox::new();
    let run = sb.run(&["-p"]);
    assert_eq!(run.status, Some(0));
    assert!(
        run.stdout
            .contains("  mockaudit:\n    clouds:\n      - mockcloud"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("schedule: \"00:00\""));
    let run = sb.run(&["--help"]);
    assert_eq!(run.status, Some(0));
    run.assert_says(
        "/etc/cloudmarker.yaml, ~/.cloudmarker.yaml, ~/cloudmarker.yaml, ./cloudmarker.yaml",
    );
    let run = sb.run(&["-v"]);
    run.assert_status(0);
    assert_eq!(
        run.stdout.trim(),
        format!("cloudmarker {}", env!("CARGO_PKG_VERSION")),
        "-v is --version, as in the original"
    );
    let run = sb.run(&["-V"]);
    assert_eq!(
        run.stdout.trim(),
        format!("cloudmarker {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_killed_run_leaves_the_previous_output_untouched() {
    let sb = Sandbox::new();
    assert_eq!(sb.run_now(&[]).status, Some(0));
    let before = std::fs::read_to_string(sb.out().join("mockaudit_mockcloud.json")).unwrap();
    sb.file(
        "slow.yaml",
        "plugins:\n  mockcloud:\n    params: {record_count: 100000, delay_ms: 100}\n",
    );
    let mut child = sb.spawn(&["-n", "-c", "sandbox.yaml", "slow.yaml"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let tmp = loop {
        if let Some(tmp) = sb.temporary("mockaudit_mockcloud") {
            break tmp;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let after = std::fs::read_to_string(sb.out().join("mockaudit_mockcloud.json")).unwrap();
    assert_eq!(before, after);
    assert!(tmp.exists(), "the partial output stays a .tmp file");

    // The next run clears the killed run's leftovers.
    let run = sb.run_now(&[]);
    run.assert_status(0);
    assert!(!tmp.exists(), "the stale temporary file was removed");
    assert_eq!(sb.temporary("mockaudit_mockcloud"), None);
    run.assert_says("temporary file(s) of earlier runs from");
}

#[test]
fn c_without_files_means_the_base_config_only() {
    let sb = Sandbox::new();
    // A cloudmarker.yaml that would break the run if it were read.
    sb.file("cloudmarker.yaml", "run: [nosuchaudit]\n");
    let run = sb.run(&["-p"]);
    assert_eq!(run.status, Some(0));
    let run = sb.run_with(&["-n", "-c"], &[]);
    // The base config writes to /tmp/cloudmarker; only check that the
    // cascade skipped ./cloudmarker.yaml and the audit ran.
    run.assert_status(0);
    run.assert_says("Config files merged over the base config: none.");
    run.assert_says("Audit mockaudit finished: 10 records read");
}

#[test]
fn every_test_file_is_registered() {
    // Integration tests live outside the host crate, so cargo does not find
    // them by itself: each must have a [[test]] entry, or it never runs.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("../tests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_name().unwrap().to_str().unwrap();
            if !manifest.contains(&format!("path = \"../tests/{name}\"")) {
                missing.push(name.to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "tests/{missing:?} not registered as [[test]] in host/Cargo.toml"
    );
}

#[test]
fn loaded_libraries_and_slow_calls_are_logged() {
    let sb = Sandbox::new();
    let run = sb.run_config(
        "slow.yaml",
        "plugins:\n  mockcloud:\n    params: {record_count: 3, delay_ms: 1600}\n",
        &[("CLOUDMARKER_SLOW_CALL_SECONDS", "0.5")],
    );
    run.assert_status(0);
    run.assert_says(&format!(
        "Loaded plugin mockcloud {} (plugin-api {}) from {}",
        env!("CARGO_PKG_VERSION"),
        cloudmarker_plugin_api::API_VERSION,
        plugin_lib("mockcloud").display()
    ));
    run.assert_says("WARN watchdog cloudmarker::audit::watchdog - mockaudit_mockcloud: still in read after 1 s.");
}

#[test]
fn an_installed_host_finds_its_plugins_under_the_prefix() {
    // The layout deploy/install.sh makes, for `just install PREFIX` and the
    // Containerfile: PREFIX/bin/cloudmarker, PREFIX/lib/cloudmarker/plugins/.
    let sb = Sandbox::new();
    let prefix = sb.path().join("prefix");
    // A build directory like target/release: the host and the plugin
    // libraries side by side (a test build keeps the plugins elsewhere).
    let build = sb.dir("build");
    std::fs::copy(common::binary(), build.join("cloudmarker")).unwrap();
    // Every bundled plugin library, and the test fixtures' libraries that a
    // real target/release holds beside them.
    let bundled = bundled_libraries();
    let fixtures = ["faultycloud", "faultysink", "jsoncloud", "plainlib"];
    for name in bundled.iter().map(String::as_str).chain(fixtures) {
        let lib = plugin_lib(name);
        std::fs::copy(&lib, build.join(lib.file_name().unwrap())).unwrap();
    }
    let plugins = prefix.join("lib/cloudmarker/plugins");
    common::install(&prefix, &build);
    for file in [
        "share/man/man1/cloudmarker.1",
        "share/bash-completion/completions/cloudmarker",
    ] {
        assert!(prefix.join(file).is_file(), "{file}");
    }
    let mut installed: Vec<String> = std::fs::read_dir(&plugins)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    installed.sort();
    let mut expected: Vec<String> = bundled
        .iter()
        .map(|name| {
            plugin_lib(name)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    expected.sort();
    assert_eq!(installed, expected, "the bundled plugins and nothing else");
    let listed = std::process::Command::new(prefix.join("bin/cloudmarker"))
        .args(["plugins", "list"])
        .env("HOME", sb.path())
        .env_remove("CLOUDMARKER_PLUGIN_PATH")
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("azvmosdiskencryptionevent"), "{listed}");
    for fixture in fixtures {
        assert!(!listed.contains(fixture), "{fixture} installed: {listed}");
    }
    assert!(!listed.contains("not a plugin"), "{listed}");
    let output = std::process::Command::new(prefix.join("bin/cloudmarker"))
        .args(["-n", "-c", "sandbox.yaml"])
        .current_dir(sb.path())
        .env("HOME", sb.path())
        .env_remove("CLOUDMARKER_PLUGIN_PATH")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "Loaded plugin mockcloud {} (plugin-api {}) from {}",
            env!("CARGO_PKG_VERSION"),
            cloudmarker_plugin_api::API_VERSION,
            plugins
                .join("libmockcloud.so")
                .canonicalize()
                .unwrap()
                .display()
        )),
        "{text}"
    );
    assert_eq!(sb.record_count("mockaudit_mockcloud.json"), 10);
    // The image and `just install` use that script, into the same layout.
    let root = common::python::root();
    let containerfile = std::fs::read_to_string(root.join("Containerfile")).unwrap();
    for line in [
        "./deploy/install.sh /out/usr target/release",
        "COPY --from=build /out/usr/ /usr/",
        "USER 65532:65532",
        "ENTRYPOINT [\"/usr/bin/cloudmarker\"]",
    ] {
        assert!(containerfile.contains(line), "Containerfile: {line}");
    }
    let justfile = std::fs::read_to_string(root.join("justfile")).unwrap();
    assert!(justfile.contains("./deploy/install.sh {{prefix}} target/release"));
}

#[test]
fn the_bundled_plugins_table_in_the_docs_is_the_one_the_plugins_generate() {
    // A directory like an install: the host and the bundled plugin
    // libraries alone (the test build keeps fixtures beside them).
    let sb = Sandbox::new();
    let dir = sb.dir("bin");
    std::fs::copy(common::binary(), dir.join("cloudmarker")).unwrap();
    for name in bundled_libraries() {
        let lib = plugin_lib(&name);
        std::fs::copy(&lib, dir.join(lib.file_name().unwrap())).unwrap();
    }
    let output = std::process::Command::new(dir.join("cloudmarker"))
        .args(["plugins", "list", "--format", "markdown"])
        .env("HOME", sb.path())
        .env_remove("CLOUDMARKER_PLUGIN_PATH")
        .output()
        .unwrap();
    assert!(output.status.success());
    let generated = String::from_utf8(output.stdout).unwrap();
    let docs = std::fs::read_to_string(common::python::root().join("docs/plugins.md")).unwrap();
    let (begin, end) = ("<!-- plugins:begin -->\n", "<!-- plugins:end -->");
    let start = docs.find(begin).expect("docs/plugins.md: the begin marker") + begin.len();
    let stop = docs.find(end).expect("docs/plugins.md: the end marker");
    assert!(
        docs[start..stop] == generated,
        "docs/plugins.md's table differs from what the plugins say; regenerate it with \
         `cargo build --release && ./target/release/cloudmarker plugins list --format markdown` \
         (in a tree without the test fixtures' libraries) and paste it between the markers. \
         Generated:\n{generated}"
    );
}

/// The library names of the bundled plugins: the `[lib] name` of each
/// `plugins/*/Cargo.toml`, as deploy/install.sh reads them.
fn bundled_libraries() -> Vec<String> {
    let plugins = common::python::root().join("plugins");
    let mut names: Vec<String> = std::fs::read_dir(plugins)
        .unwrap()
        .filter_map(|entry| {
            let manifest = std::fs::read_to_string(entry.ok()?.path().join("Cargo.toml")).ok()?;
            let lib = manifest.split("[lib]").nth(1)?;
            let line = lib.lines().find(|l| l.trim_start().starts_with("name"))?;
            Some(line.split('"').nth(1)?.to_string())
        })
        .collect();
    names.sort();
    assert!(names.len() > 15, "bundled plugin libraries: {names:?}");
    names
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line_definition() {
    let sb = Sandbox::new();
    let run = sb.run(&["completions", "bash"]);
    run.assert_status(0);
    assert!(
        run.stdout.contains("_cloudmarker()") && run.stdout.contains("--allow-insecure-plugins")
    );
    let run = sb.run(&["man"]);
    run.assert_status(0);
    assert!(
        run.stdout.contains(".TH cloudmarker 1") && run.stdout.contains("plugin\\-dir"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_run_on_a_terminal_shows_progress_and_ends_with_a_summary_table() {
    let sb = Sandbox::new();
    // `script` gives cloudmarker a terminal as its stdout.
    let command = |extra: &str| {
        format!(
            "{} --plugin-dir {} -n {extra} -c sandbox.yaml",
            common::binary(),
            common::plugin_dir().display()
        )
    };
    let on_terminal = |extra: &str| {
        let output = std::process::Command::new("script")
            .args(["-qec", &command(extra), "/dev/null"])
            .current_dir(sb.path())
            .env("HOME", sb.path())
            .output()
            .expect("run script");
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).replace('\r', "")
    };
    let text = on_terminal("");
    assert!(
        text.contains("audit      plugin     role   records  writes  failures  lost  seconds"),
        "{text}"
    );
    assert!(
        text.contains("mockaudit  mockcloud  cloud       10       0         0     0"),
        "{text}"
    );
    assert!(
        text.contains("           filestore  store        0      10         0     0"),
        "{text}"
    );
    // The live progress line, drawn last with the final counts.
    assert!(
        text.contains("mockaudit: 10 read, 14 written, 4 events, 0 failures"),
        "{text}"
    );
    let quiet = on_terminal("--quiet");
    assert!(!quiet.contains("audit      plugin"), "{quiet}");
    assert!(!quiet.contains("mockaudit: 0 read"), "{quiet}");
    // Not on a terminal (as in every other test): no table.
    let run = sb.run_now(&[]);
    assert!(!run.stdout.contains("audit      plugin"), "{}", run.stdout);
    assert!(!run.stdout.contains("mockaudit: 0 read"), "{}", run.stdout);
}

#[test]
fn records_name_the_upstream_class_of_plugins_configured_by_class() {
    let sb = Sandbox::new();
    sb.file(
        "upstream.yaml",
        "plugins:\n  mockcloud:\n    plugin: cloudmarker.clouds.mockcloud.MockCloud\n  filestore:\n    plugin: cloudmarker.stores.filestore.FileStore\n    params: {path: out}\n",
    );
    let run = sb.run_now(&["upstream.yaml"]);
    run.assert_status(0);
    let records = sb.read_json("mockaudit_mockcloud.json");
    let com = &records[0]["com"];
    assert_eq!(com["origin_class"], "MockCloud", "{com}");
    assert_eq!(com["target_class"], "FileStore", "{com}");
    // Configured by bare name, the plugin's declared upstream class.
    let events = sb.read_json("mockaudit_mockevent.json");
    assert_eq!(events[0]["com"]["origin_class"], "MockEvent");
}
