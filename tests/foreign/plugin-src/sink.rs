//! A sink plugin built against a variant of plugin-api (see ../README.md):
//! appends every record it receives, one per line, to the file `path`.

use cloudmarker_plugin_api::sdk::{self, PluginType, Records, Sink};
use cloudmarker_plugin_api::sdk::schema::JsonSchema;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Parameters.
#[derive(Default, Deserialize, Serialize, JsonSchema)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// The file the records are appended to.
    pub path: String,
}

/// Appends records to a file.
pub struct ForeignSink {
    file: std::fs::File,
}

impl PluginType for ForeignSink {
    type Params = Params;
    const NAME: &'static str = "foreignsink";
    const DESCRIPTION: &'static str = "A sink built against another plugin-api version.";

    fn new(params: Params) -> sdk::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&params.path)?;
        Ok(Self { file })
    }
}

impl Sink for ForeignSink {
    fn write(&mut self, records: Records<'_>) -> sdk::Result<()> {
        for record in records {
            writeln!(self.file, "{record}")?;
        }
        Ok(())
    }

    fn done(&mut self) -> sdk::Result<()> {
        Ok(self.file.flush()?)
    }
}

cloudmarker_plugin_api::export_plugin!(sink: ForeignSink);
