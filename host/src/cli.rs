//! The command line.

use clap::Parser;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Configuration cascade:
  The built-in base config (see --print-base-config) is always loaded first.
  Then these files are merged over it in order, skipping missing ones:
    /etc/cloudmarker.yaml, ~/.cloudmarker.yaml, ~/cloudmarker.yaml, ./cloudmarker.yaml
  With -c/--config, the files given are used instead of that list (and -c
  with no files means the base config alone). Mappings merge key by key and
  the later file wins; lists and other values are replaced whole.

Plugins:
  A `plugin:` value is a library path, a bare name looked up as lib<name>.so
  in --plugin-dir, CLOUDMARKER_PLUGIN_PATH, the executable's directory and
  <exe dir>/../lib/cloudmarker/plugins, or an original Cloudmarker class name
  such as cloudmarker.clouds.mockcloud.MockCloud.

Exit status:
  0 all audits succeeded; 1 a plugin failed; 2 the configuration is invalid.";

/// Cloud monitoring tool and framework.
#[derive(Debug, Clone, Parser)]
#[command(name = "cloudmarker", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Run the audits now and exit, instead of waiting for the schedule.
    #[arg(short = 'n', long)]
    pub now: bool,

    /// Config files to merge over the base config, in order (instead of the
    /// default cascade).
    #[arg(short = 'c', long, value_name = "FILE", num_args = 0..)]
    pub config: Option<Vec<PathBuf>>,

    /// Print the built-in base config and exit.
    #[arg(short = 'p', long)]
    pub print_base_config: bool,

    /// A directory to search for plugin libraries first (repeatable).
    #[arg(long = "plugin-dir", value_name = "DIR")]
    pub plugin_dirs: Vec<PathBuf>,
}
