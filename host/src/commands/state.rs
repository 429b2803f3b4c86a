//! `cloudmarker state export` / `state import`: the findings state as JSON
//! Lines, to move it between SQLite and PostgreSQL and to back it up.

use crate::cli::{Cli, StateCommand};
use crate::exit;
use crate::findings::transfer::{self, Line};
use std::io::{BufRead, BufWriter, Write};

/// Runs `action` on the configured state.
pub fn run(cli: &Cli, action: &StateCommand) -> u8 {
    let config = match super::load_config(cli) {
        Ok(loaded) => loaded.config,
        Err(status) => return status,
    };
    let state_config = config.state.clone().unwrap_or_default();
    if !state_config.enabled() {
        eprintln!("cloudmarker: error: findings are not kept (state: {{enabled: false}})");
        return exit::CONFIG;
    }
    let place = state_config.describe();
    let mut state = match state_config.open() {
        Ok(state) => state,
        Err(e) => return super::state_error(&e),
    };
    let done = match action {
        StateCommand::Export { output } => export(&mut state, output.as_deref()).map(|counts| {
            eprintln!("cloudmarker: exported {counts} from {place}");
        }),
        StateCommand::Import { input } => import(&mut state, input).map(|counts| {
            eprintln!("cloudmarker: imported {counts} into {place}");
        }),
    };
    match done {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            eprintln!("cloudmarker: error: {e}");
            exit::PLUGIN_FAILED
        }
    }
}

fn export(
    state: &mut crate::findings::state::State,
    output: Option<&std::path::Path>,
) -> Result<transfer::Counts, String> {
    let sink: Box<dyn Write> = match output {
        None => Box::new(std::io::stdout().lock()),
        Some(path) => {
            use std::os::unix::fs::OpenOptionsExt;
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(cloudmarker_plugin_api::sdk::files::PRIVATE_FILE_MODE)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Box::new(file)
        }
    };
    let mut out = BufWriter::new(sink);
    let mut counts = transfer::Counts::default();
    let mut write = |line: &Line| -> Result<(), String> {
        serde_json::to_writer(&mut out, line).map_err(|e| e.to_string())?;
        out.write_all(b"\n").map_err(|e| e.to_string())
    };
    write(&Line::State {
        format: transfer::FORMAT,
    })?;
    state.export(&mut |line| {
        counts.add(&line);
        write(&line)
    })?;
    out.flush().map_err(|e| e.to_string())?;
    Ok(counts)
}

fn import(
    state: &mut crate::findings::state::State,
    input: &std::path::Path,
) -> Result<transfer::Counts, String> {
    let reader: Box<dyn BufRead> = if input.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(input)
            .map_err(|e| format!("cannot read {}: {e}", input.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let lines = transfer::read(reader).map_err(|e| format!("{}: {e}", input.display()))?;
    state.import(&lines)
}
