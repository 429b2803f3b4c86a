//! Buffering, flushing, retrying and giving up, the same way in every store.

use crate::{BufferLimits, Refusals};
use cloudmarker_plugin_api::sdk::retry::Backoff;
use cloudmarker_plugin_api::{ErrorKind, PluginError};
use std::time::Duration;

/// What the server did with a batch.
#[derive(Debug, PartialEq)]
pub enum Sent {
    /// It took every record.
    All,
    /// It answered record by record: `refused` (position, reason) will
    /// never be taken, `retry` (positions) were not taken and are sent
    /// again, the rest was taken. With `retry_reason`, the retry counts as
    /// an attempt and waits; without, the retried records were simply not
    /// read (the server stopped at a bad one) and go again at once.
    Items {
        /// Positions in the batch never to be taken, and why.
        refused: Vec<(usize, String)>,
        /// Positions in the batch to send again.
        retry: Vec<usize>,
        /// Why they were not taken, when it was a failure.
        retry_reason: Option<String>,
    },
    /// Nothing was taken; a later attempt may pass.
    Transient {
        /// Why.
        reason: String,
        /// How long the server asked to wait.
        retry_after: Option<Duration>,
    },
    /// Nothing was taken, and no retry can help (credentials, a bad index).
    Permanent(String),
}

/// A store's client: sends a batch of encoded records and says what the
/// server did with it. Its classification of answers (which failures may
/// pass) is the store's retry logic.
pub trait StoreClient {
    /// One encoded record.
    type Item;

    /// The encoded size, for `max_bytes`.
    fn bytes(item: &Self::Item) -> usize;

    /// Sends `batch`; `attempt` is 0 for the first try of these records.
    fn send(&mut self, batch: &[Self::Item], attempt: u32) -> Sent;

    /// Advice appended to a permanent refusal (`; check the token param`).
    fn hint(&self, reason: &str) -> &'static str {
        let _ = reason;
        ""
    }
}

/// How a store's messages name things: `splunkhecstore: cannot post 12
/// event(s) to Splunk HEC at https://...`, `Posted 12 event(s) to ...`.
#[derive(Debug, Clone)]
pub struct Wording {
    /// The plugin name.
    pub plugin: &'static str,
    /// What it does to a record: `post`, `index`, `insert`.
    pub verb: &'static str,
    /// The same, done: `Posted`.
    pub past: &'static str,
    /// What it sends: `event`, `record`.
    pub noun: &'static str,
    /// `to` or `into`.
    pub preposition: &'static str,
    /// The server, for people: `Splunk HEC at https://host:8088/...`
    /// (never with credentials).
    pub server: String,
}

/// How often and how long to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries of one batch before the flush fails.
    pub max_retries: u32,
    /// The waits between them.
    pub backoff: Backoff,
}

/// The longest wait between two retries of a store.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

impl RetryPolicy {
    /// The stores' `max_retries` and `retry_delay` (seconds before the first
    /// retry, doubling up to [`MAX_BACKOFF`]); an error names a bad delay.
    pub fn from_params(max_retries: u32, retry_delay: f64) -> Result<Self, String> {
        if !(retry_delay.is_finite() && retry_delay >= 0.0) {
            return Err(format!(
                "retry_delay must be a number of seconds, 0 or more, not {retry_delay}"
            ));
        }
        Ok(Self {
            max_retries,
            backoff: Backoff::new(Duration::from_secs_f64(retry_delay), MAX_BACKOFF),
        })
    }
}

/// Why a flush did not deliver every buffered record.
#[derive(Debug, PartialEq)]
enum FlushError {
    /// Still failing after every retry; a later flush may pass.
    Transient(String),
    /// Refused in a way no retry can fix.
    Permanent(String),
}

/// Buffers encoded records and sends them in batches through a
/// [`StoreClient`].
///
/// A batch is sent when the buffer reaches its [`BufferLimits`], and in
/// [`Batcher::finish`]. A send that may pass later is retried with backoff;
/// when it still fails, the batch stays in the buffer (whose limits double
/// meanwhile) and goes again with the next flush and in `finish`, so a short
/// outage loses nothing. A second failed flush in a row, a failure in
/// `finish`, or a permanent refusal stops the plugin and counts every
/// buffered record as lost. Records refused one by one are counted and
/// reported as partial failures after each write.
pub struct Batcher<C: StoreClient> {
    client: C,
    wording: Wording,
    limits: BufferLimits,
    retry: RetryPolicy,
    buffer: Vec<C::Item>,
    bytes: usize,
    /// Whether the buffer holds a batch whose flush failed once.
    holds_failed_batch: bool,
    refused: Refusals,
    delivered: u64,
}

