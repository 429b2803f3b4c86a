//! Checks of Azure Monitor records: upstream's four log profile checks and
//! a diagnostic settings check.

use crate::azmonitor::{
    DIAGNOSTIC_SETTING, DIAGNOSTIC_SETTING_MISSING, LOG_PROFILE, LOG_PROFILE_MISSING,
};
use cloudmarker_plugin_api::sdk::check::Select;
use cloudmarker_plugin_api::sdk::check::Severity;
use cloudmarker_plugin_api::sdk::rule::{ParamRule, ParamRuleCheck, Rule, RuleCheck, Verdict};
use cloudmarker_plugin_api::sdk::schema;
use serde::{Deserialize, Serialize};

/// The `ext` fields of a log profile the checks read.
#[derive(Debug, Default, Deserialize)]
pub struct Profile {
    #[serde(default)]
    retention_enabled: Option<bool>,
    #[serde(default)]
    retention_days: Option<i64>,
    #[serde(default)]
    locations: Option<Vec<String>>,
    #[serde(default)]
    categories: Option<Vec<String>>,
    #[serde(default)]
    subscription_locations: Vec<String>,
    #[serde(default)]
    subscription_id: Option<String>,
}

/// The categories a log profile should export (upstream's list).
const CATEGORIES: [&str; 3] = ["Write", "Delete", "Action"];

/// `azlogprofileevent`: subscriptions without a log profile.
pub enum LogProfileRule {}

impl Rule for LogProfileRule {
    const NAME: &'static str = "azlogprofileevent";
    const CLASS: Option<&'static str> = Some("AzLogProfileEvent");
    const DESCRIPTION: &'static str = "Flags Azure subscriptions without a log profile.";
    const SELECT: Select = Select::ext(&[LOG_PROFILE_MISSING]).in_cloud("azure");
    const EVENT: &'static str = "log_profile_event";
    const SEVERITY: Severity = Severity::Low;
    type Ext = Profile;
    fn judge(profile: &Profile, id: &str) -> Verdict {
        let sub = profile.subscription_id.as_deref().unwrap_or(id);
        Some((
            format!("Azure subscription {id} has no log profile: its activity log is not exported."),
            format!("Export the activity log of subscription {sub}: log profiles are retired, so create a diagnostic setting (Monitor > Activity log > Export Activity Logs > Add diagnostic setting), or az monitor diagnostic-settings subscription create --location westus --name activity-log --storage-account <id> --logs '[{{\"category\":\"Administrative\",\"enabled\":true}},{{\"category\":\"Security\",\"enabled\":true}},{{\"category\":\"Policy\",\"enabled\":true}},{{\"category\":\"Alert\",\"enabled\":true}}]'"),
        ))
    }
}

/// `azlogprofilemissingcategoryevent`: log profiles that do not export all
/// of Write, Delete and Action.
pub enum LogProfileMissingCategoryRule {}

impl Rule for LogProfileMissingCategoryRule {
    const NAME: &'static str = "azlogprofilemissingcategoryevent";
    const CLASS: Option<&'static str> = Some("AzLogProfileMissingCategoryEvent");
    const DESCRIPTION: &'static str =
        "Flags Azure log profiles that do not export all of Write, Delete and Action.";
    const SELECT: Select = Select::ext(&[LOG_PROFILE]).in_cloud("azure");
    const EVENT: &'static str = "log_profile_missing_category_event";
    const SEVERITY: Severity = Severity::Low;
    type Ext = Profile;
    fn judge(profile: &Profile, id: &str) -> Verdict {
        let categories = profile.categories.as_deref().unwrap_or_default();
        let missing: Vec<&str> = CATEGORIES
            .into_iter()
            .filter(|c| !categories.iter().any(|k| k == c))
            .collect();
        (!missing.is_empty()).then(|| {
            (
                format!("Azure log profile {id} does not export the {} categories.", missing.join(", ")),
                "Export every category (Write, Delete, Action) of the activity log: az monitor log-profiles update --name <profile> --set categories='[\"Write\",\"Delete\",\"Action\"]', or replace the retired log profile with a diagnostic setting that exports all categories.".to_string(),
            )
        })
    }
}

/// `azlogprofilemissinglocationevent`: log profiles that leave out some of
/// the subscription's locations (or `global`).
pub enum LogProfileMissingLocationRule {}

