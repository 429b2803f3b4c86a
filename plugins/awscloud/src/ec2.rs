//! EC2: the enabled regions, instances, security groups with their rules
//! in the common `firewall_rule` model, network ACL entries in the same
//! model, EBS volumes and the region's EBS encryption default, VPCs with
//! their flow logs (through the Query API client of `query.rs`).

use crate::query::{self, Ec2, NetworkAclEntry, SecurityGroupRule};
use crate::scope::{Scope, CLOUD_TYPE};
use cloudmarker_plugin_api::record::FirewallRule;
use serde_json::json;
use std::collections::BTreeMap;

/// `ext.record_type` of a region's EBS encryption default (one record per
/// account and region).
pub const EBS_ENCRYPTION_DEFAULT: &str = "ebs_encryption_default";
/// `ext.record_type` of a VPC (with its flow logs).
pub const VPC: &str = "vpc";
/// `ext.record_type` of a network ACL entry (`com`: `firewall_rule`).
pub const NETWORK_ACL_ENTRY: &str = "network_acl_entry";

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
            // Every VPC has one group named `default` (EC2-Classic's
            // too): the name cannot be taken by another group.
            let is_default = group.group_name.as_deref() == Some("default");
            let record = scope
                .record(SECURITY_GROUP)
                .reference(scope.arn("ec2", &format!("security-group/{id}")))
                .ext("group_id", id)
                .ext("group_name", raw["GroupName"].clone())
                .ext("vpc_id", raw["VpcId"].clone())
                .ext("is_default", is_default)
                .ext("ingress_rule_count", group.ingress_rules)
                .ext("egress_rule_count", group.egress_rules);
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

/// The region's EBS encryption default (`GetEbsEncryptionByDefault`): one
/// `ebs_encryption_default` record with `enabled`.
pub async fn ebs_encryption_default(scope: Scope<'_>) -> Result<usize, String> {
    let ec2 = Ec2::new(&scope.account.in_region(scope.region));
    let enabled = scope
        .call(ec2.read(
            "GetEbsEncryptionByDefault",
            &[],
            query::ebs_encryption_by_default,
        ))
        .await
        .map_err(|e| e.to_string())?;
    let raw = json!({"EbsEncryptionByDefault": enabled});
    let record = scope
        .record(EBS_ENCRYPTION_DEFAULT)
        .reference(scope.arn("ec2", "ebs-encryption-by-default"))
        .ext("enabled", enabled);
    scope.emit(&raw, &record);
    Ok(1)
}

/// Every VPC of the region, one `vpc` record each with its flow logs
/// (`flow_logs`: id, status, traffic type) and `flow_logging`: whether
/// one of them is active and records rejected traffic (`ALL` or
/// `REJECT`).
pub async fn vpcs(scope: Scope<'_>) -> Result<usize, String> {
    let ec2 = Ec2::new(&scope.account.in_region(scope.region));
    let mut logs: BTreeMap<String, Vec<query::FlowLog>> = BTreeMap::new();
    let mut pages = ec2.pages("DescribeFlowLogs", query::flow_logs);
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| format!("flow logs: {e}"))?;
        for log in page {
            if let Some(resource) = log.resource_id.clone() {
                logs.entry(resource).or_default().push(log);
            }
        }
    }
    let mut pages = ec2.pages("DescribeVpcs", query::vpcs);
    let mut count = 0;
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| e.to_string())?;
        for vpc in &page {
            if scope.full(count) {
                return Ok(count);
            }
            let id = vpc.vpc_id.as_deref().unwrap_or_default();
            let own = logs.get(id).map(Vec::as_slice).unwrap_or_default();
            let flow_logs: Vec<_> = own
                .iter()
                .map(|log| {
                    json!({
                        "flow_log_id": log.flow_log_id,
                        "status": log.status,
                        "traffic_type": log.traffic_type,
                        "destination_type": log.destination_type,
                    })
                })
                .collect();
            let logging = own.iter().any(|log| {
                log.status.as_deref() == Some("ACTIVE")
                    && matches!(log.traffic_type.as_deref(), Some("ALL" | "REJECT"))
            });
            let raw = json!({
                "VpcId": id,
                "IsDefault": vpc.is_default,
                "State": vpc.state,
                "CidrBlock": vpc.cidr_block,
                "OwnerId": vpc.owner_id,
                "FlowLogs": flow_logs,
            });
            let record = scope
                .record(VPC)
                .com_record_type(Some("network"))
                .reference(scope.arn("ec2", &format!("vpc/{id}")))
                .ext("vpc_id", id)
                .ext("is_default", vpc.is_default.unwrap_or(false))
                .ext("flow_logs", json!(flow_logs))
                .ext("flow_logging", logging);
            count += 1;
            if !scope.emit(&raw, &record) {
                return Ok(count);
            }
        }
    }
    Ok(count)
}

