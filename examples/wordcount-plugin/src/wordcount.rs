//! The `wordcount` event plugin.

use cloudmarker_plugin_api::record::{ComRef, Text};
use cloudmarker_plugin_api::sdk::check::{Check, Finding, Findings, Select};
use cloudmarker_plugin_api::sdk::schema::JsonSchema;
use cloudmarker_plugin_api::sdk::{self, log, PluginError, PluginType};
use serde::{Deserialize, Serialize};

/// The plugin's parameters; `deny_unknown_fields` makes a typo an error.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// More words than this raise an event.
    pub max_words: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self { max_words: 3 }
    }
}

/// Flags records with long texts.
pub struct WordCount {
    max_words: usize,
}

/// The parts of a record this plugin reads, borrowed from its text.
#[derive(Deserialize)]
pub struct TextRecord<'a> {
    #[serde(borrow, default)]
    raw: Raw<'a>,
    #[serde(borrow, default)]
    com: ComRef<'a>,
}

#[derive(Default, Deserialize)]
struct Raw<'a> {
    #[serde(borrow, default)]
    text: Text<'a>,
}

impl PluginType for WordCount {
    type Params = Params;
    const NAME: &'static str = "wordcount";
    const DESCRIPTION: &'static str = "Flags records whose raw.text has more than max_words words.";

    fn new(params: Params) -> sdk::Result<Self> {
        if params.max_words == 0 {
            return Err(PluginError::config(
                "wordcount: max_words must be at least 1",
            ));
        }
        log::info!("Flagging texts of more than {} words.", params.max_words);
        Ok(Self {
            max_words: params.max_words,
        })
    }
}

impl Check for WordCount {
    const SELECT: Select = Select::ext(&["text"]);
    type Record<'a> = TextRecord<'a>;

    fn check(&mut self, record: TextRecord<'_>, findings: &mut Findings) -> sdk::Result<()> {
        let Some(text) = record.raw.text.as_str() else {
            return Ok(());
        };
        let words = text.split_whitespace().count();
        if words > self.max_words {
            let what = record.com.reference.as_str().unwrap_or("a record");
            findings.push(
                Finding::new(
                    "long_text_event",
                    format!("{what} has {words} words, more than {}.", self.max_words),
                    format!("Shorten the text of {what}."),
                )
                .reference(record.com.reference.as_str())
                .cloud_type(record.com.cloud_type.as_str())
                .ext("words", words),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::sdk::check::assert_check;
    use serde_json::json;

    #[test]
    fn passes_the_compliance_check() {
        let text = |t: &str| json!({"raw": {"text": t}, "ext": {"record_type": "text"}, "com": {"reference": "doc-1"}});
        let mut plugin = WordCount::new(Params::default()).unwrap();
        let events = assert_check(
            &mut plugin,
            "long_text_event",
            &text("one two three four"),
            &text("one two three"),
            &[json!({"raw": {"text": "a b c d e"}, "ext": {"record_type": "other"}})],
        );
        assert_eq!(events[0]["ext"]["words"], 4);
    }
}
