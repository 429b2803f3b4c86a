//! What the readers of one run share, and the scope one reader reads: an
//! account and a region (`global` for account-wide services).

use crate::session::{partition, Account};
use cloudmarker_plugin_api::record::{self, Envelope};
use cloudmarker_plugin_api::{sdk, PluginError};
use cloudrest::{Collected, Emitter};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use tokio::sync::Semaphore;

/// The region of account-wide services (IAM, S3, CloudTrail trails).
pub const GLOBAL: &str = "global";

/// The `cloud_type` of AWS's records.
pub const CLOUD_TYPE: &str = "aws";

/// The shared state of one run.
pub struct Run {
    emit: Emitter,
    limit: Semaphore,
    max_recs: usize,
    collected: Mutex<BTreeMap<(String, String), Collected>>,
    reader_gone: AtomicBool,
    /// In a sharded run, the summaries' `shard` and `shard_scopes`.
    shard_fields: Mutex<Map<String, Value>>,
}

impl Run {
    /// A run emitting to `emit`, with at most `max_concurrency` requests in
    /// flight and `max_recs` records per type and scope (0: all).
    pub fn new(emit: Emitter, max_concurrency: usize, max_recs: usize) -> Self {
        Self {
            emit,
            limit: Semaphore::new(max_concurrency.max(1)),
            max_recs,
            collected: Mutex::default(),
            reader_gone: AtomicBool::new(false),
            shard_fields: Mutex::default(),
        }
    }

    /// Notes what this shard took (accounts, or the regions of the one
    /// account), for the collection summaries.
    pub fn set_shard(&self, taken: Option<sdk::shard::Taken>) {
        if let Some(taken) = taken {
            *self.shard_fields.lock().unwrap_or_else(|e| e.into_inner()) = taken.summary_fields();
        }
    }

    /// The collection summaries' shard fields (none when not sharded).
    pub fn shard_fields(&self) -> Map<String, Value> {
        self.shard_fields
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the host stopped reading (the plugin is being dropped).
    pub fn reader_gone(&self) -> bool {
        self.reader_gone.load(Ordering::Relaxed)
    }

    /// Emits a record (JSON text); false once nobody reads any more.
    pub fn emit(&self, record: String) -> bool {
        if self.reader_gone() {
            return false;
        }
        let alive = self.emit.record(record);
        if !alive {
            self.reader_gone.store(true, Ordering::Relaxed);
        }
        alive
    }

    /// Reports a problem that did not stop the read.
    pub fn problem(&self, problem: PluginError) {
        if !self.emit.problem(problem) {
            self.reader_gone.store(true, Ordering::Relaxed);
        }
    }

    /// What was read in `(account, region)`, taken out.
    pub fn take_collected(&self, account: &str, region: &str) -> Collected {
        self.collected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(account.to_string(), region.to_string()))
            .unwrap_or_default()
    }
}

/// One account and region, as a reader sees it.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// The run.
    pub run: &'a Run,
    /// The account.
    pub account: &'a Account,
    /// The region, or [`GLOBAL`].
    pub region: &'a str,
}

impl Scope<'_> {
    /// Awaits `request` once fewer than `max_concurrency` requests are in
    /// flight in the whole run.
    pub async fn call<T>(&self, request: impl Future<Output = T>) -> T {
        let _permit = self.run.limit.acquire().await;
        request.await
    }

    /// Whether `n` records of one type are as many as `_max_recs` allows.
    pub fn full(&self, n: usize) -> bool {
        self.max_recs().is_some_and(|max| n >= max)
    }

    /// `_max_recs`, if it limits the read.
    pub fn max_recs(&self) -> Option<usize> {
        Some(self.run.max_recs).filter(|max| *max > 0)
    }

    /// The envelope of an AWS record of the plugin's type `record_type` in
    /// this scope: `ext` has `cloud_type`, `account_id`, `region` and
    /// `record_type` (upstream's order), and `cloud_type` and `record_type`
    /// are set in `com` too. Add the record's `reference` and own fields,
    /// then emit it with [`Scope::emit`].
    pub fn record(&self, record_type: &str) -> Envelope {
        let mut ext = Map::new();
        ext.insert(record::ext::CLOUD_TYPE.into(), CLOUD_TYPE.into());
        ext.insert("account_id".into(), self.account.id.as_str().into());
        ext.insert("region".into(), self.region.into());
        Envelope::with_ext(ext, CLOUD_TYPE, record_type)
    }

    /// The ARN of `resource` of `service` in this scope (no region for
    /// account-wide services).
    pub fn arn(&self, service: &str, resource: &str) -> String {
        let (partition, region) = match self.region {
            GLOBAL => ("aws", ""),
            region => (partition(region), region),
        };
        format!(
            "arn:{partition}:{service}:{region}:{}:{resource}",
            self.account.id
        )
    }

    /// Emits the record of `raw` in `envelope` (see [`Scope::record`]);
    /// false once nobody reads any more.
    pub fn emit<R: Serialize + ?Sized>(&self, raw: &R, envelope: &Envelope) -> bool {
        self.run.emit(envelope.to_json(raw))
    }

    /// Counts `n` records of `record_type` in this scope's summary.
    pub fn count(&self, record_type: &'static str, n: usize) {
        self.with_collected(|c| c.count(record_type, n));
    }

    /// Notes in the summary, and to the host, that `record_type` could not
    /// be read (wholly or partly) and why.
    pub fn fail(&self, record_type: &'static str, why: String) {
        let message = format!(
            "account {} {}: {record_type}: {why}",
            self.account.id, self.region
        );
        self.run.problem(PluginError::partial(0, message));
        self.with_collected(|c| c.fail(record_type, why));
    }

    /// Notes in the summary only that `record_type` could not be read and
    /// why (the host was told already).
    pub fn note_failure(&self, record_type: &'static str, why: String) {
        self.with_collected(|c| c.fail(record_type, why));
    }

    /// Reads `record_type` with `read`, which returns how many records it
    /// emitted; its error goes to the summary.
    pub async fn read(
        &self,
        record_type: &'static str,
        read: impl Future<Output = Result<usize, String>>,
    ) {
        match read.await {
            Ok(n) => self.count(record_type, n),
            Err(why) => self.fail(record_type, why),
        }
    }

    fn with_collected(&self, update: impl FnOnce(&mut Collected)) {
        let mut all = self.run.collected.lock().unwrap_or_else(|e| e.into_inner());
        let key = (self.account.id.clone(), self.region.to_string());
        update(all.entry(key).or_default());
    }
}
