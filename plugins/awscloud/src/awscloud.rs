//! The `awscloud` cloud plugin.

use crate::collect::collect;
use crate::organizations;
use crate::params::AwsParams;
use crate::session;
use cloudmarker_plugin_api::sdk::stream::{StreamCloud, StreamReader};
use cloudmarker_plugin_api::sdk::{self, stream::Emitter};
use cloudmarker_plugin_api::PluginError;

/// Reads an AWS estate (see the crate docs) on a background thread.
pub type AwsCloud = StreamCloud<AwsReader>;

/// What `awscloud` reads with: its params.
pub struct AwsReader {
    params: AwsParams,
}

impl StreamReader for AwsReader {
    type Params = AwsParams;
    const NAME: &'static str = "awscloud";
    const SHARDS: bool = true;
    const DESCRIPTION: &'static str = "Reads AWS accounts (a list, or a whole organization): EC2 instances, security groups and network ACLs as firewall rules, EBS, VPC flow logs, S3 buckets, IAM, CloudTrail, RDS, KMS, AWS Config, EFS, IAM Access Analyzer and Security Hub.";

    fn open(params: AwsParams) -> sdk::Result<Self> {
        params
            .check()
            .map_err(|e| PluginError::config(format!("{}: {e}", Self::NAME)))?;
        Ok(Self { params })
    }

    /// Signs in to every account (STS GetCallerIdentity), or lists the
    /// organization's accounts, and reads nothing else.
    fn health_check(&self) -> sdk::Result<String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| PluginError::failed(format!("{}: {e}", Self::NAME)))?;
        if let Some(organization) = &self.params.organization {
            let listed = runtime.block_on(async {
                let base = session::base_config(&self.params).await;
                organizations::members(&base, organization).await
            });
            return match listed {
                Ok(members) => Ok(format!(
                    "listed the organization: {} account(s) to audit, {} left out",
                    members.audit.len(),
                    members.skipped.len()
                )),
                Err(e) => Err(PluginError::unavailable(format!(
                    "{}: cannot list the organization's accounts: {e}",
                    Self::NAME
                ))),
            };
        }
        let accounts = runtime.block_on(session::accounts(&self.params));
        let mut reached = Vec::new();
        for account in accounts {
            match account {
                Ok(account) => reached.push(format!("account {} ({})", account.id, account.via)),
                Err(e) => return Err(PluginError::unavailable(format!("{}: {e}", Self::NAME))),
            }
        }
        Ok(format!("signed in to {}", reached.join(", ")))
    }

    fn collect(&self, emit: Emitter) {
        collect(&self.params, emit)
    }
}
