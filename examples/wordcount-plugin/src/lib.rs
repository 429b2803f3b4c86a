//! An example plugin library, built outside the cloudmarker workspace
//! against `plugin-api` alone. One library provides three plugins:
//!
//! - `textcloud` (cloud): one `text` record per entry of its `texts` param;
//! - `wordcount` (event): a `long_text_event` for every `text` record (or
//!   any record whose `ext.record_type` is `text`) whose `raw.text` has more
//!   than `max_words` words;
//! - `wordtally` (store/alert): counts the texts and words of the records it
//!   receives and writes the tally to a JSON file at the end.
//!
//! Build it with `cargo build --release`, copy `target/release/libwordcount.so`
//! into a plugin directory, and use the three by name in a config.

pub mod textcloud;
pub mod wordcount;
pub mod wordtally;

cloudmarker_plugin_api::export_plugins!(
    event: wordcount::WordCount,
    cloud: textcloud::TextCloud,
    sink: wordtally::WordTally,
);
