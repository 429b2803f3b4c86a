//! Reading whole lists per subscription: like `azure::collect`, but each
//! listed type is handed over whole, so that a plugin can emit one record
//! per subscription that holds the list (and so says "none" when it is
//! empty). A type that cannot be listed gives no record and is reported in
//! the subscription's `collection_summary`, so that its checks read "not
//! evaluated", never pass.

use cloudmarker_plugin_api::PluginError;
use cloudrest::azure::{self, subscription_ext, Collected, Reader, ResourceType, Session};
use cloudrest::{run_bounded, Emitter};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Mutex;

/// A cloud plugin that reads whole lists per subscription: what it lists,
/// and how one subscription's lists become records. [`Listing`] makes it
/// a [`Reader`].
pub trait Lister: Send + 'static {
    /// The plugin's name.
    const NAME: &'static str;
    /// One line saying what it reads.
    const DESCRIPTION: &'static str;
    /// The types listed in every subscription.
    const TYPES: &'static [ResourceType];
    /// The record types [`Lister::RECORDS`] reads itself (the summaries
    /// expect them too).
    const MORE: &'static [&'static str] = &[];
    /// The records of one subscription (see [`read`]).
    const RECORDS: Records;

    /// Emits what comes before the subscriptions' records; false once the
    /// run stops taking records.
    fn before(_session: &Session, _emit: &Emitter) -> bool {
        true
    }
}

/// The [`Reader`] of a [`Lister`]: [`Lister::before`], then [`read`].
pub struct Listing<L>(PhantomData<fn() -> L>);

impl<L: Lister> Reader for Listing<L> {
    const NAME: &'static str = L::NAME;
    const DESCRIPTION: &'static str = L::DESCRIPTION;

    fn collect(session: &Session, emit: &Emitter) {
        if L::before(session, emit) {
            read(session, L::NAME, L::TYPES, L::MORE, emit, L::RECORDS);
        }
    }
}

/// What one subscription's records are made from: the session (to read
/// more), the subscription and what was listed in it.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    /// The session, for reads of the plugin's own.
    pub session: &'a Session,
    /// The subscription.
    pub sub: &'a Subscription<'a>,
    /// Its lists.
    pub lists: &'a Lists,
}

/// Turns one subscription's [`Input`] into the JSON text of each record,
/// counting in the [`Collected`] what it read itself and what it could
/// not.
pub type Records = fn(&Input<'_>, &mut Collected) -> Vec<String>;

/// One subscription's identity, for the records of a listed type.
pub struct Subscription<'a> {
    /// Its `ext` identity fields (`subscription_id`, ...).
    pub ext: &'a Map<String, Value>,
    /// Its ARM id (`/subscriptions/<id>`).
    pub id: &'a str,
    /// Its `subscriptionId`.
    pub subscription_id: &'a str,
}

/// What was listed in one subscription: each type that could be listed,
/// by record type, with its items.
pub type Lists = BTreeMap<&'static str, Vec<Value>>;

/// Lists each of `types` in every subscription of `session` (at most
/// `max_concurrency` lists at once, `max_pages` pages and `_max_recs` items
/// each), hands each subscription's lists to `records`, which turns them
/// into the JSON text of each record (it may read more, with `session`, and
/// count in the [`Collected`] what it read and what it could not; at most
/// `max_concurrency` subscriptions at once) and emits what it returns;
/// then one `collection_summary` per subscription, which expects `types`
/// and `more` (the record types `records` reads itself).
pub fn read(
    session: &Session,
    plugin: &str,
    types: &[ResourceType],
    more: &[&'static str],
    emit: &Emitter,
    records: Records,
) {
    let Some(subscriptions) = session.subscriptions_for(plugin, emit) else {
        return;
    };
    let listed: Mutex<BTreeMap<usize, (Lists, Collected)>> = Mutex::default();
    let tasks = azure::tasks(&subscriptions, types);
    run_bounded(
        tasks,
        session.params.max_concurrency,
        |(index, subscription, resource)| {
            let result = list(session, plugin, subscription, resource);
            let mut listed = listed.lock().unwrap_or_else(|e| e.into_inner());
            let (lists, read) = listed.entry(index).or_default();
            match result {
                Ok(items) => {
                    read.count(resource.record_type, items.len());
                    lists.insert(resource.record_type, items);
                }
                Err(message) => {
                    emit.problem(PluginError::partial(0, message.clone()));
                    read.fail(resource.record_type, message);
                }
            }
        },
    );
    let listed: Mutex<BTreeMap<usize, (Lists, Collected)>> =
        Mutex::new(listed.into_inner().unwrap_or_else(|e| e.into_inner()));
    run_bounded(
        subscriptions.iter().enumerate().collect(),
        session.params.max_concurrency,
        |(index, subscription)| {
            let (lists, mut read) = listed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&index)
                .unwrap_or_default();
            let ext = subscription_ext(subscription);
            let sub = Subscription {
                ext: &ext,
                id: subscription
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                subscription_id: subscription
                    .get("subscriptionId")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            };
            let failed_before: Vec<&str> = read.failures.keys().copied().collect();
            let input = Input {
                session,
                sub: &sub,
                lists: &lists,
            };
            let out = records(&input, &mut read);
            // What `records` could not read is a partial read too.
            for (record_type, why) in &read.failures {
                if !failed_before.contains(record_type) {
                    emit.problem(PluginError::partial(0, why.clone()));
                }
            }
            let mut emitting = true;
            for record in out {
                if emitting && !emit.record(record) {
                    emitting = false;
                }
            }
            listed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(index, (Lists::new(), read));
        },
    );
    let listed = listed.into_inner().unwrap_or_else(|e| e.into_inner());
    let expected: Vec<&str> = types
        .iter()
        .map(|t| t.record_type)
        .chain(more.iter().copied())
        .collect();
    for (index, subscription) in subscriptions.iter().enumerate() {
        let read = listed.get(&index).map(|(_, read)| read);
        let summary = azure::summary_record(session, subscription, read, &expected);
        if !emit.record(summary) {
            return;
        }
    }
}

/// Lists one type of one subscription, at most `_max_recs` items.
pub fn list(
    session: &Session,
    plugin: &str,
    subscription: &Value,
    resource: ResourceType,
) -> Result<Vec<Value>, String> {
    let (url, what) = azure::list_request(session, subscription, resource);
    let max = session.params.max_recs;
    let mut items = Vec::new();
    azure::list(&session.http, &what, &url, &session.token, |page| {
        for item in page {
            if max == 0 || items.len() < max {
                items.push(item);
            }
        }
    })
    .map_err(|e| format!("{plugin}: {e}"))?;
    Ok(items)
}

/// A string field of `value` at `path` (`["properties", "pricingTier"]`).
pub fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
}
