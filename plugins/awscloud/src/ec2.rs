//! EC2: the enabled regions, instances, security groups with their rules
//! in the common `firewall_rule` model, and EBS volumes (through the Query
//! API client of `query.rs`).

use crate::query::{self, Ec2, SecurityGroupRule};
use crate::scope::{Scope, CLOUD_TYPE};
use cloudmarker_plugin_api::record::FirewallRule;
use serde_json::json;

/// `ext.record_type` of an instance.
pub const EC2_INSTANCE: &str = "ec2_instance";
/// `ext.record_type` of a security group.
pub const SECURITY_GROUP: &str = "security_group";
/// `ext.record_type` of a security group rule (`com`: `firewall_rule`).
pub const SECURITY_GROUP_RULE: &str = "security_group_rule";
/// `ext.record_type` of an EBS volume.
pub const EBS_VOLUME: &str = "ebs_volume";

/// The regions enabled for the account (those opted out are left out).
pub async fn enabled_regions(scope: Scope<'_>) -> Result<Vec<String>, String> {
    let ec2 = Ec2::new(&scope.account.config);
    let answer = scope
        .call(ec2.read("DescribeRegions", &[], query::regions))
        .await
        .map_err(|e| format!("cannot list the regions: {e}"))?;
    let mut regions: Vec<String> = answer.into_iter().filter_map(|r| r.region_name).collect();
    regions.sort();
    Ok(regions)
}

/// Every instance of the region, one `ec2_instance` record each
/// (`com.record_type: compute`).
pub async fn instances(scope: Scope<'_>) -> Result<usize, String> {
    let ec2 = Ec2::new(&scope.account.in_region(scope.region));
    let mut pages = ec2.pages("DescribeInstances", query::instances);
    let mut count = 0;
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| e.to_string())?;
        for instance in &page {
            if scope.full(count) {
                return Ok(count);
            }
            let id = instance.instance_id.as_deref().unwrap_or_default();
            let raw = json!({
                "InstanceId": id,
                "InstanceType": instance.instance_type,
                "State": instance.state,
                "ImageId": instance.image_id,
                "VpcId": instance.vpc_id,
                "PublicIpAddress": instance.public_ip_address,
                "IamInstanceProfile": instance.iam_instance_profile_arn,
                "MetadataHttpTokens": instance.metadata_http_tokens,
                "SecurityGroups": instance.security_groups,
            });
            let record = scope
                .record(EC2_INSTANCE)
                .com_record_type(Some("compute"))
                .reference(scope.arn("ec2", &format!("instance/{id}")))
                .ext("instance_id", id)
                .ext("state", raw["State"].clone())
                .ext("public_ip", raw["PublicIpAddress"].clone())
                .ext("imdsv2_required", raw["MetadataHttpTokens"] == "required");
            count += 1;
            if !scope.emit(&raw, &record) {
                return Ok(count);
            }
        }
    }
    Ok(count)
}

/// Every security group of the region (`security_group` records), then
/// every rule of every group as a `firewall_rule` record (counted as
/// `security_group_rule`).
pub async fn security_groups(scope: Scope<'_>) -> Result<usize, String> {
    let ec2 = Ec2::new(&scope.account.in_region(scope.region));
    let mut pages = ec2.pages("DescribeSecurityGroups", query::security_groups);
    let mut count = 0;
    'pages: while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| e.to_string())?;
        for group in &page {
            if scope.full(count) {
                break 'pages;
            }
            let id = group.group_id.as_deref().unwrap_or_default();
            let raw = json!({
                "GroupId": id,
                "GroupName": group.group_name,
                "Description": group.description,
                "VpcId": group.vpc_id,
                "OwnerId": group.owner_id,
            });
            let record = scope
                .record(SECURITY_GROUP)
                .reference(scope.arn("ec2", &format!("security-group/{id}")))
                .ext("group_id", id)
                .ext("group_name", raw["GroupName"].clone());
            count += 1;
            if !scope.emit(&raw, &record) {
                return Ok(count);
            }
        }
    }
    scope
        .read(SECURITY_GROUP_RULE, security_group_rules(scope, &ec2))
        .await;
    Ok(count)
}

