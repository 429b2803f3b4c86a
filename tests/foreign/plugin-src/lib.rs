//! A cloud plugin built against a variant of plugin-api (see ../README.md).

use cloudmarker_plugin_api::sdk::{self, Batch, Cloud, PluginType};
use cloudmarker_plugin_api::sdk::schema::JsonSchema;
use serde::{Deserialize, Serialize};

/// Parameters.
#[derive(Default, Deserialize, Serialize, JsonSchema)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// How many records to produce.
    pub record_count: u64,
}

/// Produces `record_count` records.
pub struct ForeignCloud {
    left: u64,
}

impl PluginType for ForeignCloud {
    type Params = Params;
    const NAME: &'static str = "foreigncloud";
    const DESCRIPTION: &'static str = "A cloud built against another plugin-api version.";

    fn new(params: Params) -> sdk::Result<Self> {
        Ok(Self {
            left: params.record_count,
        })
    }
}

impl Cloud for ForeignCloud {
    fn read(&mut self, out: &mut Batch) -> sdk::Result<()> {
        while self.left > 0 && out.remaining() > 0 {
            out.push_json(format!(
                r#"{{"raw":{{"left":{}}},"ext":{{}},"com":{{}}}}"#,
                self.left
            ));
            self.left -= 1;
        }
        Ok(())
    }
}

cloudmarker_plugin_api::export_plugin!(cloud: ForeignCloud);
