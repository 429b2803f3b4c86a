//! Broken plugins: each gives a clear error, the run still ends, and the
//! exit status says a plugin failed.

mod common;

use common::{plugin_lib, Sandbox};

/// Runs the mock audit with one extra store or cloud configured by `yaml`.
fn run_with_plugin(sb: &Sandbox, yaml: &str) -> common::Run {
    sb.file("faulty.yaml", yaml);
    let run = sb.run_now(&["faulty.yaml"]);
    assert_eq!(
        run.status,
        Some(1),
        "a failed plugin makes the exit status 1:\n{}",
        run.output()
    );
    run
}

fn extra_store(params: &str) -> String {
    format!("plugins:\n  bad:\n    plugin: faultysink\n    params: {params}\naudits:\n  mockaudit:\n    stores: [filestore, bad]\n")
}

fn extra_cloud(params: &str) -> String {
    format!("plugins:\n  bad:\n    plugin: faultycloud\n    params: {params}\naudits:\n  mockaudit:\n    clouds: [mockcloud, bad]\n")
}

/// The healthy plugins of the mock audit did all their work.
fn assert_mock_audit_complete(sb: &Sandbox) {
    assert_eq!(sb.record_count("mockaudit_mockcloud.json"), 10);
    assert_eq!(sb.record_count("mockaudit_mockevent.json"), 4);
}

#[test]
fn panics_in_a_store_are_contained() {
    for method in ["write", "done", "new"] {
        let sb = Sandbox::new();
        let run = run_with_plugin(&sb, &extra_store(&format!("{{panic_in: {method}}}")));
        run.assert_says(&format!(
            "ERROR mockaudit_bad cloudmarker::audit::workers - Store plugin failed in {}, error: plugin faultysink panicked in {method}: faultysink was told to panic in {method} (at ",
            if method == "new" { "construct" } else { method }
        ));
        run.assert_says("Audit mockaudit finished: 10 records read, 4 events, ");
        run.assert_says(" writes, 1 failures in ");
        assert_mock_audit_complete(&sb);
    }
}

#[test]
fn a_panic_while_dropping_a_plugin_is_contained() {
    let sb = Sandbox::new();
    sb.file("faulty.yaml", &extra_store("{panic_in: drop}"));
    let run = sb.run_now(&["faulty.yaml"]);
    run.assert_says(
        "plugin faultysink panicked in drop: faultysink was told to panic in drop (at ",
    );
    assert_eq!(run.status, Some(1), "a counted failure: {}", run.output());
    run.assert_says(" writes, 1 failures");
    assert_mock_audit_complete(&sb);
}

#[test]
fn panics_in_a_cloud_are_contained() {
    for method in ["read", "done"] {
        let sb = Sandbox::new();
        let run = run_with_plugin(
            &sb,
            &extra_cloud(&format!("{{records: 3, panic_in: {method}}}")),
        );
        run.assert_says(&format!(
            "plugin faultycloud panicked in {method}: faultycloud was told to panic in {method}"
        ));
        run.assert_says(
            "Audit mockaudit finished: 13 records read, 5 events, 18 writes, 1 failures",
        );
        // The failed cloud's output counts as incomplete: it stays .tmp.
        assert!(!sb.out().join("mockaudit_bad.json").exists());
        let tmp = sb
            .temporary("mockaudit_bad")
            .expect("the failed cloud's temporary file");
        let tmp = std::fs::read_to_string(tmp).unwrap();
        assert_eq!(
            tmp.matches("\"origin_worker\":\"mockaudit_bad\"").count(),
            3,
            "{tmp}"
        );
        run.assert_says("this output is incomplete, so it stays in ");
        assert_eq!(sb.record_count("mockaudit_mockcloud.json"), 10);
    }
}

#[test]
fn errors_in_plugins_are_reported_with_the_worker() {
    let sb = Sandbox::new();
    let run = run_with_plugin(&sb, &extra_store("{fail_in: write}"));
    run.assert_says("ERROR mockaudit_bad cloudmarker::audit::workers - Store plugin failed in write, error: faultysink was told to fail in write");
    assert_mock_audit_complete(&sb);

    let sb = Sandbox::new();
    let run = run_with_plugin(&sb, &extra_cloud("{fail_in: new}"));
    run.assert_says("Cloud plugin failed in construct, error: faultycloud was told to fail in new");
    assert_mock_audit_complete(&sb);
}

#[test]
fn a_file_that_is_not_a_library_is_refused() {
    let sb = Sandbox::new();
    sb.file("libtext.so", "this is not a shared library\n");
    let run = run_with_plugin(
        &sb,
        &extra_store("{}").replace("faultysink", "./libtext.so"),
    );
    run.assert_says("plugin \"bad\": cannot load ");
    run.assert_says("libtext.so: not a loadable shared library");
    assert_mock_audit_complete(&sb);
}