impl Rule for LogProfileMissingLocationRule {
    const NAME: &'static str = "azlogprofilemissinglocationevent";
    const CLASS: Option<&'static str> = Some("AzLogProfileMissingLocationEvent");
    const DESCRIPTION: &'static str =
        "Flags Azure log profiles that do not cover every location of their subscription.";
    const SELECT: Select = Select::ext(&[LOG_PROFILE]).in_cloud("azure");
    const EVENT: &'static str = "log_profile_missing_location_event";
    const SEVERITY: Severity = Severity::Low;
    type Ext = Profile;
    fn judge(profile: &Profile, id: &str) -> Verdict {
        let covered = profile.locations.as_deref().unwrap_or_default();
        let missing: Vec<&str> = std::iter::once("global")
            .chain(profile.subscription_locations.iter().map(String::as_str))
            .filter(|l| !covered.iter().any(|c| c == l))
            .collect();
        (!missing.is_empty()).then(|| {
            (
                format!("Azure log profile {id} does not cover {} of its subscription's locations: {}.", missing.len(), missing.join(", ")),
                "Add every location, and global, to the log profile (az monitor log-profiles update --name <profile> --set locations=...), or replace the retired log profile with a diagnostic setting, which covers the whole subscription.".to_string(),
            )
        })
    }
}

/// `azdiagnosticsettingevent` (beyond upstream): subscriptions whose
/// activity log is not exported by a diagnostic setting with the
/// Administrative, Security, Policy and Alert categories.
pub enum DiagnosticSettingRule {}

/// The `ext` fields of a diagnostic setting the check reads.
#[derive(Debug, Default, Deserialize)]
pub struct Setting {
    #[serde(default)]
    categories_enabled: Option<Vec<String>>,
}

/// The activity log categories a diagnostic setting should export.
const ACTIVITY_CATEGORIES: [&str; 4] = ["Administrative", "Security", "Policy", "Alert"];

impl Rule for DiagnosticSettingRule {
    const NAME: &'static str = "azdiagnosticsettingevent";
    const DESCRIPTION: &'static str =
        "Flags Azure subscriptions whose activity log no diagnostic setting exports in full.";
    const SELECT: Select =
        Select::ext(&[DIAGNOSTIC_SETTING, DIAGNOSTIC_SETTING_MISSING]).in_cloud("azure");
    const EVENT: &'static str = "diagnostic_setting_event";
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 5.1.1"];
    type Ext = Setting;
    fn judge(setting: &Setting, id: &str) -> Verdict {
        let fix = "In the portal, Monitor > Activity log > Export Activity Logs > Add diagnostic setting, with Administrative, Security, Policy and Alert sent to a storage account or Log Analytics workspace; or az monitor diagnostic-settings subscription create";
        let Some(enabled) = setting.categories_enabled.as_deref() else {
            return Some((
                format!("Azure subscription {id} has no diagnostic setting: its activity log is kept 90 days and exported nowhere."),
                fix.to_string(),
            ));
        };
        let missing: Vec<&str> = ACTIVITY_CATEGORIES
            .into_iter()
            .filter(|c| !enabled.iter().any(|e| e == c))
            .collect();
        (!missing.is_empty()).then(|| {
            (
                format!("Azure diagnostic setting {id} does not export the {} categories of the activity log.", missing.join(", ")),
                fix.to_string(),
            )
        })
    }
}

/// `azlogprofileevent`.
pub type LogProfile = RuleCheck<LogProfileRule>;
/// `azlogprofilemissingcategoryevent`.
pub type LogProfileMissingCategory = RuleCheck<LogProfileMissingCategoryRule>;
/// `azlogprofilemissinglocationevent`.
pub type LogProfileMissingLocation = RuleCheck<LogProfileMissingLocationRule>;
/// `azdiagnosticsettingevent`.
pub type DiagnosticSetting = RuleCheck<DiagnosticSettingRule>;

/// The parameters of [`LogProfileRetention`].
#[derive(Debug, Clone, Deserialize, Serialize, schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct RetentionParams {
    /// The fewest days a log profile may keep the activity log (upstream's
    /// param and default; 0 days, keep forever, always passes).
    pub _min_retention_days: i64,
}

impl Default for RetentionParams {
    fn default() -> Self {
        Self {
            _min_retention_days: 365,
        }
    }
}

/// `azlogprofileretentionevent`: log profiles that delete the activity log
/// sooner than `_min_retention_days`.
pub struct LogProfileRetentionRule {
    minimum: i64,
}

impl ParamRule for LogProfileRetentionRule {
    const NAME: &'static str = "azlogprofileretentionevent";
    const CLASS: Option<&'static str> = Some("AzLogProfileRetentionEvent");
    const DESCRIPTION: &'static str =
        "Flags Azure log profiles that keep the activity log fewer than _min_retention_days days.";
    const SELECT: Select = Select::ext(&[LOG_PROFILE]).in_cloud("azure");
    const EVENT: &'static str = "log_profile_retention_event";
    const SEVERITY: Severity = Severity::Low;
    type Params = RetentionParams;
    type Ext = Profile;

