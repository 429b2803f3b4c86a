//! A cloud that generates numbered mock records.

use cloudmarker_plugin_api::record::{Envelope, Frame};
use cloudmarker_plugin_api::sdk::{self, Batch, Cloud, PluginType};
use cloudmarker_plugin_api::PluginError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Parameters of [`MockCloud`].
#[derive(Debug, Clone, Deserialize, Serialize, cloudmarker_plugin_api::sdk::schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct MockCloudParams {
    /// How many records to generate.
    pub record_count: u64,
    /// The `ext.record_type` values, used in turn.
    pub record_types: Vec<String>,
    /// Milliseconds to sleep before each batch, to simulate a slow cloud.
    pub delay_ms: u64,
}

impl Default for MockCloudParams {
    fn default() -> Self {
        Self {
            record_count: 10,
            record_types: vec!["foo".into(), "bar".into()],
            delay_ms: 0,
        }
    }
}

/// The `cloud_type` of the generated records, and their `com.record_type`.
pub const MOCK: &str = "mock";

/// Generates `record_count` records; record `i` has `raw` `{"data": i}`,
/// `ext.record_type` `T`, `com.record_type` `mock` and `cloud_type` `mock`
/// in both buckets, where `T` is `record_types[i % record_types.len()]`.
/// In a sharded run it generates the records whose number `i` (as text)
/// the shard takes.
#[derive(Debug)]
pub struct MockCloud {
    /// The envelope of each record type, already serialised.
    record_types: Vec<Frame>,
    next: u64,
    end: u64,
    delay: Duration,
    shard: Option<sdk::shard::Shard>,
}

impl PluginType for MockCloud {
    type Params = MockCloudParams;

    const NAME: &'static str = "mockcloud";
    const CLASS: Option<&'static str> = Some("MockCloud");
    const DESCRIPTION: &'static str = "Generates numbered mock records for trying out cloudmarker.";
    const SHARDS: bool = true;

    fn new(params: MockCloudParams) -> sdk::Result<Self> {
        if params.record_types.is_empty() {
            return Err(PluginError::config(
                "mockcloud: record_types must name at least one record type",
            ));
        }
        let record_types = params
            .record_types
            .iter()
            .map(|t| Envelope::new(MOCK, t).com_record_type(Some(MOCK)).frame())
            .collect();
        Ok(Self {
            record_types,
            next: 0,
            end: params.record_count,
            delay: Duration::from_millis(params.delay_ms),
            shard: sdk::shard::current(),
        })
    }
}

impl Cloud for MockCloud {
    fn read(&mut self, out: &mut Batch) -> sdk::Result<()> {
        if self.next < self.end && !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        while self.next < self.end && out.remaining() > 0 {
            let i = self.next;
            self.next += 1;
            if self.shard.is_some_and(|s| !s.takes(&i.to_string())) {
                continue;
            }
            let frame = &self.record_types[(i % self.record_types.len() as u64) as usize];
            out.push_json(frame.to_json(&Data { data: i }));
        }
        Ok(())
    }
}

/// A generated record's `raw`.
#[derive(Serialize)]
struct Data {
    data: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::record::{com, ext};
    use serde_json::{json, Value};

    fn read_all(cloud: &mut MockCloud, batch_size: usize) -> Vec<Value> {
        let mut records = Vec::new();
        loop {
            let mut out = Batch::with_capacity(batch_size);
            cloud.read(&mut out).unwrap();
            if out.is_empty() {
                return records;
            }
            records.extend(
                out.records()
                    .map(|r| serde_json::from_str::<Value>(r).unwrap()),
            );
        }
    }

    #[test]
    fn generates_the_documented_records() {
        let mut cloud = MockCloud::new(MockCloudParams {
            record_count: 5,
            record_types: vec!["apple".into(), "ball".into(), "cat".into()],
            delay_ms: 0,
        })
        .unwrap();
        let records = read_all(&mut cloud, 2);
        assert_eq!(records.len(), 5);
        assert_eq!(
            records[4],
            json!({"raw": {"data": 4}, "ext": {ext::CLOUD_TYPE: MOCK, ext::RECORD_TYPE: "ball"},
                   "com": {com::CLOUD_TYPE: MOCK, com::RECORD_TYPE: MOCK}})
        );
        let types: Vec<_> = records
            .iter()
            .map(|r| r["ext"][ext::RECORD_TYPE].clone())
            .collect();
        assert_eq!(types, ["apple", "ball", "cat", "apple", "ball"]);
    }

    #[test]
    fn empty_record_types_is_a_config_error() {
        let params = MockCloudParams {
            record_types: vec![],
            ..Default::default()
        };
        let err = MockCloud::new(params).unwrap_err();
        assert!(err.message.contains("record_types"), "{err}");
    }
}