#[test]
fn a_library_that_is_not_a_plugin_is_refused() {
    let sb = Sandbox::new();
    let lib = plugin_lib("plainlib");
    let run = run_with_plugin(
        &sb,
        &extra_store("{}").replace("faultysink", lib.to_str().unwrap()),
    );
    run.assert_says(&format!(
        "plugin \"bad\": cannot load {}: not a cloudmarker plugin: it exports no abi_stable root module",
        lib.display()
    ));
    assert_mock_audit_complete(&sb);
}

#[test]
fn a_library_is_probed_in_a_child_process_and_never_loaded_into_the_host_when_refused() {
    let sb = Sandbox::new();
    let lib = plugin_lib("plainlib");
    let record = sb.path().join("loaded-by.txt");
    sb.file(
        "faulty.yaml",
        &extra_store("{}").replace("faultysink", lib.to_str().unwrap()),
    );
    let env = format!("record:{}", record.display());
    let mut host = sb.spawn_with(
        &["-n", "-c", "sandbox.yaml", "faulty.yaml"],
        &[("PLAINLIB_ON_LOAD", &env)],
    );
    assert_eq!(common::exit_within(&mut host, 60), Some(1));
    let loaders: Vec<u32> = std::fs::read_to_string(&record)
        .expect("the probe loaded the library")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(loaders.len(), 1, "loaded once, by the probe: {loaders:?}");
    assert_ne!(loaders[0], host.id(), "never inside the host");
    assert_mock_audit_complete(&sb);
}

#[test]
fn a_library_that_crashes_while_loading_cannot_kill_the_host() {
    for (action, signal) in [
        ("abort", "signal 6, SIGABRT"),
        ("segv", "signal 11, SIGSEGV"),
    ] {
        let sb = Sandbox::new();
        let lib = plugin_lib("plainlib");
        let run = sb.run_config(
            "faulty.yaml",
            &extra_store("{}").replace("faultysink", lib.to_str().unwrap()),
            &[("PLAINLIB_ON_LOAD", action)],
        );
        run.assert_status(1);
        run.assert_says(&format!(
            "plugin \"bad\": cannot load {}: it crashed while being loaded ({signal}",
            lib.display()
        ));
        run.assert_says("in a child process; not loaded");
        run.assert_says("Audit mockaudit finished: 10 records read, 4 events, ");
        assert_mock_audit_complete(&sb);
    }
}

#[test]
fn a_crashed_library_is_remembered_until_its_file_changes() {
    let sb = Sandbox::new();
    let dir = sb.dir("plugins");
    let lib = dir.join("libplainlib.so");
    std::fs::copy(plugin_lib("plainlib"), &lib).unwrap();
    let dir_arg = dir.display().to_string();
    let status = |env: &[(&str, &str)]| {
        let entries = listed_json(&sb, &[&dir_arg], env);
        let entry = entries
            .iter()
            .find(|e| e["path"] == lib.display().to_string())
            .cloned();
        entry.unwrap_or_else(|| panic!("not listed: {entries:#?}"))["status"].clone()
    };
    assert_eq!(status(&[("PLAINLIB_ON_LOAD", "abort")]), "crashed");
    // Not probed again: the registry cache remembers the crash.
    assert_eq!(status(&[]), "crashed");
    let cache = sb.path().join(".cache/cloudmarker/registry.json");
    assert!(cache.is_file());
    // A changed file is probed again (and this time it does not crash).
    std::fs::copy(plugin_lib("plainlib"), dir.join("copy.tmp")).unwrap();
    std::fs::rename(dir.join("copy.tmp"), &lib).unwrap();
    assert_eq!(status(&[]), "not a plugin");

    // A corrupt cache is rebuilt, an unwritable one bypassed.
    std::fs::write(&cache, "{ corrupt").unwrap();
    assert_eq!(status(&[]), "not a plugin");
    assert!(
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&cache).unwrap())
            .is_ok()
    );
    std::fs::remove_dir_all(sb.path().join(".cache")).unwrap();
    std::fs::write(
        sb.path().join(".cache"),
        "a file where the cache directory would be",
    )
    .unwrap();
    assert_eq!(status(&[]), "not a plugin");
    let run = sb.run_now(&[]);
    run.assert_status(0);
}

