//! `cloudmarker findings [show ID]`: the findings database, or one
//! finding's history.

use crate::cli::{Cli, FindingsCommand, FindingsFormat};
use crate::exit;
use crate::findings::{self, Status};
use cloudmarker_plugin_api::sdk::check::Severity;

/// What `cloudmarker findings` was asked for.
pub struct Query<'a> {
    /// Only findings in these statuses (none: all).
    pub statuses: &'a [Status],
    /// Only findings of these severities (none: all).
    pub severities: &'a [Severity],
    /// How to print the list.
    pub format: FindingsFormat,
    /// `show ID`: one finding's history instead of the list.
    pub show: Option<&'a FindingsCommand>,
}

/// Prints the findings `query` asks for.
pub fn run(cli: &Cli, query: Query<'_>) -> u8 {
    let config = match super::load_config(cli) {
        Ok(loaded) => loaded.config,
        Err(status) => return status,
    };
    let state_config = config.state.clone().unwrap_or_default();
    let place = state_config.describe();
    // A link (even a dangling one) is not "nothing yet": opening refuses it.
    if !state_config.may_exist() {
        println!("No findings recorded in {place} yet.");
        return exit::SUCCESS;
    }
    let mut state = match state_config.open() {
        Ok(state) => state,
        Err(e) => return super::state_error(&e),
    };
    let printed = match query.show {
        Some(FindingsCommand::Show { id }) => match findings::list::show(&mut state, id) {
            Ok(Some(text)) => Ok(text),
            Ok(None) => {
                eprintln!("cloudmarker: error: no finding {id} in {place}");
                return exit::PLUGIN_FAILED;
            }
            Err(e) => Err(e),
        },
        None => findings::list::render(&mut state, query.statuses, query.severities, query.format),
    };
    match printed {
        Ok(text) => {
            print!("{text}");
            exit::SUCCESS
        }
        Err(e) => {
            eprintln!("cloudmarker: error: cannot read {place}: {e}");
            exit::PLUGIN_FAILED
        }
    }
}
