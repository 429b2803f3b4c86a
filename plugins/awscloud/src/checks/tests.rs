use super::*;
use cloudmarker_plugin_api::sdk::check::assert_check;
use cloudmarker_plugin_api::sdk::rule::NoParams;
use cloudmarker_plugin_api::sdk::PluginType;
use serde_json::{json, Value};

/// A record of `record_type` with `ext` fields over `base`, in account
/// 123456789012, eu-west-1.
fn record(record_type: &str, com_type: &str, arn: &str, base: Value, fields: Value) -> Value {
    let mut ext = base;
    ext["cloud_type"] = json!("aws");
    ext["record_type"] = json!(record_type);
    ext["account_id"] = json!("123456789012");
    ext["region"] = json!("eu-west-1");
    for (k, v) in fields.as_object().unwrap() {
        ext[k] = v.clone();
    }
    json!({"raw": {}, "ext": ext, "com": {"cloud_type": "aws", "record_type": com_type, "reference": arn}})
}

fn others() -> Vec<Value> {
    vec![
        json!({"raw": {}, "ext": {"record_type": "storage_account_properties", "encrypted": false, "publicly_accessible": true}, "com": {"cloud_type": "azure"}}),
        json!({"raw": {}, "ext": {"record_type": "ebs_volume", "encrypted": false}, "com": {"cloud_type": "azure"}}),
    ]
}

fn bucket(fields: Value) -> Value {
    let base = json!({"bucket": "b1", "bucket_region": "eu-west-1", "public_access_block": null,
        "account_public_access_block": null, "policy_is_public": false, "public_acl_grants": []});
    record("s3_bucket", "bucket", "arn:aws:s3:::b1", base, fields)
}

#[test]
fn buckets_public_by_acl_or_policy_unless_blocked() {
    let mut check = BucketPublic::new(NoParams {}).unwrap();
    let by_acl = bucket(json!({"public_acl_grants": ["AllUsers:READ"]}));
    let events = assert_check(
        &mut check,
        "s3_bucket_public_event",
        &by_acl,
        &bucket(json!({})),
        &others(),
    );
    let description = events[0]["com"]["description"].as_str().unwrap();
    assert!(description.contains("arn:aws:s3:::b1 (account 123456789012, eu-west-1) is public: its ACL grants AllUsers:READ"), "{description}");
    let blocked = json!({"ignore_public_acls": true, "restrict_public_buckets": true});
    assert_check(
        &mut check,
        "s3_bucket_public_event",
        &bucket(json!({"policy_is_public": true})),
        &bucket(
            json!({"policy_is_public": true, "public_acl_grants": ["AuthenticatedUsers:WRITE"], "account_public_access_block": blocked}),
        ),
        &[],
    );
    assert_check(
        &mut check,
        "s3_bucket_public_event",
        &bucket(
            json!({"policy_is_public": true, "public_access_block": {"ignore_public_acls": true}}),
        ),
        &bucket(
            json!({"public_acl_grants": ["AllUsers:READ"], "public_access_block": {"ignore_public_acls": true}}),
        ),
        &[],
    );
}

#[test]
fn unencrypted_volumes_and_databases() {
    let volume = |encrypted: bool| {
        record(
            "ebs_volume",
            "disk",
            "arn:aws:ec2:eu-west-1:123456789012:volume/vol-1",
            json!({"volume_id": "vol-1"}),
            json!({"encrypted": encrypted}),
        )
    };
    let events = assert_check(
        &mut VolumeEncryption::new(NoParams {}).unwrap(),
        "ebs_volume_encryption_event",
        &volume(false),
        &volume(true),
        &others(),
    );
    assert!(events[0]["com"]["recommendation"]
        .as_str()
        .unwrap()
        .contains("aws ec2 enable-ebs-encryption-by-default --region eu-west-1"));
    let db = |fields: Value| {
        record(
            "rds_instance",
            "rdbms",
            "arn:aws:rds:eu-west-1:123456789012:db:db1",
            json!({"db_instance_identifier": "db1", "publicly_accessible": false, "storage_encrypted": true}),
            fields,
        )
    };
    assert_check(
        &mut RdsPublic::new(NoParams {}).unwrap(),
        "rds_public_access_event",
        &db(json!({"publicly_accessible": true})),
        &db(json!({})),
        &others(),
    );
    assert_check(
        &mut RdsEncryption::new(NoParams {}).unwrap(),
        "rds_encryption_event",
        &db(json!({"storage_encrypted": false})),
        &db(json!({})),
        &others(),
    );
}