#[test]
fn plugins_list_shows_every_library_with_its_status() {
    let sb = Sandbox::new();
    let first = sb.dir("first");
    let shared = sb.dir("shared");
    // The bundled mockcloud, first on the path (the sandbox's own
    // --plugin-dir comes first), shadows a copy later on it.
    std::fs::copy(plugin_lib("mockcloud"), first.join("libmockcloud.so")).unwrap();
    std::fs::copy(plugin_lib("filestore"), shared.join("libsharedstore.so")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let first_arg = first.display().to_string();
    let shared_arg = shared.display().to_string();
    let bundled_arg = common::plugin_dir().display().to_string();
    let entries = listed_json(
        &sb,
        &[&bundled_arg, &first_arg, &shared_arg],
        &[("PLAINLIB_ON_LOAD", "abort")],
    );
    let status_of = |path: &std::path::Path| {
        entries
            .iter()
            .find(|e| e["path"] == path.display().to_string())
            .map(|e| (e["name"].clone(), e["status"].clone()))
            .unwrap_or_else(|| panic!("{} not listed: {entries:#?}", path.display()))
    };
    assert_eq!(
        status_of(&first.join("libmockcloud.so")),
        ("mockcloud".into(), "shadowed".into())
    );
    let bundled = |file: &str| {
        entries
            .iter()
            .find(|e| {
                e["path"].as_str().unwrap().ends_with(&format!("/{file}"))
                    && !e["path"].as_str().unwrap().starts_with(&first_arg)
            })
            .unwrap_or_else(|| panic!("{file} not listed: {entries:#?}"))
            .clone()
    };
    assert_eq!(bundled("libmockcloud.so")["status"], "ok");
    assert_eq!(status_of(&shared.join("libsharedstore.so")).1, "insecure");
    assert_eq!(status_of(&plugin_lib("plainlib")).1, "crashed");
    let filestore = entries.iter().find(|e| e["name"] == "filestore").unwrap();
    assert_eq!(filestore["kinds"], serde_json::json!(["store", "alert"]));
    assert_eq!(
        filestore["api_version"],
        cloudmarker_plugin_api::API_VERSION
    );
    for key in ["name", "kinds", "version", "api_version", "path", "status"] {
        assert!(filestore.get(key).is_some(), "{key}");
    }
}

#[test]
fn plugins_inspect_describes_params_and_a_config_to_paste() {
    let sb = Sandbox::new();
    let run = sb.run(&[
        "plugins",
        "inspect",
        "cloudmarker.clouds.mockcloud.MockCloud",
    ]);
    run.assert_status(0);
    for text in [
        "mockcloud 0.1.0: Generates numbered mock records",
        "kinds:      cloud",
        "class:      MockCloud",
        "  record_count  integer  10",
        "example config:\nplugins:\n  mockcloud:\n    plugin: mockcloud\n    params:\n      record_count: 10",
    ] {
        run.assert_says(text);
    }
    let run = sb.run(&["plugins", "inspect", "nosuchplugin"]);
    run.assert_status(1);
    run.assert_says("plugin library \"nosuchplugin\" not found");
}

#[test]
fn every_bundled_plugin_documents_every_param_and_marks_its_secrets() {
    // The plugins with secret params, and which; every other bundled plugin
    // must mark none.
    let secrets: std::collections::BTreeMap<&str, Vec<&str>> = [
        ("azcloud", vec!["secret", "certificate_password"]),
        ("awscloud", vec!["external_id"]),
        ("emailalert", vec!["password"]),
        ("slackalert", vec!["bot_user_token", "webhook_url"]),
        ("splunkhecstore", vec!["token"]),
        ("esstore", vec!["password", "api_key"]),
        ("mongodbstore", vec!["password", "uri"]),
    ]
    .into_iter()
    .collect();
    // Every bundled plugin: the rows of docs/plugins.md's generated table
    // (tests/e2e.rs checks that it lists exactly the plugins built).
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/plugins.md"),
    )
    .unwrap();
    let bundled: Vec<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("| [`"))
        .filter_map(|l| l.split('`').next())
        .collect();
    assert!(bundled.len() > 20, "{bundled:?}");
    let sb = Sandbox::new();
    for plugin in bundled {
        let run = sb.run(&["plugins", "inspect", plugin]);
        assert_eq!(run.status, Some(0), "{plugin}: {}", run.output());
        let table: Vec<&str> = run
            .stdout
            .lines()
            .skip_while(|l| *l != "params:")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect();
        let header = table[0];
        if header.trim() == "(none)" {
            continue;
        }
        let doc_at = header.find("doc").expect("a doc column");
        let secret_at = header.find("secret").unwrap();
        let mut marked = Vec::new();
        for row in &table[1..] {
            let name = row.split_whitespace().next().unwrap();
            assert!(
                row.len() > doc_at + 3,
                "{plugin}: param {name} has no doc: {row:?}"
            );
            if row[secret_at..].starts_with("yes") {
                marked.push(name);
            }
        }
        // azvm and the other Azure cloud plugins take azcloud's params.
        let expected = secrets
            .get(plugin)
            .or_else(|| {
                (plugin.starts_with("az") && !plugin.ends_with("event"))
                    .then(|| &secrets["azcloud"])
            })
            .cloned()
            .unwrap_or_default();
        assert_eq!(marked, expected, "{plugin}: secret params");
    }
}

/// The entries of `plugins list --format json` with `dirs` as
/// `--plugin-dir`s, in order (the run must succeed).
fn listed_json(sb: &Sandbox, dirs: &[&str], env: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let mut args = vec!["plugins", "list", "--format", "json"];
    for dir in dirs {
        args.extend(["--plugin-dir", dir]);
    }
    let run = sb.run_with(&args, env);
    run.assert_status(0);
    serde_json::from_str(&run.stdout).unwrap()
}
