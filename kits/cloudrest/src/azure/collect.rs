//! What every Azure cloud plugin that lists resource types does: list the
//! subscriptions, list each type in each subscription (at most
//! `max_concurrency` at once, `_max_recs` per type), hand each listed item
//! to the plugin, and end each subscription with a `collection_summary`
//! record that says what was read and what could not be, so that a denied
//! type is never mistaken for an empty one.

use super::{list_raw, subscription_ext, Session};
use crate::{run_bounded, Collected, Emitter};
use cloudmarker_plugin_api::record::Envelope;
use cloudmarker_plugin_api::PluginError;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One resource type listed in every subscription. A type with an empty
/// `path` is the subscription itself: its one item is the subscription as
/// listed (see [`SUBSCRIPTION`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceType {
    /// The `ext.record_type` of its records, e.g. `storage_account`.
    pub record_type: &'static str,
    /// The ARM path under `/subscriptions/<id>/`.
    pub path: &'static str,
    /// The `api-version` to list it with.
    pub api_version: &'static str,
}

/// The subscription itself, as a type: one `subscription` item per
/// subscription, without a request.
pub const SUBSCRIPTION: ResourceType = ResourceType {
    record_type: "subscription",
    path: "",
    api_version: "",
};

/// One listed item, for the plugin to turn into records.
pub struct Listed<'a> {
    /// The item as JSON text, as the API returned it.
    pub item: &'a RawValue,
    /// Its type.
    pub resource: ResourceType,
    /// The subscription's `ext` identity fields (`subscription_id`, ...).
    pub subscription: &'a Map<String, Value>,
}

/// Lists `types` in every subscription of `session` and hands each item to
/// `records`, which emits the item's records and returns false once the
/// reader is gone; it may count what else it read for the item, and what it
/// could not, in the subscription's [`Collected`] (Key Vault keys read from
/// a vault's own endpoint, a vault that refused). Then emits one
/// `collection_summary` per subscription. `plugin` names the plugin in
/// messages.
pub fn collect(
    session: &Session,
    plugin: &str,
    types: &[ResourceType],
    emit: &Emitter,
    records: impl Fn(Listed<'_>, &Emitter, &mut Collected) -> bool + Sync,
) {
    let Some(subscriptions) = session.subscriptions_for(plugin, emit) else {
        return;
    };
    log::info!("Reading {} subscription(s).", subscriptions.len());
    let collected: Mutex<BTreeMap<usize, Collected>> = Mutex::default();
    let tasks = tasks(&subscriptions, types);
    run_bounded(
        tasks,
        session.params.max_concurrency,
        |(index, subscription, resource)| {
            let mut more = Collected::default();
            let result = list_type(
                session,
                plugin,
                subscription,
                resource,
                emit,
                &mut more,
                &records,
            );
            let mut collected = collected.lock().unwrap_or_else(|e| e.into_inner());
            let entry = collected.entry(index).or_default();
            entry.merge(more);
            match result {
                Ok(count) => entry.count(resource.record_type, count),
                Err(message) => {
                    emit.problem(PluginError::partial(0, message.clone()));
                    entry.fail(resource.record_type, message);
                }
            }
        },
    );
    let collected = collected.into_inner().unwrap_or_else(|e| e.into_inner());
    let expected: Vec<&str> = types.iter().map(|t| t.record_type).collect();
    for (index, subscription) in subscriptions.iter().enumerate() {
        let summary = summary_record(session, subscription, collected.get(&index), &expected);
        if !emit.record(summary) {
            return;
        }
    }
}

/// Lists one type of one subscription; returns how many items there were.
fn list_type(
    session: &Session,
    plugin: &str,
    subscription: &Value,
    resource: ResourceType,
    emit: &Emitter,
    more: &mut Collected,
    records: &(impl Fn(Listed<'_>, &Emitter, &mut Collected) -> bool + Sync),
) -> Result<usize, String> {
    let sub_ext = subscription_ext(subscription);
    if resource.path.is_empty() {
        let item = serde_json::value::to_raw_value(subscription).map_err(|e| e.to_string())?;
        let listed = Listed {
            item: &item,
            resource,
            subscription: &sub_ext,
        };
        records(listed, emit, more);
        return Ok(1);
    }
    let (url, what) = list_request(session, subscription, resource);
    let max = session.params.max_recs;
    let mut count = 0;
    let mut reader_gone = false;
    list_raw(&session.http, &what, &url, &session.token, |items| {
        for item in items {
            if (max > 0 && count >= max) || reader_gone {
                return;
            }
            count += 1;
            let listed = Listed {
                item,
                resource,
                subscription: &sub_ext,
            };
            reader_gone |= !records(listed, emit, more);
        }
    })
    .map_err(|e| format!("{plugin}: {e}"))?;
    Ok(count)
}

/// The `cloud_type` of Azure's records.
pub const CLOUD_TYPE: &str = "azure";

/// The envelope of an Azure record of the plugin's type `record_type` in
/// the subscription whose `ext` identity is `subscription` (see
/// [`subscription_ext`]; a [`Listed`] item has it): `ext` starts with the
/// subscription's fields, and `cloud_type` and `record_type` are set in
/// both buckets. Add the record's `reference` and own fields, then write it
/// with [`Envelope::to_json`].
pub fn record(subscription: &Map<String, Value>, record_type: &str) -> Envelope {
    Envelope::with_ext(subscription.clone(), CLOUD_TYPE, record_type)
}

/// The `collection_summary` record of a subscription: what was read from
/// it and what could not be (a type of `expected` neither counted nor
/// failed was not read at all), and in a sharded run which shard read it;
/// logs it.
pub fn summary_record(
    session: &Session,
    subscription: &Value,
    collected: Option<&Collected>,
    expected: &[&str],
) -> String {
    let empty = Collected::default();
    let sub_id = subscription
        .get("subscriptionId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    record(&subscription_ext(subscription), "collection_summary")
        .reference(subscription.get("id").cloned())
        .ext_extend(
            collected
                .unwrap_or(&empty)
                .summarise(&format!("Subscription {sub_id}"), expected),
        )
        .ext_extend(session.shard_fields())
        .to_json(subscription)
}

/// The `id` of a listed item, read without parsing the rest.
pub fn item_id(item: &RawValue) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow, default)]
        id: cloudmarker_plugin_api::record::Text<'a>,
    }
    serde_json::from_str::<Id<'_>>(item.get())
        .ok()
        .and_then(|item| item.id.as_str().map(str::to_string))
}

