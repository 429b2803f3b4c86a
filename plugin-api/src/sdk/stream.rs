//! Streaming a cloud's records from background threads into the plugin's
//! `read` batches, through a bounded channel (so memory stays bounded when
//! the host reads slowly).

use super::Batch;
use crate::PluginError;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::thread::JoinHandle;

/// What the producer sends.
enum Item {
    Record(String),
    Problem(PluginError),
}

/// The producer's side: send records and problems; a send fails once the
/// reader has gone (the plugin was dropped), and then the producer should stop.
#[derive(Clone)]
pub struct Emitter(SyncSender<Item>);

impl Emitter {
    /// Sends a record (JSON text); false if nobody reads any more.
    pub fn record(&self, json: String) -> bool {
        self.0.send(Item::Record(json)).is_ok()
    }

    /// Reports a problem that did not stop the read; false if nobody reads any more.
    pub fn problem(&self, problem: PluginError) -> bool {
        self.0.send(Item::Problem(problem)).is_ok()
    }
}

/// The reading side, kept by the plugin.
pub struct RecordStream {
    receiver: Option<Receiver<Item>>,
    producer: Option<JoinHandle<()>>,
}

impl RecordStream {
    /// Starts `produce` on a thread named `name`, with room for `capacity`
    /// items in flight.
    pub fn start(
        name: &str,
        capacity: usize,
        produce: impl FnOnce(Emitter) + Send + 'static,
    ) -> Result<Self, PluginError> {
        let (sender, receiver) = sync_channel(capacity);
        let producer = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || produce(Emitter(sender)))
            .map_err(|e| PluginError::failed(format!("{name}: cannot start a thread: {e}")))?;
        Ok(Self {
            receiver: Some(receiver),
            producer: Some(producer),
        })
    }

    /// Fills `out` with what the producer has sent: waits for the first
    /// item, then takes what is ready. Leaves `out` empty only when the
    /// producer has finished and everything was read.
    pub fn fill(&mut self, out: &mut Batch) {
        let Some(receiver) = &self.receiver else {
            return;
        };
        while out.remaining() > 0 {
            // A batch with problems but no records would end the read, so
            // wait until there is a record (or the producer has finished).
            let item = if out.is_empty() {
                match receiver.recv() {
                    Ok(item) => item,
                    Err(_) => return self.close(),
                }
            } else {
                match receiver.try_recv() {
                    Ok(item) => item,
                    Err(TryRecvError::Empty) => return,
                    Err(TryRecvError::Disconnected) => return self.close(),
                }
            };
            match item {
                Item::Record(json) => out.push_json(json),
                Item::Problem(problem) => out.problem(problem),
            }
        }
    }

    /// Stops reading: the producer's next send fails and it winds down.
    pub fn close(&mut self) {
        self.receiver = None;
        if let Some(producer) = self.producer.take() {
            let _ = producer.join();
        }
    }
}

impl Drop for RecordStream {
    fn drop(&mut self) {
        self.close();
    }
}

/// A [`RecordStream`] started by the first `read` of a cloud plugin.
#[derive(Default)]
pub struct LazyStream(Option<RecordStream>);

impl LazyStream {
    /// Starts `produce` on the first call (thread `name`, `capacity` items in
    /// flight), then fills `out` from it; see [`RecordStream::fill`].
    pub fn read(
        &mut self,
        out: &mut Batch,
        name: &str,
        capacity: usize,
        produce: impl FnOnce(Emitter) + Send + 'static,
    ) -> Result<(), PluginError> {
        let stream = match &mut self.0 {
            Some(stream) => stream,
            empty => empty.insert(RecordStream::start(name, capacity, produce)?),
        };
        stream.fill(out);
        Ok(())
    }

    /// Stops the producer (if it was started) and waits for it.
    pub fn close(&mut self) {
        if let Some(mut stream) = self.0.take() {
            stream.close();
        }
    }
}
