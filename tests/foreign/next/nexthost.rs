//! A minimal host built against a later plugin-api 0.1.x: loads the plugin
//! library given as its argument, reports whether the later function is
//! there, and reads all records from it.

use abi_stable::library::lib_header_from_path;
use abi_stable::std_types::{RResult, RStr};
use cloudmarker_plugin_api::{v0_1_0, HostContext, Outcome, PluginError, PluginInfo, PluginModRef};
use std::process::ExitCode;

extern "C" fn log_line(_: u8, _: RStr<'_>, message: RStr<'_>) {
    eprintln!("plugin log: {message}");
}

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .expect("usage: nexthost PLUGIN_LIBRARY");
    // Current layout first; a plugin built against 0.1.0 through the 0.1.0 layout.
    let loaded = lib_header_from_path(path.as_ref()).and_then(|header| {
        match header.init_root_module::<PluginModRef>() {
            Ok(module) => Ok(Module::Current(module)),
            Err(current) => {
                println!(
                    "current layout refused: {}",
                    current
                        .to_string()
                        .lines()
                        .rev()
                        .find(|l| l.starts_with("Error:"))
                        .unwrap_or("")
                );
                header
                    .init_root_module::<v0_1_0::PluginModRef>()
                    .map(Module::V0_1_0)
            }
        }
    });
    let module = match loaded {
        Ok(module) => module,
        Err(e) => {
            println!("refused: {e}");
            return ExitCode::FAILURE;
        }
    };
    let info = module.info();
    println!(
        "loaded {} built against plugin-api {}",
        info.name, info.api_version
    );
    match &module {
        Module::Current(m) => match m.next_api_probe() {
            Some(probe) => println!("later function: present ({})", probe()),
            None => println!("later function: absent"),
        },
        Module::V0_1_0(_) => println!("later function: absent (0.1.0 layout)"),
    }
    let host = HostContext {
        log: log_line,
        max_log_level: 3,
    };
    let params = RStr::from_str(r#"{"record_count": 5}"#);
    let records = match &module {
        Module::Current(m) => match m.new()(params, host) {
            RResult::ROk(mut plugin) => {
                let records = read_all(|max| plugin.read(max));
                let _ = plugin.done();
                records
            }
            RResult::RErr(e) => Err(format!("construct failed: {e}")),
        },
        Module::V0_1_0(m) => match m.new()(params, host) {
            RResult::ROk(mut plugin) => {
                let records = read_all(|max| plugin.read(max));
                let _ = plugin.done();
                records
            }
            RResult::RErr(e) => Err(format!("construct failed: {e}")),
        },
    };
    match records {
        Ok(records) => {
            println!("records read: {records}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads until an empty batch; returns how many records.
fn read_all(mut read: impl FnMut(usize) -> RResult<Outcome, PluginError>) -> Result<usize, String> {
    let mut records = 0;
    loop {
        match read(2) {
            RResult::ROk(outcome) if outcome.records.is_empty() => break,
            RResult::ROk(outcome) => records += outcome.records.len(),
            RResult::RErr(e) => return Err(format!("read failed: {e}")),
        }
    }
    Ok(records)
}

enum Module {
    Current(PluginModRef),
    V0_1_0(v0_1_0::PluginModRef),
}

impl Module {
    fn info(&self) -> PluginInfo {
        match self {
            Self::Current(m) => m.info()(),
            Self::V0_1_0(m) => m.info()(),
        }
    }
}