/// One task per subscription (by its index in `subscriptions`) and type
/// of `types`: what a reader of listed types does in parallel.
pub fn tasks<'a>(
    subscriptions: &'a [Value],
    types: &[ResourceType],
) -> Vec<(usize, &'a Value, ResourceType)> {
    subscriptions
        .iter()
        .enumerate()
        .flat_map(|(i, s)| types.iter().map(move |t| (i, s, *t)))
        .collect()
}

/// The URL that lists `resource` in `subscription` (a subscription as
/// Resource Manager lists it), and what reading it does, for its errors
/// (`subscription <id>: listing <record type>`).
pub fn list_request(
    session: &Session,
    subscription: &Value,
    resource: ResourceType,
) -> (String, String) {
    let sub_id = subscription
        .get("subscriptionId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let url = format!(
        "{}/subscriptions/{sub_id}/{}?api-version={}",
        session.resource_manager, resource.path, resource.api_version
    );
    let what = format!("subscription {sub_id}: listing {}", resource.record_type);
    (url, what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_starts_with_the_subscription() {
        let subscription = json!({"subscriptionId": "s1", "displayName": "One", "state": "Enabled",
            "tenantId": "t1", "id": "/subscriptions/s1"});
        let item = RawValue::from_string(r#"{"id": "/subscriptions/s1/disks/d1"}"#.into()).unwrap();
        let record = record(&subscription_ext(&subscription), "disk")
            .reference(item_id(&item))
            .ext("disk_type", "attached")
            .to_json(&*item);
        assert_eq!(
            record,
            concat!(
                r#"{"raw":{"id": "/subscriptions/s1/disks/d1"},"#,
                r#""ext":{"subscription_id":"s1","subscription_name":"One","subscription_state":"Enabled","tenant_id":"t1","#,
                r#""cloud_type":"azure","record_type":"disk","disk_type":"attached"},"#,
                r#""com":{"cloud_type":"azure","record_type":"disk","reference":"/subscriptions/s1/disks/d1"}}"#
            )
        );
    }
}
