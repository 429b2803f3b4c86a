//! The `wordtally` sink plugin.

use cloudmarker_plugin_api::sdk::{self, PluginError, PluginType, Records, Sink};
use cloudmarker_plugin_api::sdk::schema::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The plugin's parameters.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Where the tally is written (JSON: texts and words).
    pub path: PathBuf,
}

/// Counts the records with a `raw.text` it receives, and their words.
pub struct WordTally {
    path: PathBuf,
    texts: u64,
    words: u64,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow, default)]
    raw: Raw<'a>,
}

#[derive(Default, Deserialize)]
struct Raw<'a> {
    #[serde(borrow, default)]
    text: Option<std::borrow::Cow<'a, str>>,
}

impl PluginType for WordTally {
    type Params = Params;
    const NAME: &'static str = "wordtally";
    const DESCRIPTION: &'static str = "Writes how many texts and words it received to a JSON file.";

    fn new(params: Params) -> sdk::Result<Self> {
        if params.path.as_os_str().is_empty() {
            return Err(PluginError::config("wordtally: path is required"));
        }
        Ok(Self {
            path: params.path,
            texts: 0,
            words: 0,
        })
    }

    /// The tally's directory must exist and be writable.
    fn health_check(&mut self) -> sdk::Result<String> {
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => std::path::Path::new("."),
        };
        let probe = tempfile_in(dir)?;
        std::fs::remove_file(&probe)?;
        Ok(format!("can write to {}", dir.display()))
    }
}

/// Creates an empty file in `dir` and returns its path.
fn tempfile_in(dir: &std::path::Path) -> sdk::Result<PathBuf> {
    let probe = dir.join(format!(".wordtally-check-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .map_err(|e| PluginError::unavailable(format!("cannot write to {}: {e}", dir.display())))?;
    Ok(probe)
}

impl Sink for WordTally {
    fn write(&mut self, records: Records<'_>) -> sdk::Result<()> {
        for record in records {
            let record: Record<'_> = serde_json::from_str(record)?;
            if let Some(text) = record.raw.text {
                self.texts += 1;
                self.words += text.split_whitespace().count() as u64;
            }
        }
        Ok(())
    }

    fn done(&mut self) -> sdk::Result<()> {
        let tally = serde_json::json!({"texts": self.texts, "words": self.words});
        std::fs::write(&self.path, tally.to_string())?;
        Ok(())
    }
}
