//! The compliance suite every store plugin runs, through its test server's
//! [`StoreServer`] harness: everything arrives, in full buffers, exactly as
//! filestore got it; a server that is down, one that goes away mid-run, and
//! one that fails the first attempts, each with the outcome and the counts
//! the store kit promises.

use super::*;

/// What the suite needs from a store's test server.
pub trait StoreServer: Sized {
    /// The plugin (its key in the base config, too).
    const PLUGIN: &'static str;

    /// A server for one test: the local one, or a real one where the
    /// environment names it.
    fn start(sb: &Sandbox) -> Self;

    /// The local server only (`None` when a real one is configured), for
    /// tests that stop it.
    fn local(sb: &Sandbox) -> Option<Self>;

    /// A local server whose first answers fail in a way that may pass (a
    /// busy collector, rejected bulk items), if the harness has one.
    fn flaky(sb: &Sandbox) -> Option<Self>;

    /// The plugin's params that reach this server (YAML mapping lines,
    /// indented by six spaces).
    fn params(&self) -> String;

    /// Params that reach nothing (a port nobody listens on).
    fn unreachable_params() -> String;

    /// The records the server holds.
    fn stored(&self) -> Vec<Value>;

    /// Stops the server.
    fn stop(&mut self);
}

/// `S`'s plugin as a store (and alert, with `alert`) of the mock audit, with
/// its `params` and quick retries.
fn config<S: StoreServer>(sb: &Sandbox, params: &str, alert: bool) {
    let plugin = S::PLUGIN;
    let alerts = if alert {
        format!("[filestore, {plugin}]")
    } else {
        "[filestore]".to_string()
    };
    sb.file(
        "store.yaml",
        &format!(
            "plugins:\n  {plugin}:\n    plugin: {plugin}\n    params:\n{params}      max_retries: 2\n      retry_delay: 0.1\naudits:\n  mockaudit:\n    stores: [filestore, {plugin}]\n    alerts: {alerts}\n"
        ),
    );
}

/// Runs the whole suite for `S`.
pub fn run<S: StoreServer>() {
    everything_arrives_in_full_buffers::<S>();
    a_server_that_is_down_fails_with_every_record_counted::<S>();
    a_server_that_goes_away_mid_run_fails_clearly::<S>();
    first_failures_are_retried_without_duplicates::<S>();
    the_health_check_reaches_the_server_and_names_a_down_one::<S>();
}

fn the_health_check_reaches_the_server_and_names_a_down_one<S: StoreServer>() {
    let plugin = S::PLUGIN;
    let health = |run: &Run| {
        run.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(plugin))
            .unwrap_or_else(|| panic!("{plugin}: no health row: {}", run.output()))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let sb = Sandbox::new();
    let server = S::start(&sb);
    config::<S>(&sb, &server.params(), false);
    let run = sb.run(&["validate", "--connect", "-c", "sandbox.yaml", "store.yaml"]);
    assert_eq!(run.status, Some(0), "{plugin}: {}", run.output());
    assert!(
        health(&run).starts_with(&format!("{plugin} {plugin} ok ")),
        "{}",
        health(&run)
    );
    assert!(
        server.stored().is_empty(),
        "{plugin}: the health check stored nothing"
    );

    config::<S>(&sb, &S::unreachable_params(), false);
    let run = sb.run(&["validate", "--connect", "-c", "sandbox.yaml", "store.yaml"]);
    assert_eq!(run.status, Some(1), "{plugin}: {}", run.output());
    assert!(
        health(&run).starts_with(&format!("{plugin} {plugin} failed {plugin}: cannot reach ")),
        "{}",
        health(&run)
    );
}

fn everything_arrives_in_full_buffers<S: StoreServer>() {
    let sb = Sandbox::new();
    let server = S::start(&sb);
    // Buffers of 4: several full ones, and the rest in done.
    config::<S>(
        &sb,
        &format!("{}      max_records: 4\n", server.params()),
        true,
    );
    let run = run_timed(&sb, &["store.yaml"]);
    assert_eq!(run.status, Some(0), "{}: {}", S::PLUGIN, run.output());
    run.assert_says("Audit mockaudit finished: 10 records read, 4 events, 28 writes, 0 failures");
    assert_same_as_filestore(&sb, &server.stored(), S::PLUGIN);
}

fn a_server_that_is_down_fails_with_every_record_counted<S: StoreServer>() {
    let sb = Sandbox::new();
    config::<S>(&sb, &S::unreachable_params(), false);
    let run = run_timed(&sb, &["store.yaml"]);
    // 10 records and the two markers, none delivered.
    assert_store_failed(
        &run,
        &format!("mockaudit_{}", S::PLUGIN),
        &format!("{}: cannot ", S::PLUGIN),
        1,
        12,
    );
    assert_eq!(
        sb.record_count("mockaudit_mockcloud.json"),
        10,
        "filestore still stored everything"
    );
}

fn a_server_that_goes_away_mid_run_fails_clearly<S: StoreServer>() {
    let sb = Sandbox::new();
    let Some(mut server) = S::local(&sb) else {
        return;
    };
    sb.file(
        "slow.yaml",
        "plugins:\n  mockcloud:\n    params: {record_count: 2560, delay_ms: 600}\n",
    );
    // Small buffers, so that the server has records before it goes away.
    config::<S>(
        &sb,
        &format!("{}      max_records: 100\n", server.params()),
        false,
    );
    assert_store_fails_when_its_server_goes_away(
        &sb,
        "store.yaml",
        &mut server,
        |s| !s.stored().is_empty(),
        |s| s.stop(),
        S::PLUGIN,
        &format!("{}: cannot ", S::PLUGIN),
    );
}

fn first_failures_are_retried_without_duplicates<S: StoreServer>() {
    let sb = Sandbox::new();
    let Some(server) = S::flaky(&sb) else {
        eprintln!(
            "{}: no flaky test server; skipping the retry case.",
            S::PLUGIN
        );
        return;
    };
    config::<S>(&sb, &server.params(), true);
    let run = run_timed(&sb, &["store.yaml"]);
    assert_eq!(run.status, Some(0), "{}: {}", S::PLUGIN, run.output());
    run.assert_says("; retrying in ");
    assert_same_as_filestore(&sb, &server.stored(), S::PLUGIN);
}
