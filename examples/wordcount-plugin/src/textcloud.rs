//! The `textcloud` cloud plugin.

use cloudmarker_plugin_api::sdk::{self, Batch, Cloud, PluginType};
use cloudmarker_plugin_api::sdk::schema::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The plugin's parameters.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// The texts to produce, one record each.
    pub texts: Vec<String>,
}

/// Produces one `text` record per text.
pub struct TextCloud {
    texts: std::vec::IntoIter<String>,
    next: usize,
}

impl PluginType for TextCloud {
    type Params = Params;
    const NAME: &'static str = "textcloud";
    const DESCRIPTION: &'static str = "Produces one text record per entry of texts.";

    fn new(params: Params) -> sdk::Result<Self> {
        Ok(Self {
            texts: params.texts.into_iter(),
            next: 1,
        })
    }
}

impl Cloud for TextCloud {
    fn read(&mut self, out: &mut Batch) -> sdk::Result<()> {
        while out.remaining() > 0 {
            let Some(text) = self.texts.next() else {
                break;
            };
            out.push(&json!({
                "raw": {"text": text},
                "ext": {"record_type": "text"},
                "com": {"reference": format!("text-{}", self.next), "cloud_type": "example"},
            }))?;
            self.next += 1;
        }
        Ok(())
    }
}