impl<C: StoreClient> Batcher<C> {
    /// A batcher sending through `client`.
    pub fn new(client: C, wording: Wording, limits: BufferLimits, retry: RetryPolicy) -> Self {
        Self {
            client,
            wording,
            limits,
            retry,
            buffer: Vec::new(),
            bytes: 0,
            holds_failed_batch: false,
            refused: Refusals::default(),
            delivered: 0,
        }
    }

    /// The client.
    pub fn client(&self) -> &C {
        &self.client
    }

    /// The client, to change it (e.g. to close it).
    pub fn client_mut(&mut self) -> &mut C {
        &mut self.client
    }

    /// The store's health check (`validate --connect`): `check` reaches and
    /// authenticates to the server without storing anything and says what
    /// it found; a failure is `unavailable`, naming the server.
    pub fn health_check(
        &self,
        check: impl FnOnce(&C) -> Result<String, String>,
    ) -> Result<String, PluginError> {
        let w = &self.wording;
        match check(&self.client) {
            Ok(found) => Ok(format!("{found}: {}", w.server)),
            Err(e) => Err(PluginError::unavailable(format!(
                "{}: cannot reach {}: {e}",
                w.plugin, w.server
            ))),
        }
    }

    /// Records buffered and not yet delivered.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Records delivered so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Counts a record that could not even be encoded as refused.
    pub fn refuse(&mut self, reason: String) {
        self.refused.add(reason);
    }

    /// Adds an encoded record, flushing first when it would overflow
    /// `max_bytes` and after when the buffer reaches `max_records`. An
    /// error stops the plugin (its `records_failed` counts the losses).
    pub fn push(&mut self, item: C::Item) -> Result<(), PluginError> {
        let size = C::bytes(&item);
        if !self.buffer.is_empty() && self.bytes + size > self.limits().max_bytes {
            self.flush_full()?;
        }
        self.buffer.push(item);
        self.bytes += size;
        if self.buffer.len() >= self.limits().max_records {
            self.flush_full()?;
        }
        Ok(())
    }

    /// Adds the records of one `write` call, each encoded or the reason it
    /// could not be; then reports refusals like [`Batcher::end_write`].
    /// When a flush stops the plugin, the records of the call not yet added
    /// are counted as lost too.
    pub fn write(
        &mut self,
        items: impl ExactSizeIterator<Item = Result<C::Item, String>>,
    ) -> Result<(), PluginError> {
        let mut left = items.len() as u64;
        for item in items {
            left -= 1;
            let pushed = match item {
                Ok(item) => self.push(item),
                Err(reason) => {
                    self.refuse(reason);
                    Ok(())
                }
            };
            if let Err(mut e) = pushed {
                e.records_failed += left;
                return Err(e);
            }
        }
        self.end_write()
    }

    /// Ends a `write`: a partial error for the records refused since the
    /// last report, if any.
    pub fn end_write(&mut self) -> Result<(), PluginError> {
        self.take_refused()
    }

    /// Ends the run (`done`): sends what is buffered, logs what was
    /// delivered, and reports refusals.
    pub fn finish(&mut self) -> Result<(), PluginError> {
        if let Err(e) = self.flush() {
            return Err(self.give_up(e));
        }
        let w = &self.wording;
        log::info!(
            "{} {} {}(s) {} {}.",
            w.past,
            self.delivered,
            w.noun,
            w.preposition,
            w.server
        );
        self.take_refused()
    }

    fn limits(&self) -> BufferLimits {
        if self.holds_failed_batch {
            self.limits.doubled()
        } else {
            self.limits
        }
    }

    /// Flushes a full buffer: the first failure that may pass keeps the
    /// batch for the next flush.
    fn flush_full(&mut self) -> Result<(), PluginError> {
        match self.flush() {
            Ok(()) => self.holds_failed_batch = false,
            Err(FlushError::Transient(reason)) if !self.holds_failed_batch => {
                self.holds_failed_batch = true;
                log::warn!(
                    "{} did not take {} {}(s): {reason}; keeping them for the next flush.",
                    self.wording.server,
                    self.buffer.len(),
                    self.wording.noun
                );
            }
            Err(e) => return Err(self.give_up(e)),
        }
        Ok(())
    }

