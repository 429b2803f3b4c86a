//! CloudTrail: every trail of the account with whether it is logging and
//! which S3 object-level (data) events it records, and whether one of them
//! logs every region.

use crate::scope::Scope;
use crate::session::describe;
use aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput;
use aws_sdk_cloudtrail::types::ReadWriteType;
use aws_sdk_cloudtrail::Client;
use serde_json::{json, Value};

/// `ext.record_type` of a trail.
pub const CLOUDTRAIL_TRAIL: &str = "cloudtrail_trail";

/// A multi-region trail that is logging, and the S3 data events it
/// records for every bucket (`None`: its event selectors could not be
/// read).
pub struct Logging {
    /// The trail's ARN.
    pub arn: String,
    /// `(write, read)`: whether it records S3 object writes and reads.
    pub s3_data_events: Option<(bool, bool)>,
}

/// Emits a `cloudtrail_trail` record per trail (each read in its home
/// region) and returns the multi-region trails that are logging; `Err`
/// when the trails cannot be listed.
pub async fn trails(scope: Scope<'_>) -> Result<Vec<Logging>, String> {
    let home = scope.account.in_region(&scope.account.home_region());
    let mut listed = Vec::new();
    let mut pages = Client::new(&home).list_trails().into_paginator().send();
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| describe(&e))?;
        listed.extend(
            page.trails()
                .iter()
                .filter_map(|t| Some((t.trail_arn()?.to_string(), t.home_region()?.to_string()))),
        );
    }
    let mut logging_everywhere = Vec::new();
    let mut count = 0;
    for (arn, region) in listed {
        let client = Client::new(&scope.account.in_region(&region));
        let described = scope
            .call(client.describe_trails().trail_name_list(&arn).send())
            .await
            .map_err(|e| format!("trail {arn}: {}", describe(&e)))?;
        let Some(trail) = described.trail_list().first() else {
            continue;
        };
        let status = scope
            .call(client.get_trail_status().name(&arn).send())
            .await
            .map_err(|e| format!("trail {arn}: status: {}", describe(&e)))?;
        let multi_region = trail.is_multi_region_trail().unwrap_or(false);
        let logging = status.is_logging().unwrap_or(false);
        let s3_data_events = match scope
            .call(client.get_event_selectors().trail_name(&arn).send())
            .await
        {
            Ok(answer) => Some(s3_data_events(&answer)),
            Err(e) => {
                scope.fail(
                    CLOUDTRAIL_TRAIL,
                    format!("trail {arn}: event selectors: {}", describe(&e)),
                );
                None
            }
        };
        if multi_region && logging {
            logging_everywhere.push(Logging {
                arn: arn.clone(),
                s3_data_events,
            });
        }
        let (s3_write, s3_read) = match s3_data_events {
            Some((write, read)) => (json!(write), json!(read)),
            None => (Value::Null, Value::Null),
        };
        let raw = json!({
            "Name": trail.name(),
            "TrailARN": arn,
            "HomeRegion": region,
            "IsMultiRegionTrail": multi_region,
            "IsOrganizationTrail": trail.is_organization_trail(),
            "LogFileValidationEnabled": trail.log_file_validation_enabled(),
            "KmsKeyId": trail.kms_key_id(),
            "S3BucketName": trail.s3_bucket_name(),
            "IsLogging": logging,
            "S3DataEvents": {"Write": s3_write, "Read": s3_read},
        });
        // The trail's home region, in the place of the scope's (global).
        let record = scope
            .record(CLOUDTRAIL_TRAIL)
            .reference(arn.as_str())
            .ext("region", region.as_str())
            .ext("is_multi_region_trail", multi_region)
            .ext("is_logging", logging)
            .ext(
                "log_file_validation_enabled",
                trail.log_file_validation_enabled().unwrap_or(false),
            )
            .ext("s3_data_events_write", s3_write)
            .ext("s3_data_events_read", s3_read);
        count += 1;
        if !scope.emit(&raw, &record) {
            break;
        }
    }
    scope.count(CLOUDTRAIL_TRAIL, count);
    Ok(logging_everywhere)
}

