//! The record containers a plugin sees: [`Batch`] to produce, [`Records`] to consume.

use super::tally::Tally;
use crate::{Outcome, PluginError};
use abi_stable::std_types::{RSlice, RStr, RString};
use serde::Serialize;

/// Records (or events) a plugin produces in one call, plus problems it survived.
#[derive(Debug)]
pub struct Batch {
    outcome: Outcome,
    capacity: usize,
    tally: Tally,
}

impl Batch {
    /// An empty batch that holds at most `capacity` records.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            outcome: Outcome::default(),
            capacity,
            tally: Tally::default(),
        }
    }

    /// Serializes `record` to JSON and adds it.
    pub fn push<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<(), PluginError> {
        let json = serde_json::to_string(record)
            .map_err(|e| PluginError::failed(format!("cannot serialize a record: {e}")))?;
        self.push_json(json);
        Ok(())
    }

    /// Adds a record that is already JSON text (an object with `raw`, `ext`
    /// and `com` buckets).
    pub fn push_json(&mut self, json: String) {
        self.outcome.records.push(RString::from(json));
    }

    /// Counts a record that `check` evaluated in `scope` (an account,
    /// subscription or project; [`NO_SCOPE`](super::tally::NO_SCOPE) when
    /// the record names none), `failed` when it raised a finding. The SDK
    /// sums these over the plugin's run into `check_summary` records (see
    /// [`tally`](super::tally)); compiled checks are counted for you.
    pub fn evaluated(&mut self, check: &str, scope: &str, failed: bool) {
        self.tally.count(check, scope, failed);
    }

    /// Takes the counts of [`Batch::evaluated`] so far.
    pub(crate) fn take_tally(&mut self) -> Tally {
        std::mem::take(&mut self.tally)
    }

    /// Reports a problem that did not stop the plugin.
    pub fn problem(&mut self, problem: PluginError) {
        self.outcome.problems.push(problem);
    }

    /// How many more records fit.
    pub fn remaining(&self) -> usize {
        self.capacity.saturating_sub(self.outcome.records.len())
    }

    /// How many records were pushed.
    pub fn len(&self) -> usize {
        self.outcome.records.len()
    }

    /// Whether no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.outcome.records.is_empty()
    }

    /// The records pushed so far, as JSON text.
    pub fn records(&self) -> impl Iterator<Item = &str> {
        self.outcome.records.iter().map(|r| r.as_str())
    }

    /// The problems reported so far.
    pub fn problems(&self) -> &[PluginError] {
        &self.outcome.problems
    }

    /// The records and problems, with secrets removed from the problems.
    pub(crate) fn into_outcome(mut self) -> Outcome {
        super::secret::redact_all(&mut self.outcome.problems);
        self.outcome
    }
}

/// A batch of records (JSON text) handed to a sink.
#[derive(Debug, Clone, Copy)]
pub struct Records<'a>(RSlice<'a, RStr<'a>>);

impl<'a> Records<'a> {
    /// Wraps the FFI slice.
    pub fn new(records: RSlice<'a, RStr<'a>>) -> Self {
        Self(records)
    }

    /// The records in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        self.0.as_slice().iter().map(|r| r.as_str())
    }

    /// How many records there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for Records<'a> {
    type Item = &'a str;
    type IntoIter = std::iter::Map<std::slice::Iter<'a, RStr<'a>>, fn(&'a RStr<'a>) -> &'a str>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.as_slice().iter().map(|r| r.as_str())
    }
}
