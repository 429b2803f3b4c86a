//! The `azappinsights` cloud plugin: the Application Insights components of
//! every subscription, as one record per subscription.

use crate::lists::{text, Input, Lister, Listing, Records};
use cloudrest::azure::{self, AzurePlugin, Collected, ResourceType};
use serde_json::{json, Value};

/// `record_type` of a subscription's Application Insights components (all
/// of them, in one record, so that none is a record too).
pub const APPLICATION_INSIGHTS: &str = "application_insights";

/// Application Insights components (`Microsoft.Insights/components/read`).
const COMPONENTS: ResourceType = ResourceType {
    record_type: APPLICATION_INSIGHTS,
    path: "providers/Microsoft.Insights/components",
    api_version: "2020-02-02",
};

/// The properties of a component left out of its record: what lets anyone
/// send telemetry to it.
const INGESTION_SECRETS: [&str; 2] = ["InstrumentationKey", "ConnectionString"];

/// Reads each subscription's Application Insights components: one
/// `application_insights` record, then one `collection_summary`.
pub enum AzAppInsightsReader {}

impl Lister for AzAppInsightsReader {
    const NAME: &'static str = "azappinsights";
    const DESCRIPTION: &'static str =
        "Reads the Application Insights components of every Azure subscription.";

    const TYPES: &'static [ResourceType] = &[COMPONENTS];
    const RECORDS: Records = records;
}

/// The `azappinsights` cloud plugin.
pub type AzAppInsights = AzurePlugin<Listing<AzAppInsightsReader>>;

/// The subscription's one record: `raw.components` (the list, maybe empty,
/// each without its instrumentation key and connection string);
/// `ext.components` (how many) and `ext.component_names`.
fn records(input: &Input<'_>, _: &mut Collected) -> Vec<String> {
    let Input { sub, lists, .. } = *input;
    let Some(components) = lists.get(APPLICATION_INSIGHTS) else {
        return Vec::new();
    };
    let names: Vec<&str> = components
        .iter()
        .filter_map(|c| text(c, &["name"]))
        .collect();
    let kept: Vec<Value> = components.iter().map(without_secrets).collect();
    vec![azure::record(sub.ext, APPLICATION_INSIGHTS)
        .reference(sub.id)
        .ext("components", components.len())
        .ext("component_names", names)
        .to_json(&json!({ "components": kept }))]
}

/// `component` without its [`INGESTION_SECRETS`].
fn without_secrets(component: &Value) -> Value {
    let mut component = component.clone();
    if let Some(properties) = component
        .get_mut("properties")
        .and_then(Value::as_object_mut)
    {
        for key in INGESTION_SECRETS {
            properties.remove(key);
        }
    }
    component
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_keeps_no_ingestion_secret() {
        let component = json!({"name": "c", "properties": {
            "InstrumentationKey": "k", "ConnectionString": "InstrumentationKey=k", "AppId": "a"}});
        assert_eq!(
            without_secrets(&component),
            json!({"name": "c", "properties": {"AppId": "a"}})
        );
    }
}