    /// Sends the buffer until it is empty.
    fn flush(&mut self) -> Result<(), FlushError> {
        let mut attempt = 0;
        while !self.buffer.is_empty() {
            let (reason, retry_after) = match self.client.send(&self.buffer, attempt) {
                Sent::All => {
                    self.delivered += self.buffer.len() as u64;
                    log::debug!("Sent {} {}(s).", self.buffer.len(), self.wording.noun);
                    self.clear();
                    continue;
                }
                Sent::Items {
                    refused,
                    retry,
                    retry_reason,
                } => {
                    let taken = self.buffer.len() - retry.len() - refused.len();
                    self.delivered += taken as u64;
                    for (_, reason) in refused {
                        self.refused.add(reason);
                    }
                    self.keep_only(&retry);
                    match retry_reason {
                        Some(reason) if !self.buffer.is_empty() => (reason, None),
                        _ => continue,
                    }
                }
                Sent::Permanent(reason) => return Err(FlushError::Permanent(reason)),
                Sent::Transient {
                    reason,
                    retry_after,
                } => (reason, retry_after),
            };
            if attempt >= self.retry.max_retries {
                return Err(FlushError::Transient(format!(
                    "{reason}, after {} attempt(s)",
                    attempt + 1
                )));
            }
            let wait = self
                .retry
                .backoff
                .wait(attempt, retry_after)
                .map_err(|e| FlushError::Transient(format!("{reason}; {e}")))?;
            log::warn!(
                "{} did not take {} {}(s): {reason}; retrying in {:.1} s.",
                self.wording.server,
                self.buffer.len(),
                self.wording.noun,
                wait.as_secs_f64()
            );
            std::thread::sleep(wait);
            attempt += 1;
        }
        Ok(())
    }

    /// Keeps the buffered records at `positions`, in order.
    fn keep_only(&mut self, positions: &[usize]) {
        let mut items: Vec<Option<C::Item>> = self.buffer.drain(..).map(Some).collect();
        self.buffer = positions
            .iter()
            .filter_map(|&i| items.get_mut(i).and_then(Option::take))
            .collect();
        self.bytes = self.buffer.iter().map(C::bytes).sum();
    }

    fn clear(&mut self) {
        self.buffer.clear();
        self.bytes = 0;
    }

    /// The error that stops the plugin: every buffered record is lost.
    fn give_up(&mut self, error: FlushError) -> PluginError {
        let w = &self.wording;
        let n = self.buffer.len();
        let (kind, message) = match error {
            FlushError::Transient(reason) => (
                ErrorKind::UNAVAILABLE,
                format!(
                    "{}: cannot {} {n} {}(s) {} {}: {reason}",
                    w.plugin, w.verb, w.noun, w.preposition, w.server
                ),
            ),
            FlushError::Permanent(reason) => (
                ErrorKind::FAILED,
                format!(
                    "{}: {} refused {n} {}(s): {reason}{}",
                    w.plugin,
                    w.server,
                    w.noun,
                    self.client.hint(&reason)
                ),
            ),
        };
        let lost = n as u64 + self.refused.take().map_or(0, |(total, _)| total);
        self.clear();
        PluginError {
            records_failed: lost,
            ..PluginError::new(kind, message)
        }
    }