async fn security_group_rules(scope: Scope<'_>, ec2: &Ec2) -> Result<usize, String> {
    let mut pages = ec2.pages("DescribeSecurityGroupRules", query::security_group_rules);
    let mut count = 0;
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| e.to_string())?;
        for rule in &page {
            if scope.full(count) {
                return Ok(count);
            }
            let id = rule.security_group_rule_id.as_deref().unwrap_or_default();
            let raw = json!({
                "SecurityGroupRuleId": id,
                "GroupId": rule.group_id,
                "IsEgress": rule.is_egress,
                "IpProtocol": rule.ip_protocol,
                "FromPort": rule.from_port,
                "ToPort": rule.to_port,
                "CidrIpv4": rule.cidr_ipv4,
                "CidrIpv6": rule.cidr_ipv6,
                "PrefixListId": rule.prefix_list_id,
                "ReferencedGroupId": rule.referenced_group_id,
                "Description": rule.description,
            });
            let arn = scope.arn("ec2", &format!("security-group-rule/{id}"));
            let record = scope
                .record(SECURITY_GROUP_RULE)
                .ext("group_id", raw["GroupId"].clone())
                .ext("security_group_rule_id", id)
                .com_model(&firewall_rule(rule, arn));
            count += 1;
            if !scope.emit(&raw, &record) {
                return Ok(count);
            }
        }
    }
    Ok(count)
}

/// A security group rule in the common model: `direction` `in` for
/// ingress and `out` for egress; `source_addresses` the peer (the IPv4 or
/// IPv6 range, prefix list or group; for an egress rule, where it may
/// connect to); protocol `-1` is `all` (every port).
pub fn firewall_rule(rule: &SecurityGroupRule, arn: String) -> FirewallRule {
    let protocol = match rule.ip_protocol.as_deref().unwrap_or("-1") {
        "-1" => "all",
        "6" | "tcp" => "tcp",
        "17" | "udp" => "udp",
        "1" | "icmp" => "icmp",
        "58" | "icmpv6" => "icmpv6",
        other => other,
    };
    let ports = match (protocol, rule.from_port, rule.to_port) {
        ("all", _, _) | (_, None | Some(-1), _) => vec!["0-65535".to_string()],
        ("icmp" | "icmpv6", _, _) => Vec::new(),
        (_, Some(from), Some(to)) if from != to => vec![format!("{from}-{to}")],
        (_, Some(port), _) => vec![port.to_string()],
    };
    let peer = [
        &rule.cidr_ipv4,
        &rule.cidr_ipv6,
        &rule.prefix_list_id,
        &rule.referenced_group_id,
    ]
    .into_iter()
    .find_map(Option::as_deref);
    FirewallRule {
        direction: Some(
            if rule.is_egress == Some(true) {
                "out"
            } else {
                "in"
            }
            .into(),
        ),
        protocol: Some(protocol.into()),
        source_addresses: peer.map(String::from).into_iter().collect(),
        destination_ports: ports,
        ..FirewallRule::new(CLOUD_TYPE, Some(arn))
    }
}

/// Every EBS volume of the region: `ebs_volume` records with `encrypted`
/// (`com.record_type: disk`).
pub async fn volumes(scope: Scope<'_>) -> Result<usize, String> {
    let ec2 = Ec2::new(&scope.account.in_region(scope.region));
    let mut pages = ec2.pages("DescribeVolumes", query::volumes);
    let mut count = 0;
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| e.to_string())?;
        for volume in &page {
            if scope.full(count) {
                return Ok(count);
            }
            let id = volume.volume_id.as_deref().unwrap_or_default();
            let attached_to = &volume.attached_to;
            let raw = json!({
                "VolumeId": id,
                "Encrypted": volume.encrypted,
                "KmsKeyId": volume.kms_key_id,
                "State": volume.state,
                "Size": volume.size,
                "VolumeType": volume.volume_type,
                "AvailabilityZone": volume.availability_zone,
                "Attachments": attached_to,
            });
            let record = scope
                .record(EBS_VOLUME)
                .com_record_type(Some("disk"))
                .reference(scope.arn("ec2", &format!("volume/{id}")))
                .ext("volume_id", id)
                .ext("encrypted", volume.encrypted.unwrap_or(false))
                .ext(
                    "disk_type",
                    if attached_to.is_empty() {
                        "unattached"
                    } else {
                        "attached"
                    },
                )
                .ext("attached_to", json!(attached_to));
            count += 1;
            if !scope.emit(&raw, &record) {
                return Ok(count);
            }
        }
    }
    Ok(count)
}