    fn new(params: RetentionParams) -> Result<Self, String> {
        let minimum = params._min_retention_days;
        if minimum < 1 {
            return Err(format!(
                "_min_retention_days must be at least 1, not {minimum}"
            ));
        }
        Ok(Self { minimum })
    }

    fn judge(&self, profile: &Profile, id: &str) -> Verdict {
        let minimum = self.minimum;
        // Retention off, or 0 days, keeps the log forever.
        let days = profile
            .retention_days
            .filter(|d| *d > 0 && profile.retention_enabled == Some(true))?;
        (days < minimum).then(|| {
            (
                format!("Azure log profile {id} keeps the activity log {days} day(s), fewer than {minimum}."),
                format!("Keep the activity log at least {minimum} days: az monitor log-profiles update --name <profile> --set retentionPolicy.days={minimum} retentionPolicy.enabled=true, or export it with a diagnostic setting to storage kept that long."),
            )
        })
    }
}

/// `azlogprofileretentionevent`.
pub type LogProfileRetention = ParamRuleCheck<LogProfileRetentionRule>;

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::sdk::check::assert_check;
    use cloudmarker_plugin_api::sdk::rule::NoParams;
    use cloudmarker_plugin_api::sdk::PluginType;
    use cloudrest::azure;
    use serde_json::{json, Map, Value};

    /// A record of `record_type` as `azmonitor` writes it, with the `ext`
    /// fields `ext`.
    fn record(record_type: &str, ext: Value) -> Value {
        let mut subscription = Map::new();
        subscription.insert("subscription_id".into(), "s1".into());
        azure::record(&subscription, record_type)
            .reference("/subscriptions/s1/providers/microsoft.insights/logprofiles/default")
            .ext("subscription_locations", ["westus", "eastus"])
            .ext_extend(ext.as_object().unwrap().clone())
            .to_value(&json!({}))
    }

    fn good_profile() -> Value {
        record(
            LOG_PROFILE,
            json!({"retention_enabled": true, "retention_days": 365,
            "locations": ["global", "westus", "eastus"], "categories": ["Write", "Delete", "Action"]}),
        )
    }

    #[test]
    fn log_profile_checks() {
        assert_check(
            &mut LogProfile::new(NoParams {}).unwrap(),
            "log_profile_event",
            &record(LOG_PROFILE_MISSING, json!({})),
            &good_profile(),
            &[],
        );
        let mut missing_delete = good_profile();
        missing_delete["ext"]["categories"] = json!(["Write", "Action"]);
        let events = assert_check(
            &mut LogProfileMissingCategory::new(NoParams {}).unwrap(),
            "log_profile_missing_category_event",
            &missing_delete,
            &good_profile(),
            &[record(LOG_PROFILE_MISSING, json!({}))],
        );
        assert!(events[0]["com"]["description"]
            .as_str()
            .unwrap()
            .contains("does not export the Delete categories"));
        let mut missing_east = good_profile();
        missing_east["ext"]["locations"] = json!(["global", "westus"]);
        let events = assert_check(
            &mut LogProfileMissingLocation::new(NoParams {}).unwrap(),
            "log_profile_missing_location_event",
            &missing_east,
            &good_profile(),
            &[],
        );
        assert!(events[0]["com"]["description"]
            .as_str()
            .unwrap()
            .contains(": eastus."));
        let mut short = good_profile();
        short["ext"]["retention_days"] = json!(30);
        let mut forever = good_profile();
        forever["ext"]["retention_days"] = json!(0);
        let mut check = LogProfileRetention::new(RetentionParams::default()).unwrap();
        assert_check(
            &mut check,
            "log_profile_retention_event",
            &short,
            &forever,
            &[],
        );
    }

    #[test]
    fn diagnostic_settings() {
        let setting = |categories: Value| {
            record(
                DIAGNOSTIC_SETTING,
                json!({"categories_enabled": categories}),
            )
        };
        let mut check = DiagnosticSetting::new(NoParams {}).unwrap();
        assert_check(
            &mut check,
            "diagnostic_setting_event",
            &record(DIAGNOSTIC_SETTING_MISSING, json!({})),
            &setting(json!([
                "Administrative",
                "Security",
                "Policy",
                "Alert",
                "Recommendation"
            ])),
            &[],
        );
        assert_check(
            &mut check,
            "diagnostic_setting_event",
            &setting(json!(["Administrative"])),
            &setting(json!(["Administrative", "Security", "Policy", "Alert"])),
            &[good_profile()],
        );
    }
}