    /// A partial error for the records refused since the last report.
    fn take_refused(&mut self) -> Result<(), PluginError> {
        match self.refused.take() {
            None => Ok(()),
            Some((total, reasons)) => Err(PluginError::partial(
                total,
                format!(
                    "{}: {} refused {total} {}(s): {reasons}",
                    self.wording.plugin, self.wording.server, self.wording.noun
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A client that answers from a script and records what it was sent.
    #[derive(Default)]
    struct Scripted {
        answers: VecDeque<Sent>,
        sent: Vec<Vec<u32>>,
    }

    impl StoreClient for Scripted {
        type Item = u32;

        fn bytes(_: &u32) -> usize {
            10
        }

        fn send(&mut self, batch: &[u32], _attempt: u32) -> Sent {
            self.sent.push(batch.to_vec());
            self.answers.pop_front().unwrap_or(Sent::All)
        }

        fn hint(&self, reason: &str) -> &'static str {
            if reason.contains("token") {
                "; check the token param"
            } else {
                ""
            }
        }
    }

    fn batcher(answers: Vec<Sent>, max_records: usize, max_retries: u32) -> Batcher<Scripted> {
        Batcher::new(
            Scripted {
                answers: answers.into(),
                sent: Vec::new(),
            },
            Wording {
                plugin: "teststore",
                verb: "post",
                past: "Posted",
                noun: "event",
                preposition: "to",
                server: "Test at http://h:1".into(),
            },
            BufferLimits {
                max_records,
                max_bytes: 1000,
            },
            RetryPolicy {
                max_retries,
                backoff: Backoff::new(Duration::from_millis(1), Duration::from_millis(2)),
            },
        )
    }

    fn transient() -> Sent {
        Sent::Transient {
            reason: "busy".into(),
            retry_after: None,
        }
    }

    #[test]
    fn full_buffers_are_sent_and_the_rest_in_finish() {
        let mut b = batcher(vec![], 2, 0);
        for i in 0..5 {
            b.push(i).unwrap();
        }
        b.finish().unwrap();
        assert_eq!(b.client().sent, [vec![0, 1], vec![2, 3], vec![4]]);
        assert_eq!(b.delivered(), 5);
    }

    #[test]
    fn a_write_that_stops_counts_the_rest_of_its_records() {
        let mut b = batcher(vec![transient(), transient()], 2, 0);
        let items = (0..5).map(Ok).chain([Err("not JSON".to_string())]);
        let err = b.write(items.collect::<Vec<_>>().into_iter()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UNAVAILABLE);
        assert_eq!(
            err.records_failed,
            4 + 2,
            "4 buffered, 1 record and 1 refusal after"
        );
    }

    #[test]
    fn max_bytes_flushes_before_the_record_that_would_overflow() {
        let mut b = batcher(vec![], 100, 0);
        b.limits.max_bytes = 25;
        for i in 0..5 {
            b.push(i).unwrap();
        }
        b.finish().unwrap();
        assert_eq!(b.client().sent, [vec![0, 1], vec![2, 3], vec![4]]);
    }

    #[test]
    fn a_failed_batch_is_kept_once_then_the_plugin_stops_counting_losses() {
        let mut b = batcher(vec![transient(), transient()], 2, 0);
        b.push(0).unwrap();
        b.push(1).unwrap();
        assert_eq!(b.buffered(), 2, "kept for the next flush");
        b.push(2).unwrap();
        let err = b.push(3).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UNAVAILABLE);
        assert_eq!(err.records_failed, 4);
        assert_eq!(
            err.message,
            "teststore: cannot post 4 event(s) to Test at http://h:1: busy, after 1 attempt(s)"
        );
    }

    #[test]
    fn a_kept_batch_goes_again_in_finish_without_duplicates() {
        let mut b = batcher(vec![transient()], 2, 0);
        b.push(0).unwrap();
        b.push(1).unwrap();
        b.push(2).unwrap();
        b.finish().unwrap();
        assert_eq!(b.client().sent, [vec![0, 1], vec![0, 1, 2]]);
        assert_eq!(b.delivered(), 3);
    }

    #[test]
    fn retries_wait_and_then_pass() {
        let mut b = batcher(vec![transient(), transient()], 10, 2);
        b.push(7).unwrap();
        b.finish().unwrap();
        assert_eq!(b.client().sent.len(), 3);
        assert_eq!(b.delivered(), 1);
    }

    #[test]
    fn items_refused_are_counted_and_retried_ones_sent_again() {
        let items = Sent::Items {
            refused: vec![(1, "code 6: Invalid data format".into())],
            retry: vec![2, 3],
            retry_reason: None,
        };
        let mut b = batcher(vec![items], 10, 0);
        for i in 0..4 {
            b.push(i).unwrap();
        }
        let err = b.finish().unwrap_err();
        assert_eq!(b.client().sent, [vec![0, 1, 2, 3], vec![2, 3]]);
        assert_eq!((err.kind, err.records_failed), (ErrorKind::PARTIAL, 1));
        assert_eq!(
            err.message,
            "teststore: Test at http://h:1 refused 1 event(s): 1 x code 6: Invalid data format"
        );
        assert_eq!(b.delivered(), 3);
    }

    #[test]
    fn a_permanent_refusal_stops_with_a_hint() {
        let mut b = batcher(vec![Sent::Permanent("code 4: Invalid token".into())], 10, 3);
        b.push(1).unwrap();
        b.refuse("not JSON".into());
        let err = b.finish().unwrap_err();
        assert_eq!((err.kind, err.records_failed), (ErrorKind::FAILED, 2));
        assert_eq!(
            err.message,
            "teststore: Test at http://h:1 refused 1 event(s): code 4: Invalid token; check the token param"
        );
    }

    #[test]
    fn a_retry_after_beyond_the_cap_gives_up() {
        let wait = Sent::Transient {
            reason: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(3600)),
        };
        let mut b = batcher(vec![wait], 10, 5);
        b.push(1).unwrap();
        let err = b.finish().unwrap_err();
        assert!(
            err.message
                .contains("HTTP 429; the server asks to wait 3600 s"),
            "{err}"
        );
    }
}
