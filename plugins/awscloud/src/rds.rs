//! RDS: every database instance, with whether it is reachable from the
//! Internet, whether its storage is encrypted and whether minor engine
//! upgrades are applied automatically.

use crate::scope::Scope;
use crate::session::describe;
use aws_sdk_rds::Client;
use serde_json::json;

/// `ext.record_type` of a database instance.
pub const RDS_INSTANCE: &str = "rds_instance";

/// Every instance of the region: `rds_instance` records
/// (`com.record_type: rdbms`) with `publicly_accessible` and
/// `storage_encrypted` and `auto_minor_version_upgrade` (`null` when the
/// answer does not say).
pub async fn instances(scope: Scope<'_>) -> Result<usize, String> {
    let client = Client::new(&scope.account.in_region(scope.region));
    let mut pages = client.describe_db_instances().into_paginator().send();
    let mut count = 0;
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| describe(&e))?;
        for db in page.db_instances() {
            if scope.full(count) {
                return Ok(count);
            }
            let id = db.db_instance_identifier().unwrap_or_default();
            let arn = db
                .db_instance_arn()
                .map_or_else(|| scope.arn("rds", &format!("db:{id}")), String::from);
            let public = db.publicly_accessible().unwrap_or(false);
            let encrypted = db.storage_encrypted().unwrap_or(false);
            let auto_minor = db.auto_minor_version_upgrade();
            let raw = json!({
                "DBInstanceIdentifier": id,
                "DBInstanceArn": arn,
                "Engine": db.engine(),
                "EngineVersion": db.engine_version(),
                "DBInstanceClass": db.db_instance_class(),
                "PubliclyAccessible": public,
                "StorageEncrypted": encrypted,
                "KmsKeyId": db.kms_key_id(),
                "Endpoint": db.endpoint().and_then(|e| e.address()),
                "AutoMinorVersionUpgrade": auto_minor,
            });
            let record = scope
                .record(RDS_INSTANCE)
                .com_record_type(Some("rdbms"))
                .reference(arn)
                .ext("db_instance_identifier", id)
                .ext("engine", raw["Engine"].clone())
                .ext("publicly_accessible", public)
                .ext("storage_encrypted", encrypted)
                .ext("auto_minor_version_upgrade", auto_minor);
            count += 1;
            if !scope.emit(&raw, &record) {
                return Ok(count);
            }
        }
    }
    Ok(count)
}
