//! Streaming a cloud's records from background threads into the plugin's
//! `read` batches, through a bounded channel (so memory stays bounded when
//! the host reads slowly).

use super::schema::JsonSchema;
use super::{Batch, Cloud, PluginType};
use crate::PluginError;
use serde::{de::DeserializeOwned, Serialize};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
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

/// A cloud plugin that reads everything on one background thread, handing
/// its records to `read` over a bounded stream ([`LazyStream`]): what it
/// is (its [`PluginType`] facts), how it is made and checked, and what it
/// reads. [`StreamCloud`] makes it a plugin.
pub trait StreamReader: Send + Sync + Sized + 'static {
    /// As [`PluginType::Params`].
    type Params: DeserializeOwned + Serialize + Default + JsonSchema;
    /// As [`PluginType::NAME`].
    const NAME: &'static str;
    /// As [`PluginType::DESCRIPTION`].
    const DESCRIPTION: &'static str;
    /// As [`PluginType::CLASS`].
    const CLASS: Option<&'static str> = None;
    /// As [`PluginType::SHARDS`].
    const SHARDS: bool = false;
    /// Records in flight between the reading thread and the host.
    const IN_FLIGHT: usize = 1024;

    /// Checks `params` and prepares the reads (reads nothing yet), as
    /// [`PluginType::new`].
    fn open(params: Self::Params) -> Result<Self, PluginError>;

    /// As [`PluginType::health_check`].
    fn health_check(&self) -> Result<String, PluginError> {
        Err(super::library::no_health_check(Self::NAME))
    }

    /// Reads everything and emits records and problems, on the reading
    /// thread; stops once `emit` says nobody reads any more.
    fn collect(&self, emit: Emitter);
}

/// The cloud plugin of a [`StreamReader`]: the reader is shared with the
/// reading thread, which the first `read` starts.
pub struct StreamCloud<R> {
    reader: Arc<R>,
    stream: LazyStream,
}

impl<R: StreamReader> PluginType for StreamCloud<R> {
    type Params = R::Params;
    const NAME: &'static str = R::NAME;
    const DESCRIPTION: &'static str = R::DESCRIPTION;
    const CLASS: Option<&'static str> = R::CLASS;
    const SHARDS: bool = R::SHARDS;

    fn new(params: R::Params) -> Result<Self, PluginError> {
        Ok(Self {
            reader: Arc::new(R::open(params)?),
            stream: LazyStream::default(),
        })
    }

    fn health_check(&mut self) -> Result<String, PluginError> {
        self.reader.health_check()
    }
}

impl<R: StreamReader> Cloud for StreamCloud<R> {
    fn read(&mut self, out: &mut Batch) -> Result<(), PluginError> {
        let reader = Arc::clone(&self.reader);
        let thread = format!("{}-reader", R::NAME);
        self.stream
            .read(out, &thread, R::IN_FLIGHT, move |emit| reader.collect(emit))
    }

    fn done(&mut self) -> Result<(), PluginError> {
        self.stream.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts to `count`, then says it could not read one part.
    #[derive(Default, serde::Deserialize, serde::Serialize, JsonSchema)]
    struct CountParams {
        count: u64,
    }

    struct Count(u64);

    impl StreamReader for Count {
        type Params = CountParams;
        const NAME: &'static str = "count";
        const DESCRIPTION: &'static str = "Counts.";
        const IN_FLIGHT: usize = 2;

        fn open(params: CountParams) -> Result<Self, PluginError> {
            if params.count == 0 {
                return Err(PluginError::config("count: count must be set"));
            }
            Ok(Self(params.count))
        }

        fn collect(&self, emit: Emitter) {
            for n in 0..self.0 {
                if !emit.record(n.to_string()) {
                    return;
                }
            }
            emit.problem(PluginError::unavailable("count: the last part"));
        }
    }

    #[test]
    fn a_stream_cloud_reads_what_its_reader_emits_and_then_ends() {
        assert!(StreamCloud::<Count>::new(CountParams { count: 0 }).is_err());
        let mut plugin = StreamCloud::<Count>::new(CountParams { count: 5 }).unwrap();
        assert_eq!(
            plugin.health_check().unwrap_err().to_string(),
            crate::sdk::library::no_health_check("count").to_string()
        );
        let (mut records, mut problems) = (Vec::new(), Vec::new());
        loop {
            let mut out = Batch::with_capacity(3);
            plugin.read(&mut out).unwrap();
            records.extend(out.records().map(str::to_owned));
            problems.extend(out.problems().iter().map(|p| p.to_string()));
            if out.is_empty() && out.problems().is_empty() {
                break;
            }
        }
        plugin.done().unwrap();
        assert_eq!(records, ["0", "1", "2", "3", "4"]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("the last part"), "{problems:?}");
    }

    #[test]
    fn a_stream_cloud_dropped_mid_read_stops_its_thread() {
        let mut plugin = StreamCloud::<Count>::new(CountParams { count: u64::MAX }).unwrap();
        let mut out = Batch::with_capacity(1);
        plugin.read(&mut out).unwrap();
        assert_eq!(out.records().collect::<Vec<_>>(), ["0"]);
        // The producer is blocked on the full channel; done() must end it.
        plugin.done().unwrap();
    }
}