/// Whether the event selectors record S3 object writes and reads of every
/// bucket: a basic selector with an `AWS::S3::Object` data resource of all
/// buckets (`arn:aws:s3`, `arn:aws:s3:::`, with any partition) and its
/// `ReadWriteType` (`All`, `WriteOnly`, `ReadOnly`); or an advanced
/// selector whose fields select `eventCategory` `Data` and
/// `resources.type` `AWS::S3::Object`, restrict no `resources.ARN` and
/// leave `readOnly` open (both) or fix it (`true`: reads, `false`:
/// writes).
pub fn s3_data_events(answer: &GetEventSelectorsOutput) -> (bool, bool) {
    let every_bucket = |value: &str| {
        let value = value.trim_end_matches(":::");
        value.starts_with("arn:") && value.ends_with(":s3") && value.matches(':').count() == 2
    };
    let (mut write, mut read) = (false, false);
    for selector in answer.event_selectors() {
        let all_buckets = selector.data_resources().iter().any(|r| {
            r.r#type() == Some("AWS::S3::Object") && r.values().iter().any(|v| every_bucket(v))
        });
        if !all_buckets {
            continue;
        }
        match selector.read_write_type() {
            Some(ReadWriteType::ReadOnly) => read = true,
            Some(ReadWriteType::WriteOnly) => write = true,
            _ => (write, read) = (true, true),
        }
    }
    for selector in answer.advanced_event_selectors() {
        let fields = selector.field_selectors();
        let equals = |name: &str, value: &str| {
            fields
                .iter()
                .any(|f| f.field() == name && f.equals().iter().any(|v| v == value))
        };
        if !equals("eventCategory", "Data")
            || !equals("resources.type", "AWS::S3::Object")
            || fields.iter().any(|f| f.field() == "resources.ARN")
        {
            continue;
        }
        match fields.iter().find(|f| f.field() == "readOnly") {
            None => (write, read) = (true, true),
            Some(f) if f.equals() == ["true"] => read = true,
            Some(f) if f.equals() == ["false"] => write = true,
            Some(_) => {}
        }
    }
    (write, read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudtrail::types::{
        AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector,
    };

    fn basic(kind: ReadWriteType, value: &str) -> EventSelector {
        EventSelector::builder()
            .read_write_type(kind)
            .data_resources(
                DataResource::builder()
                    .r#type("AWS::S3::Object")
                    .values(value)
                    .build(),
            )
            .build()
    }

    fn field(name: &str, value: &str) -> AdvancedFieldSelector {
        AdvancedFieldSelector::builder()
            .field(name)
            .equals(value)
            .build()
            .unwrap()
    }

    fn advanced(fields: Vec<AdvancedFieldSelector>) -> AdvancedEventSelector {
        AdvancedEventSelector::builder()
            .set_field_selectors(Some(fields))
            .build()
            .unwrap()
    }

    #[test]
    fn s3_data_events_of_every_bucket_from_basic_or_advanced_selectors() {
        let of = |basic: Vec<EventSelector>, advanced: Vec<AdvancedEventSelector>| {
            s3_data_events(
                &GetEventSelectorsOutput::builder()
                    .set_event_selectors(Some(basic))
                    .set_advanced_event_selectors(Some(advanced))
                    .build(),
            )
        };
        assert_eq!(
            of(vec![basic(ReadWriteType::All, "arn:aws:s3")], vec![]),
            (true, true)
        );
        assert_eq!(
            of(
                vec![basic(ReadWriteType::WriteOnly, "arn:aws:s3:::")],
                vec![]
            ),
            (true, false)
        );
        // One bucket only.
        assert_eq!(
            of(vec![basic(ReadWriteType::All, "arn:aws:s3:::b/")], vec![]),
            (false, false)
        );
        let s3 = || {
            vec![
                field("eventCategory", "Data"),
                field("resources.type", "AWS::S3::Object"),
            ]
        };
        assert_eq!(of(vec![], vec![advanced(s3())]), (true, true));
        let mut reads = s3();
        reads.push(field("readOnly", "true"));
        assert_eq!(of(vec![], vec![advanced(reads)]), (false, true));
        let mut one = s3();
        one.push(field("resources.ARN", "arn:aws:s3:::b/"));
        assert_eq!(of(vec![], vec![advanced(one)]), (false, false));
    }
}
