//! An event plugin that flags records whose `raw.data` is a multiple of `n`.

use cloudmarker_plugin_api::record::ext::RECORD_TYPE;
use cloudmarker_plugin_api::sdk::{self, Batch, Event, PluginType};
use cloudmarker_plugin_api::PluginError;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

/// Parameters of [`MockEvent`].
#[derive(Debug, Clone, Deserialize, Serialize, cloudmarker_plugin_api::sdk::schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct MockEventParams {
    /// The divisor.
    pub n: i64,
}

impl Default for MockEventParams {
    fn default() -> Self {
        Self { n: 3 }
    }
}

/// Raises one event for each record whose `raw.data` (1 when missing) is a
/// multiple of `n`.
#[derive(Debug)]
pub struct MockEvent {
    n: i64,
}

/// The parts of a record this plugin reads; the rest is skipped unparsed,
/// and `ext` is parsed only for records that raise an event.
#[derive(Deserialize)]
struct RecordView<'a> {
    #[serde(default)]
    raw: Option<RawView>,
    #[serde(borrow, default)]
    ext: Option<&'a RawValue>,
}

/// An event as this plugin writes it.
#[derive(Serialize)]
struct EventRecord {
    ext: Map<String, Value>,
    com: EventCom,
}

#[derive(Serialize)]
struct EventCom {
    record_type: &'static str,
    description: String,
    recommendation: String,
}

#[derive(Deserialize)]
struct RawView {
    data: Option<i64>,
}

impl PluginType for MockEvent {
    type Params = MockEventParams;

    const NAME: &'static str = "mockevent";
    const CLASS: Option<&'static str> = Some("MockEvent");
    const DESCRIPTION: &'static str =
        "Raises an event for every record whose raw.data is a multiple of n.";

    fn new(params: MockEventParams) -> sdk::Result<Self> {
        if params.n == 0 {
            return Err(PluginError::config("mockevent: n must not be 0"));
        }
        Ok(Self { n: params.n })
    }
}

impl Event for MockEvent {
    fn eval(&mut self, record: &str, out: &mut Batch) -> sdk::Result<()> {
        let view: RecordView<'_> = serde_json::from_str(record)
            .map_err(|e| PluginError::failed(format!("mockevent: unreadable record: {e}")))?;
        let data = view.raw.and_then(|raw| raw.data).unwrap_or(1);
        if data % self.n != 0 {
            return Ok(());
        }
        let n = self.n;
        let mut ext: Map<String, Value> = match view.ext {
            Some(ext) => serde_json::from_str(ext.get()).unwrap_or_default(),
            None => Map::new(),
        };
        ext.insert(RECORD_TYPE.into(), json!("mock_event"));
        ext.insert("data".into(), json!(data));
        ext.insert("n".into(), json!(n));
        out.push(&EventRecord {
            ext,
            com: EventCom {
                record_type: "mock_event",
                description: format!("{data} is a multiple of {n}."),
                recommendation: format!(
                    "Divide {data} by {n} and confirm that the remainder is 0."
                ),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::record::{com, ext, Envelope};

    fn events(record: &str) -> Vec<Value> {
        let mut plugin = MockEvent::new(MockEventParams::default()).unwrap();
        let mut out = Batch::with_capacity(usize::MAX);
        plugin.eval(record, &mut out).unwrap();
        out.records()
            .map(|r| serde_json::from_str(r).unwrap())
            .collect()
    }

    #[test]
    fn multiple_of_n_raises_one_event() {
        let got = events(&Envelope::new("mock", "foo").to_json(&json!({"data": 6})));
        assert_eq!(
            got,
            [json!({
                "ext": {ext::CLOUD_TYPE: "mock", ext::RECORD_TYPE: "mock_event", "data": 6, "n": 3},
                "com": {com::RECORD_TYPE: "mock_event", com::DESCRIPTION: "6 is a multiple of 3.",
                        com::RECOMMENDATION: "Divide 6 by 3 and confirm that the remainder is 0."}
            })]
        );
    }

    #[test]
    fn other_numbers_raise_nothing() {
        assert!(events(r#"{"raw":{"data":7}}"#).is_empty());
    }

    #[test]
    fn missing_data_counts_as_one() {
        assert!(events(r#"{"raw":{}}"#).is_empty());
        let mut plugin = MockEvent::new(MockEventParams { n: 1 }).unwrap();
        let mut out = Batch::with_capacity(usize::MAX);
        plugin.eval("{}", &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert!(out
            .records()
            .next()
            .unwrap()
            .contains("1 is a multiple of 1."));
    }

    #[test]
    fn bad_json_is_an_error() {
        let mut plugin = MockEvent::new(MockEventParams::default()).unwrap();
        let mut out = Batch::with_capacity(usize::MAX);
        assert!(plugin.eval("not json", &mut out).is_err());
    }
}
