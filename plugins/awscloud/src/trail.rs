//! CloudTrail: every trail of the account with whether it is logging, and
//! whether one of them logs every region.

use crate::scope::Scope;
use crate::session::describe;
use aws_sdk_cloudtrail::Client;
use serde_json::json;

/// `ext.record_type` of a trail.
pub const CLOUDTRAIL_TRAIL: &str = "cloudtrail_trail";

/// Emits a `cloudtrail_trail` record per trail (each read in its home
/// region) and returns the ARNs of the multi-region trails that are
/// logging; `Err` when the trails cannot be listed.
pub async fn trails(scope: Scope<'_>) -> Result<Vec<String>, String> {
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
        if multi_region && logging {
            logging_everywhere.push(arn.clone());
        }
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
            );
        count += 1;
        if !scope.emit(&raw, &record) {
            break;
        }
    }
    scope.count(CLOUDTRAIL_TRAIL, count);
    Ok(logging_everywhere)
}