fn account(fields: Value) -> Value {
    let base = json!({"root_mfa_enabled": true, "root_access_keys_present": false, "password_policy_read": true,
        "password_policy": {"minimum_password_length": 14, "password_reuse_prevention": 24}, "multi_region_trail_logging": true});
    record(
        "account",
        "account",
        "arn:aws:iam::123456789012:root",
        base,
        fields,
    )
}

#[test]
fn the_account_checks() {
    assert_check(
        &mut RootMfa::new(NoParams {}).unwrap(),
        "iam_root_mfa_event",
        &account(json!({"root_mfa_enabled": false})),
        &account(json!({"root_mfa_enabled": null})),
        &others(),
    );
    assert_check(
        &mut RootAccessKey::new(NoParams {}).unwrap(),
        "iam_root_access_key_event",
        &account(json!({"root_access_keys_present": true})),
        &account(json!({})),
        &others(),
    );
    assert_check(
        &mut TrailMultiRegion::new(NoParams {}).unwrap(),
        "cloudtrail_multi_region_event",
        &account(json!({"multi_region_trail_logging": false})),
        &account(json!({"multi_region_trail_logging": null})),
        &others(),
    );
    let mut policy = PasswordPolicyCheck::new(NoParams {}).unwrap();
    let events = assert_check(
        &mut policy,
        "iam_password_policy_event",
        &account(json!({"password_policy": null})),
        &account(json!({})),
        &others(),
    );
    assert!(events[0]["com"]["description"]
        .as_str()
        .unwrap()
        .contains("it has no password policy"));
    let events = assert_check(
        &mut policy,
        "iam_password_policy_event",
        &account(json!({"password_policy": {"minimum_password_length": 8}})),
        &account(json!({"password_policy": null, "password_policy_read": false})),
        &[],
    );
    let description = events[0]["com"]["description"].as_str().unwrap();
    assert!(
        description.contains("8 characters long, fewer than 14")
            && description.contains("last 0 passwords"),
        "{description}"
    );
}

fn user(fields: Value) -> Value {
    let base = json!({"user_name": "alice", "console_password": true, "mfa_enabled": true,
        "access_keys": [{"access_key_id": "AKIAOLD", "status": "Inactive", "age_days": 400}, {"access_key_id": "AKIANEW", "status": "Active", "age_days": 10}]});
    record(
        "iam_user",
        "iam_user",
        "arn:aws:iam::123456789012:user/alice",
        base,
        fields,
    )
}

#[test]
fn the_user_checks() {
    assert_check(
        &mut UserMfa::new(NoParams {}).unwrap(),
        "iam_user_mfa_event",
        &user(json!({"mfa_enabled": false})),
        &user(json!({"mfa_enabled": false, "console_password": false})),
        &others(),
    );
    let mut rotation = AccessKeyRotation::new(KeyAgeParams::default()).unwrap();
    let old = user(
        json!({"access_keys": [{"access_key_id": "AKIAOLD", "status": "Active", "age_days": 91}]}),
    );
    let events = assert_check(
        &mut rotation,
        "iam_access_key_rotation_event",
        &old,
        &user(json!({})),
        &others(),
    );
    assert!(events[0]["com"]["description"]
        .as_str()
        .unwrap()
        .contains("older than 90 days: AKIAOLD (91 days)"));
    let mut strict = AccessKeyRotation::new(KeyAgeParams {
        _max_key_age_days: 5,
    })
    .unwrap();
    assert_check(
        &mut strict,
        "iam_access_key_rotation_event",
        &user(json!({})),
        &user(json!({"access_keys": []})),
        &[],
    );
    let error = AccessKeyRotation::new(KeyAgeParams {
        _max_key_age_days: 0,
    })
    .err()
    .unwrap();
    assert!(error
        .message
        .contains("awsiamaccesskeyrotationevent: _max_key_age_days must be at least 1"));
}

#[test]
fn keys_without_rotation() {
    let key = |rotation: Value| {
        record(
            "kms_key",
            "kms_key",
            "arn:aws:kms:eu-west-1:123456789012:key/k1",
            json!({"key_id": "k1"}),
            json!({"rotation_enabled": rotation}),
        )
    };
    assert_check(
        &mut KeyRotation::new(NoParams {}).unwrap(),
        "kms_key_rotation_event",
        &key(json!(false)),
        &key(json!(null)),
        &others(),
    );
}
