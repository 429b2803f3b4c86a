//! `gcppublicbucketevent` (beyond upstream): Cloud Storage buckets that
//! anyone (`allUsers`) or any Google account (`allAuthenticatedUsers`) can
//! read.

use cloudmarker_plugin_api::sdk::check::Select;
use cloudmarker_plugin_api::sdk::check::Severity;
use cloudmarker_plugin_api::sdk::rule::{Rule, RuleCheck, Verdict};
use serde::Deserialize;

/// The bucket fields the check reads.
#[derive(Default, Deserialize)]
pub struct Bucket {
    #[serde(default)]
    public_members: Vec<String>,
}

/// The rule; see the module documentation.
pub enum PublicBucketRule {}

impl Rule for PublicBucketRule {
    const NAME: &'static str = "gcppublicbucketevent";
    const DESCRIPTION: &'static str = "Flags Cloud Storage buckets that anyone can read.";
    const SELECT: Select = Select::ext(&["bucket"]).in_cloud("gcp");
    const EVENT: &'static str = "bucket_public_event";
    const SEVERITY: Severity = Severity::High;
    const COMPLIANCE: &'static [&'static str] = &["CIS Google Cloud Platform Foundation 1.2.0 5.1"];
    type Ext = Bucket;
    fn judge(bucket: &Bucket, reference: &str) -> Verdict {
        (!bucket.public_members.is_empty()).then(|| {
            let name = reference.rsplit('/').next().unwrap_or(reference);
            let members = bucket.public_members.join(", ");
            (
                format!("Cloud Storage bucket {reference} is public: its IAM policy grants access to {members}."),
                format!("Remove {members} from the IAM policy of bucket {name} and turn on public access prevention: in the console, Cloud Storage > {name} > Permissions; or gcloud storage buckets remove-iam-policy-binding gs://{name} --member=allUsers --role=<role>, then gcloud storage buckets update gs://{name} --public-access-prevention"),
            )
        })
    }
}

/// `gcppublicbucketevent`.
pub type PublicBucket = RuleCheck<PublicBucketRule>;

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::record::Envelope;
    use cloudmarker_plugin_api::sdk::check::assert_check;
    use cloudmarker_plugin_api::sdk::rule::NoParams;
    use cloudmarker_plugin_api::sdk::PluginType;
    use cloudrest::gcp;
    use serde_json::{json, Map};

    #[test]
    fn public_buckets() {
        let bucket = |members: &[&str]| {
            gcp::record(&Map::new(), "bucket")
                .reference("https://storage/b/b1")
                .ext("public_members", members)
                .to_value(&json!({}))
        };
        let events = assert_check(
            &mut PublicBucket::new(NoParams {}).unwrap(),
            "bucket_public_event",
            &bucket(&["allUsers"]),
            &bucket(&[]),
            // Another cloud's bucket.
            &[Envelope::new("azure", "bucket")
                .ext("public_members", ["allUsers"])
                .to_value(&json!({}))],
        );
        assert!(events[0]["com"]["recommendation"]
            .as_str()
            .unwrap()
            .contains("gs://b1"));
    }
}
