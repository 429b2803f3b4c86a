//! Cloud Storage buckets, with their IAM policy: who can read them.

use crate::Project;
use cloudrest::gcp;
use serde_json::Value;

/// The members that make a bucket public.
pub const PUBLIC_MEMBERS: [&str; 2] = ["allUsers", "allAuthenticatedUsers"];

/// Emits one `bucket` record per bucket of `project` (with its IAM policy
/// under `raw.iam`); returns how many buckets there were.
pub fn read_buckets(project: &Project<'_>) -> Result<usize, String> {
    let reader = &project.reader;
    let url = format!("{}/b?project={}", reader.storage_url, project.id);
    let buckets = project.items("listing buckets", &url)?;
    for mut bucket in buckets.iter().cloned() {
        let name = bucket
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let policy = reader
            .token
            .get()
            .and_then(|token| {
                let url = format!("{}/b/{name}/iam", reader.storage_url);
                reader
                    .http
                    .get_json(
                        &format!("bucket {name}: reading its IAM policy"),
                        &url,
                        &token,
                    )
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| format!("gcpcloud: {e}"))?;
        let public: Vec<Value> = policy
            .get("bindings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|b| {
                b.get("members")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .filter_map(Value::as_str)
            .filter(|m| PUBLIC_MEMBERS.contains(m))
            .map(Value::from)
            .collect();
        let uniform = bucket
            .pointer("/iamConfiguration/uniformBucketLevelAccess/enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let record = gcp::record(project.ext, "bucket")
            .reference(bucket.get("selfLink").cloned())
            .ext("uniform_bucket_level_access", uniform)
            .ext("public", !public.is_empty())
            .ext("public_members", public);
        if let Some(object) = bucket.as_object_mut() {
            object.insert("iam".into(), policy);
        }
        if !project.emit(record, &bucket) {
            break;
        }
    }
    Ok(buckets.len())
}