/// Every entry of every network ACL of the region, one
/// `network_acl_entry` record each in the common `firewall_rule` model
/// (see [`network_acl_rule`]).
pub async fn network_acl_entries(scope: Scope<'_>) -> Result<usize, String> {
    let ec2 = Ec2::new(&scope.account.in_region(scope.region));
    let mut pages = ec2.pages("DescribeNetworkAcls", query::network_acls);
    let mut count = 0;
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| e.to_string())?;
        for acl in &page {
            for entry in &acl.entries {
                if scope.full(count) {
                    return Ok(count);
                }
                let id = acl.network_acl_id.as_deref().unwrap_or_default();
                let direction = if entry.egress == Some(true) {
                    "egress"
                } else {
                    "ingress"
                };
                let number = entry.rule_number.unwrap_or_default();
                let raw = json!({
                    "NetworkAclId": id,
                    "VpcId": acl.vpc_id,
                    "IsDefault": acl.is_default,
                    "RuleNumber": entry.rule_number,
                    "Protocol": entry.protocol,
                    "RuleAction": entry.rule_action,
                    "Egress": entry.egress,
                    "CidrBlock": entry.cidr_block,
                    "Ipv6CidrBlock": entry.ipv6_cidr_block,
                    "PortRange": entry.port_range.as_ref().map(|r| json!({"From": r.from, "To": r.to})),
                });
                let arn = scope.arn("ec2", &format!("network-acl/{id}/{direction}/{number}"));
                let record = scope
                    .record(NETWORK_ACL_ENTRY)
                    .ext("network_acl_id", id)
                    .ext("vpc_id", raw["VpcId"].clone())
                    .ext("rule_number", number)
                    .com_model(&network_acl_rule(entry, arn));
                count += 1;
                if !scope.emit(&raw, &record) {
                    return Ok(count);
                }
            }
        }
    }
    Ok(count)
}

/// A network ACL entry in the common model: `direction` `in` or `out`,
/// `access` the entry's action (`allow` or `deny`), `source_addresses` its
/// IPv4 or IPv6 range, `destination_ports` its port range (all ports for
/// protocol `-1` or without a range), protocol numbers 6, 17, 1 and 58 as
/// `tcp`, `udp`, `icmp` and `icmpv6`. An entry is evaluated on its own:
/// that a lower-numbered entry may deny the same traffic first is not
/// weighed (CIS 6.2 asks for no allowing entry at all).
pub fn network_acl_rule(entry: &NetworkAclEntry, arn: String) -> FirewallRule {
    let protocol = match entry.protocol.as_deref().unwrap_or("-1") {
        "-1" | "all" => "all",
        "6" | "tcp" => "tcp",
        "17" | "udp" => "udp",
        "1" | "icmp" => "icmp",
        "58" | "icmpv6" => "icmpv6",
        other => other,
    };
    let ports = match (protocol, &entry.port_range) {
        ("icmp" | "icmpv6", _) => Vec::new(),
        ("all", _) | (_, None) => vec!["0-65535".to_string()],
        (_, Some(range)) => match (range.from, range.to) {
            (Some(from), Some(to)) if from != to => vec![format!("{from}-{to}")],
            (Some(port), _) => vec![port.to_string()],
            _ => vec!["0-65535".to_string()],
        },
    };
    let source = entry.cidr_block.as_ref().or(entry.ipv6_cidr_block.as_ref());
    FirewallRule {
        direction: Some(
            if entry.egress == Some(true) {
                "out"
            } else {
                "in"
            }
            .into(),
        ),
        access: entry.rule_action.clone(),
        protocol: Some(protocol.into()),
        source_addresses: source.cloned().into_iter().collect(),
        destination_ports: ports,
        ..FirewallRule::new(CLOUD_TYPE, Some(arn))
    }
}
