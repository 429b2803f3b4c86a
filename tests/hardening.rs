//! Hostile and careless inputs: planted files, concurrent runs, file modes,
//! oversized configs, typos, secrets in messages, unsafe plugin paths.

mod common;

use common::{plugin_lib, Sandbox};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn an_unknown_top_level_key_is_a_config_error_and_nothing_runs() {
    let sb = Sandbox::new();
    let run = sb.run_config(
        "typo.yaml",
        "audit:\n  mine:\n    clouds: [mockcloud]\n",
        &[],
    );
    run.assert_status(2);
    run.assert_says("typo.yaml:1: audit: unknown key (did you mean `audits`?)");
    assert!(!sb.out().exists(), "no audit ran");
}

#[test]
fn oversized_and_deeply_nested_configs_are_refused_before_parsing() {
    let sb = Sandbox::new();
    let depth = 100_000;
    let run = sb.run_config(
        "deep.yaml",
        &format!("run: {}{}\n", "[".repeat(depth), "]".repeat(depth)),
        &[],
    );
    run.assert_status(2);
    run.assert_says(&format!(
        "deep.yaml: mappings and lists nest {} levels deep; at most 64 are allowed",
        depth + 1
    ));

    let big = sb.path().join("big.yaml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(17 * 1024 * 1024)
        .unwrap();
    let run = sb.run(&["-n", "-c", "sandbox.yaml", "big.yaml"]);
    run.assert_status(2);
    run.assert_says("big.yaml: the file is larger than 16 MiB");
    assert!(!sb.out().exists(), "no audit ran");
}

#[test]
fn numeric_secrets_are_never_echoed() {
    let sb = Sandbox::new();
    let run = sb.run_config(
        "email.yaml",
        "email:\n  host: localhost\n  from_addr: a@example.com\n  to_addrs: [b@example.com]\n  username: u\n  password: 5331337\n",
        &[],
    );
    run.assert_status(2);
    run.assert_says("value not shown: it is a secret");
    assert!(!run.output().contains("5331337"), "{}", run.output());

    let run = sb.run_config(
        "slack.yaml",
        "plugins:\n  slack:\n    plugin: slackalert\n    params:\n      webhook_url: http://127.0.0.1:9/hook\n      bot_user_token: 5331337\naudits:\n  mockaudit:\n    alerts: [slack]\n",
        &[],
    );
    run.assert_status(2);
    run.assert_says(
        "slack.yaml:6: plugins.slack.params.bot_user_token: must be string or null, not an integer",
    );
    assert!(!run.output().contains("5331337"), "{}", run.output());
    assert!(!sb.log().contains("5331337"), "{}", sb.log());
}

#[test]
fn two_runs_on_one_output_directory_do_not_mix() {
    let sb = Sandbox::new();
    sb.file(
        "slow.yaml",
        "plugins:\n  mockcloud:\n    params: {record_count: 1000, delay_ms: 600}\n",
    );
    let mut first = sb.spawn(&["-n", "-c", "sandbox.yaml", "slow.yaml"]);
    sb.wait_for("the first run to start writing", 60, |sb| {
        sb.temporary("mockaudit_mockcloud").is_some()
    });
    let second = sb.run(&["-n", "-c", "sandbox.yaml"]);
    assert_eq!(second.status, Some(1), "{}", second.output());
    second.assert_says(&format!(
        "the output directory {} is in use by another cloudmarker run (process {}",
        sb.out().display(),
        first.id()
    ));
    assert_eq!(common::exit_within(&mut first, 60), Some(0));

    let records = sb.read_json("mockaudit_mockcloud.json");
    assert_eq!(records.as_array().unwrap().len(), 1000, "one run's records");
    let history = sb.history();
    assert_eq!(history.len(), 2);
    assert_ne!(
        history[0]["audit_version"], history[1]["audit_version"],
        "each run has its own audit version"
    );
    let statuses: Vec<_> = history.iter().map(|h| h["status"].clone()).collect();
    assert!(statuses.contains(&1.into()) && statuses.contains(&0.into()));
}

#[test]
fn runs_in_the_same_second_get_distinct_audit_versions() {
    let sb = Sandbox::new();
    let versions: Vec<String> = (0..3)
        .map(|_| {
            let run = sb.run_now(&[]);
            run.assert_status(0);
            let records = sb.read_json("mockaudit_mockcloud.json");
            records[0]["com"]["audit_version"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let unique: std::collections::HashSet<_> = versions.iter().collect();
    assert_eq!(unique.len(), 3, "{versions:?}");
    for version in &versions {
        assert!(
            version.starts_with("20") && version.len() >= 15,
            "{version}"
        );
    }
}

#[test]
fn outputs_log_and_history_are_private_whatever_the_umask() {
    let sb = Sandbox::new();
    let run = sb.run_with_umask(0, &["-n", "-c", "sandbox.yaml"]);
    run.assert_status(0);
    assert_eq!(mode(&sb.out()), 0o700);
    assert_eq!(mode(&sb.out().join("audit_markers")), 0o700);
    for file in [
        sb.out().join("mockaudit_mockcloud.json"),
        sb.out().join("mockaudit_mockevent.json"),
        sb.out()
            .join("audit_markers/mockaudit_filestore_store.json"),
        sb.log_path(),
        sb.history_path(),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn an_output_directory_others_can_write_is_refused() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.out()).unwrap();
    std::fs::set_permissions(sb.out(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let victim = sb.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, sb.out().join("mockaudit_mockcloud.tmp")).unwrap();
    let run = sb.run_now(&[]);
    run.assert_status(1);
    run.assert_says(&format!(
        "{} is writable by others (mode 777); run `chmod go-w {}`",
        sb.out().display(),
        sb.out().display()
    ));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

#[test]
fn relative_and_empty_plugin_path_entries_are_ignored() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path().join("planted")).unwrap();
    std::fs::copy(
        plugin_lib("mockcloud"),
        sb.path().join("planted/libplanted.so"),
    )
    .unwrap();
    let run = sb.run_config(
        "planted.yaml",
        "plugins:\n  planted:\n    plugin: planted\naudits:\n  mockaudit:\n    clouds: [planted]\n",
        &[("CLOUDMARKER_PLUGIN_PATH", "planted::/nonexistent")],
    );
    run.assert_status(1);
    run.assert_says("CLOUDMARKER_PLUGIN_PATH: ignoring the relative entry \"planted\"");
    run.assert_says("CLOUDMARKER_PLUGIN_PATH: ignoring an empty entry");
    run.assert_says("plugin \"planted\": plugin library \"planted\" not found");
}

#[test]
fn a_corrupt_history_line_never_stops_history_or_a_run() {
    let sb = Sandbox::new();
    assert_eq!(sb.run_now(&[]).status, Some(0));
    let mut history = std::fs::read(sb.history_path()).unwrap();
    history.extend_from_slice(b"\xff\xfe not UTF-8\n{\"half\": \n");
    std::fs::write(sb.history_path(), history).unwrap();
    assert_eq!(sb.run_now(&[]).status, Some(0));
    let run = sb.run(&["history", "-c", "sandbox.yaml"]);
    run.assert_status(0);
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    run.assert_says("skipped 2 unreadable line(s)");
}

#[test]
fn a_history_that_cannot_be_written_never_stops_a_run() {
    let sb = Sandbox::new();
    let blocked = sb.path().join("not-a-dir");
    std::fs::write(&blocked, "").unwrap();
    sb.file(
        "history.yaml",
        &format!(
            "history:\n  path: {}\n",
            blocked.join("history.jsonl").display()
        ),
    );
    let run = sb.run_now(&["history.yaml"]);
    run.assert_status(0);
    run.assert_says("Cannot append to the run history");
    assert_eq!(sb.record_count("mockaudit_mockcloud.json"), 10);
}

#[test]
fn environment_variables_fill_config_values_and_secrets_stay_hidden() {
    let sb = Sandbox::new();
    let run = sb.run_config(
        "env.yaml",
        "plugins:\n  mockcloud:\n    params:\n      record_types: [\"${CM_TEST_TYPE}\", \"${CM_TEST_UNSET:-fallback}\", \"cost $$5\"]\n",
        &[("CM_TEST_TYPE", "from_env")],
    );
    run.assert_status(0);
    let records = sb.read_json("mockaudit_mockcloud.json");
    let types: Vec<&str> = records
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|r| r["ext"]["record_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["from_env", "fallback", "cost $5"]);

    let run = sb.run_config(
        "missing.yaml",
        "plugins:\n  mockcloud:\n    params:\n      record_types: [\"${CM_TEST_NOPE}\"]\n",
        &[],
    );
    run.assert_status(2);
    run.assert_says("missing.yaml:4: plugins.mockcloud.params.record_types.0: the environment variable CM_TEST_NOPE is not set");

    // A secret from the environment is redacted like one written in the file.
    let run = sb.run_config(
        "slack.yaml",
        "plugins:\n  slack:\n    plugin: slackalert\n    notify: all\n    params:\n      webhook_url: \"http://127.0.0.1:9/${CM_TEST_HOOK}\"\naudits:\n  mockaudit:\n    alerts: [slack]\n",
        &[("CM_TEST_HOOK", "T000/B000/hook-s3cret")],
    );
    run.assert_status(1);
    assert!(!run.output().contains("hook-s3cret"), "{}", run.output());
    assert!(!sb.log().contains("hook-s3cret"));
}

#[test]
fn a_plugin_others_could_change_is_refused_unless_allowed() {
    let sb = Sandbox::new();
    let shared = sb.dir("shared");
    let lib = shared.join("libsharedcloud.so");
    std::fs::copy(plugin_lib("mockcloud"), &lib).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = sb.run_config(
        "shared.yaml",
        &format!(
            "plugins:\n  shared:\n    plugin: {}\naudits:\n  mockaudit:\n    clouds: [shared]\n",
            lib.display()
        ),
        &[],
    );
    run.assert_status(1);
    run.assert_says(&format!(
        "plugin \"shared\": cannot load {}: refused: {} is writable by others (mode 777); run `chmod go-w {}`",
        lib.display(),
        shared.display(),
        shared.display()
    ));

    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o666)).unwrap();
    let run = sb.run(&["-n", "-c", "sandbox.yaml", "shared.yaml"]);
    run.assert_status(1);
    run.assert_says("is writable by others (mode 666)");

    let run = sb.run(&[
        "-n",
        "-c",
        "sandbox.yaml",
        "shared.yaml",
        "--allow-insecure-plugins",
    ]);
    run.assert_status(0);
    run.assert_says("Audit mockaudit finished: 10 records read");
}

#[test]
fn config_show_redacts_secrets_and_names_origins() {
    let sb = Sandbox::new();
    sb.file(
        "show.yaml",
        "email:\n  host: smtp.example.com\n  password: pw-S3cret-1\nplugins:\n  slack:\n    plugin: slackalert\n    params:\n      bot_user_token: ${CM_TEST_SLACK}\n      text: hello\n      to: [a@example.com]\n",
    );
    let run = sb.run_with(
        &["config", "show", "-c", "sandbox.yaml", "show.yaml"],
        &[("CM_TEST_SLACK", "xoxb-S3cret-2")],
    );
    run.assert_status(0);
    for secret in ["pw-S3cret-1", "xoxb-S3cret-2"] {
        assert!(!run.output().contains(secret), "{}", run.output());
    }
    assert!(run.stdout.contains("password: '***'"), "{}", run.stdout);
    assert!(
        run.stdout.contains("bot_user_token: '***'"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("text: hello"), "{}", run.stdout);

    let run = sb.run_with(
        &[
            "config",
            "show",
            "--origin",
            "-c",
            "sandbox.yaml",
            "show.yaml",
        ],
        &[("CM_TEST_SLACK", "xoxb-S3cret-2")],
    );
    run.assert_status(0);
    assert!(
        run.stdout
            .contains("plugins.slack.params.text: \"hello\"  # show.yaml:9"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("plugins.slack.params.bot_user_token: \"***\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("run: [\"mockaudit\"]  # built-in base config"),
        "{}",
        run.stdout
    );
    assert!(!run.output().contains("xoxb-S3cret-2"));
}

#[test]
fn a_key_set_twice_in_a_mapping_is_a_config_error_naming_file_line_and_key() {
    let sb = Sandbox::new();
    sb.file(
        "twice.yaml",
        "plugins:\n  mine: {plugin: mockcloud, params: {record_count: 1}}\n  mine: {plugin: mockcloud, params: {record_count: 2}}\naudits:\n  mockaudit:\n    clouds: [mine]\n    stores: [filestore, filestore]\n    clouds: [mockcloud]\n",
    );
    let run = sb.run_now(&["twice.yaml"]);
    run.assert_status(2);
    run.assert_says("2 problems in the configuration:");
    run.assert_says(
        "twice.yaml:3: plugins.mine: duplicate key `mine` (the same mapping sets it at line 2); remove one of them",
    );
    run.assert_says(
        "twice.yaml:8: audits.mockaudit.clouds: duplicate key `clouds` (the same mapping sets it at line 6); remove one of them",
    );
    assert!(!sb.out().exists(), "no audit ran");

    let run = sb.run(&["validate", "-c", "sandbox.yaml", "twice.yaml"]);
    run.assert_status(2);
    run.assert_says("plugins.mine: duplicate key `mine`");
}

#[test]
fn a_plugin_library_others_could_change_is_skipped_with_a_warning() {
    let sb = Sandbox::new();
    let (shared, own) = (sb.path().join("shared"), sb.path().join("own"));
    for dir in [&shared, &own] {
        std::fs::create_dir(dir).unwrap();
        std::fs::copy(plugin_lib("mockcloud"), dir.join("libcopycloud.so")).unwrap();
    }
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    sb.file(
        "copy.yaml",
        "plugins:\n  copy:\n    plugin: copycloud\naudits:\n  mockaudit:\n    clouds: [copy]\n",
    );
    let (shared_arg, own_arg) = (shared.display().to_string(), own.display().to_string());
    let dirs = ["--plugin-dir", &shared_arg, "--plugin-dir", &own_arg];
    let run = sb.run(&[&["-n", "-c", "sandbox.yaml", "copy.yaml"], &dirs[..]].concat());
    run.assert_status(0);
    let warning = format!(
        "Skipped plugin library {}: refused: {} is writable by others (mode 777); run `chmod go-w {}`; a plugin is code that runs with your rights (--allow-insecure-plugins loads it anyway); plugin \"copycloud\" is loaded from {} instead.",
        shared.join("libcopycloud.so").display(),
        shared.display(),
        shared.display(),
        own.join("libcopycloud.so").display()
    );
    assert!(
        sb.log().contains(&warning),
        "{warning:?} not in the log:\n{}",
        sb.log()
    );
    run.assert_says("Audit mockaudit finished: 10 records read");

    let run = sb.run(&[&["validate", "-c", "sandbox.yaml", "copy.yaml"], &dirs[..]].concat());
    run.assert_status(0);
    run.assert_says(&format!("cloudmarker: warning: {warning}"));
}

#[test]
fn temporaries_that_are_links_directories_or_others_files_are_left_alone_with_a_word() {
    use std::os::unix::fs::MetadataExt;
    let sb = Sandbox::new();
    std::fs::create_dir(sb.out()).unwrap();
    std::fs::set_permissions(sb.out(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = sb.out().canonicalize().unwrap();
    let victim = sb.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    // Named like temporaries an earlier run left.
    let link = out.join("mockaudit_mockcloud.20200101_000000-abcdef.tmp");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let dir = out.join("mockaudit_mockevent.20200101_000000-ghijkl.tmp");
    std::fs::create_dir(&dir).unwrap();
    let others = out.join("mockaudit_other.20200101_000000-mnopqr.tmp");
    std::fs::write(&others, "not ours").unwrap();
    let me = std::fs::metadata(sb.path()).unwrap().uid();
    // Only root can give a file away.
    let given_away = me == 0 && std::os::unix::fs::chown(&others, Some(65534), None).is_ok();

    let run = sb.run_now(&[]);
    run.assert_status(0);
    let log = sb.log();
    let said = |path: &Path, why: &str| {
        format!(
            "Left {} alone: it is named like a temporary file of an earlier run, but {why}; it was neither followed nor removed.",
            path.display()
        )
    };
    for expected in [
        said(&link, "it is a symbolic link (planted?)"),
        said(&dir, "it is a directory"),
    ] {
        assert!(log.contains(&expected), "{expected:?} in {log}");
    }
    if given_away {
        let expected = said(&others, "it belongs to another user (uid 65534, not 0)");
        assert!(log.contains(&expected), "{expected:?} in {log}");
        assert!(others.exists());
    } else {
        assert!(!others.exists(), "this user's leftover is removed");
    }
    assert!(link.is_symlink() && dir.is_dir());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

#[test]
fn a_record_nested_too_deeply_is_refused_for_its_depth() {
    let sb = Sandbox::new();
    let depth = 100_000;
    let records = format!(
        "[{{\"raw\": {{\"data\": {}{}}}, \"ext\": {{\"record_type\": \"deep\"}}}}, {{\"raw\": {{\"data\": 2}}}}]",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let path = sb.file("deep.json", &records);
    sb.file(
        "deep.yaml",
        &format!(
            "plugins:\n  jsoncloud:\n    plugin: jsoncloud\n    params:\n      path: {}\naudits:\n  deepaudit:\n    clouds: [jsoncloud]\n    stores: [filestore]\n    events: [mockevent]\n    alerts: []\nrun: [deepaudit]\n",
            path.display()
        ),
    );
    let run = sb.run_now(&["deep.yaml"]);
    run.assert_says(&format!(
        "mockevent: refused a record: it nests {} levels deep, more than the 127 records may (the JSON reader's limit); mockevent: unreadable record: ",
        depth + 2
    ));
}

/// A server that accepts connections and never says a word, as a
/// plain-text server does to a TLS handshake it cannot read; its port.
fn silent_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

#[test]
fn a_tls_store_against_a_server_that_does_not_answer_the_handshake_says_so() {
    let sb = Sandbox::new();
    let port = silent_server();
    let hint = "the connection uses TLS: a server that does not speak TLS on that port never completes the TLS handshake, which ends in this timeout";
    sb.file(
        "tls.yaml",
        &format!(
            "plugins:\n  mongodbstore:\n    params:\n      host: 127.0.0.1\n      port: {port}\n      tls: true\n      server_selection_timeout: 1\n      connect_timeout: 1\n      max_retries: 0\n  splunkhecstore:\n    plugin: splunkhecstore\n    params:\n      uri: https://127.0.0.1:{port}\n      token: hec-token-1234\n      timeout: 1\n      max_retries: 0\naudits:\n  mockaudit:\n    stores: [filestore, mongodbstore, splunkhecstore]\n"
        ),
    );
    let run = sb.run_now(&["tls.yaml"]);
    run.assert_status(1);
    let log = sb.log();
    let said: Vec<&str> = log.lines().filter(|l| l.contains(hint)).collect();
    for store in ["mockaudit_mongodbstore", "mockaudit_splunkhecstore"] {
        assert!(
            said.iter().any(|l| l.contains(store)),
            "{store} names the TLS handshake: {log}"
        );
    }
}
