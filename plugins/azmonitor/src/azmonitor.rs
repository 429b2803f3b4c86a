//! The `azmonitor` cloud plugin (upstream's `AzMonitor`).

use cloudmarker_plugin_api::record::Envelope;
use cloudmarker_plugin_api::PluginError;
use cloudrest::azure::{self, subscription_ext, AzurePlugin, Collected, Reader, Session};
use cloudrest::{run_bounded, Emitter};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// `record_type` of a log profile (upstream's), and of its absence.
pub const LOG_PROFILE: &str = "log_profile";
/// `record_type` of a subscription without a log profile.
pub const LOG_PROFILE_MISSING: &str = "log_profile_missing";
/// `record_type` of a subscription diagnostic setting (beyond upstream).
pub const DIAGNOSTIC_SETTING: &str = "diagnostic_setting";
/// `record_type` of a subscription without a diagnostic setting.
pub const DIAGNOSTIC_SETTING_MISSING: &str = "diagnostic_setting_missing";

/// What is read in each subscription: record type, path, api-version.
const LOCATIONS: (&str, &str, &str) = ("location", "locations", "2022-12-01");
const LOG_PROFILES: (&str, &str, &str) = (
    LOG_PROFILE,
    "providers/Microsoft.Insights/logprofiles",
    "2016-03-01",
);
const DIAGNOSTIC_SETTINGS: (&str, &str, &str) = (
    DIAGNOSTIC_SETTING,
    "providers/Microsoft.Insights/diagnosticSettings",
    "2021-05-01-preview",
);

/// Reads each subscription's log profiles (one `log_profile` record each,
/// or one `log_profile_missing`) and diagnostic settings (one
/// `diagnostic_setting` record each, or one `diagnostic_setting_missing`),
/// with the subscription's locations; then one `collection_summary` per
/// subscription.
pub enum AzMonitorReader {}

impl Reader for AzMonitorReader {
    const NAME: &'static str = "azmonitor";
    const CLASS: Option<&'static str> = Some("AzMonitor");
    const DESCRIPTION: &'static str =
        "Reads the log profiles and diagnostic settings of every Azure subscription.";

    fn collect(session: &Session, emit: &Emitter) {
        read_all(session, emit);
    }
}

/// The `azmonitor` cloud plugin (upstream's class of that name).
pub type AzMonitor = AzurePlugin<AzMonitorReader>;

/// Reads every subscription (at most `max_concurrency` at once), then emits
/// the summaries.
fn read_all(session: &Session, emit: &Emitter) {
    let Some(subscriptions) = session.subscriptions_for("azmonitor", emit) else {
        return;
    };
    let collected: Mutex<BTreeMap<usize, Collected>> = Mutex::default();
    run_bounded(
        subscriptions.iter().enumerate().collect(),
        session.params.max_concurrency,
        |(index, subscription)| {
            let mut read = Collected::default();
            subscription_records(session, subscription, emit, &mut read);
            collected
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(index, read);
        },
    );
    let collected = collected.into_inner().unwrap_or_else(|e| e.into_inner());
    let expected = [LOCATIONS.0, LOG_PROFILE, DIAGNOSTIC_SETTING];
    for (index, subscription) in subscriptions.iter().enumerate() {
        let summary =
            azure::summary_record(session, subscription, collected.get(&index), &expected);
        if !emit.record(summary) {
            return;
        }
    }
}

/// Lists `kind` in `subscription`; a failure is counted in `read`.
fn list(
    session: &Session,
    subscription: &Value,
    (record_type, path, api): (&'static str, &str, &str),
    emit: &Emitter,
    read: &mut Collected,
) -> Option<Vec<Value>> {
    let sub_id = subscription
        .get("subscriptionId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let url = format!(
        "{}/subscriptions/{sub_id}/{path}?api-version={api}",
        session.resource_manager
    );
    let what = format!("subscription {sub_id}: listing {record_type}");
    let mut items = Vec::new();
    match azure::list(&session.http, &what, &url, &session.token, |page| {
        items.extend(page)
    }) {
        Ok(_) => {
            read.count(record_type, items.len());
            Some(items)
        }
        Err(e) => {
            let message = format!("azmonitor: {e}");
            emit.problem(PluginError::partial(0, message.clone()));
            read.fail(record_type, message);
            None
        }
    }
}

/// Emits the log profile and diagnostic setting records of one subscription.
fn subscription_records(
    session: &Session,
    subscription: &Value,
    emit: &Emitter,
    read: &mut Collected,
) {
    let sub_ext = subscription_ext(subscription);
    let sub_id = subscription.get("id").cloned().unwrap_or(Value::Null);
    let locations: Vec<Value> = list(session, subscription, LOCATIONS, emit, read)
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l.get("name").cloned())
        .collect();
    let base = |record_type: &str| {
        azure::record(&sub_ext, record_type).ext("subscription_locations", locations.clone())
    };
    if let Some(profiles) = list(session, subscription, LOG_PROFILES, emit, read) {
        let max = session.params.max_recs;
        for profile in profiles.iter().take(if max > 0 { max } else { usize::MAX }) {
            let props = profile.get("properties").unwrap_or(&Value::Null);
            let retention = props.get("retentionPolicy").unwrap_or(&Value::Null);
            let field = |value: &Value, key: &str| value.get(key).cloned().unwrap_or(Value::Null);
            let record = base(LOG_PROFILE)
                .reference(profile.get("id").cloned())
                .ext("retention_enabled", field(retention, "enabled"))
                .ext("retention_days", field(retention, "days"))
                .ext("locations", field(props, "locations"))
                .ext("categories", field(props, "categories"));
            if !emit.record(record.to_json(profile)) {
                return;
            }
        }
        if profiles.is_empty() && !emit.record(missing(base(LOG_PROFILE_MISSING), &sub_id)) {
            return;
        }
    }
    if let Some(settings) = list(session, subscription, DIAGNOSTIC_SETTINGS, emit, read) {
        for setting in &settings {
            let props = setting.get("properties").unwrap_or(&Value::Null);
            let enabled: Vec<Value> = props
                .get("logs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|l| l.get("enabled").and_then(Value::as_bool) == Some(true))
                .filter_map(|l| l.get("category").cloned())
                .collect();
            let destinations: Vec<Value> = [
                "storageAccountId",
                "workspaceId",
                "eventHubAuthorizationRuleId",
            ]
            .iter()
            .filter_map(|k| {
                props
                    .get(*k)
                    .filter(|v| !v.is_null())
                    .map(|_| Value::from(*k))
            })
            .collect();
            let record = base(DIAGNOSTIC_SETTING)
                .reference(setting.get("id").cloned())
                .ext("categories_enabled", enabled)
                .ext("destinations", destinations);
            if !emit.record(record.to_json(setting)) {
                return;
            }
        }
        if settings.is_empty() {
            emit.record(missing(base(DIAGNOSTIC_SETTING_MISSING), &sub_id));
        }
    }
}

/// The record that says a subscription has none of something (upstream's
/// `<type>_missing`, its reference the subscription).
fn missing(record: Envelope, subscription_id: &Value) -> String {
    record.reference(subscription_id.clone()).to_json(&())
}
