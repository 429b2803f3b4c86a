//! EC2: the enabled regions, instances, security groups with their rules
//! in the common `firewall_rule` model, and EBS volumes.

use crate::scope::Scope;
use crate::session::describe;
use aws_sdk_ec2::types::SecurityGroupRule;
use aws_sdk_ec2::Client;
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
    let client = Client::new(&scope.account.config);
    let answer = scope
        .call(client.describe_regions().send())
        .await
        .map_err(|e| format!("cannot list the regions: {}", describe(&e)))?;
    let mut regions: Vec<String> = answer
        .regions()
        .iter()
        .filter_map(|r| r.region_name().map(String::from))
        .collect();
    regions.sort();
    Ok(regions)
}

/// Every instance of the region, one `ec2_instance` record each
/// (`com.record_type: compute`).
pub async fn instances(scope: Scope<'_>) -> Result<usize, String> {
    let client = Client::new(&scope.account.in_region(scope.region));
    let mut pages = client.describe_instances().into_paginator().send();
    let mut count = 0;
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| describe(&e))?;
        for instance in page.reservations().iter().flat_map(|r| r.instances()) {
            if scope.full(count) {
                return Ok(count);
            }
            let id = instance.instance_id().unwrap_or_default();
            let raw = json!({
                "InstanceId": id,
                "InstanceType": instance.instance_type().map(|t| t.as_str()),
                "State": instance.state().and_then(|s| s.name()).map(|n| n.as_str()),
                "ImageId": instance.image_id(),
                "VpcId": instance.vpc_id(),
                "PublicIpAddress": instance.public_ip_address(),
                "IamInstanceProfile": instance.iam_instance_profile().and_then(|p| p.arn()),
                "MetadataHttpTokens": instance.metadata_options().and_then(|m| m.http_tokens()).map(|t| t.as_str()),
                "SecurityGroups": instance.security_groups().iter().filter_map(|g| g.group_id()).collect::<Vec<_>>(),
            });
            let mut ext = scope.ext(EC2_INSTANCE);
            ext.insert("instance_id".into(), id.into());
            ext.insert("state".into(), raw["State"].clone());
            ext.insert("public_ip".into(), raw["PublicIpAddress"].clone());
            ext.insert(
                "imdsv2_required".into(),
                (raw["MetadataHttpTokens"] == "required").into(),
            );
            let arn = scope.arn("ec2", &format!("instance/{id}"));
            count += 1;
            if !scope.emit(raw, ext, "compute", &arn) {
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
    let client = Client::new(&scope.account.in_region(scope.region));
    let mut pages = client.describe_security_groups().into_paginator().send();
    let mut count = 0;
    'pages: while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| describe(&e))?;
        for group in page.security_groups() {
            if scope.full(count) {
                break 'pages;
            }
            let id = group.group_id().unwrap_or_default();
            let raw = json!({
                "GroupId": id,
                "GroupName": group.group_name(),
                "Description": group.description(),
                "VpcId": group.vpc_id(),
                "OwnerId": group.owner_id(),
            });
            let mut ext = scope.ext(SECURITY_GROUP);
            ext.insert("group_id".into(), id.into());
            ext.insert("group_name".into(), raw["GroupName"].clone());
            count += 1;
            let arn = scope.arn("ec2", &format!("security-group/{id}"));
            if !scope.emit(raw, ext, SECURITY_GROUP, &arn) {
                return Ok(count);
            }
        }
    }
    scope
        .read(SECURITY_GROUP_RULE, security_group_rules(scope, &client))
        .await;
    Ok(count)
}

async fn security_group_rules(scope: Scope<'_>, client: &Client) -> Result<usize, String> {
    let mut pages = client
        .describe_security_group_rules()
        .into_paginator()
        .send();
    let mut count = 0;
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| describe(&e))?;
        for rule in page.security_group_rules() {
            if scope.full(count) {
                return Ok(count);
            }
            let id = rule.security_group_rule_id().unwrap_or_default();
            let raw = json!({
                "SecurityGroupRuleId": id,
                "GroupId": rule.group_id(),
                "IsEgress": rule.is_egress(),
                "IpProtocol": rule.ip_protocol(),
                "FromPort": rule.from_port(),
                "ToPort": rule.to_port(),
                "CidrIpv4": rule.cidr_ipv4(),
                "CidrIpv6": rule.cidr_ipv6(),
                "PrefixListId": rule.prefix_list_id(),
                "ReferencedGroupId": rule.referenced_group_info().and_then(|g| g.group_id()),
                "Description": rule.description(),
            });
            let mut ext = scope.ext(SECURITY_GROUP_RULE);
            ext.insert("group_id".into(), raw["GroupId"].clone());
            ext.insert("security_group_rule_id".into(), id.into());
            let arn = scope.arn("ec2", &format!("security-group-rule/{id}"));
            let com = firewall_rule(rule, arn);
            count += 1;
            if !scope.emit_with(raw, ext, json!(com)) {
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
    let protocol = match rule.ip_protocol().unwrap_or("-1") {
        "-1" => "all",
        "6" | "tcp" => "tcp",
        "17" | "udp" => "udp",
        "1" | "icmp" => "icmp",
        "58" | "icmpv6" => "icmpv6",
        other => other,
    };
    let ports = match (protocol, rule.from_port(), rule.to_port()) {
        ("all", _, _) | (_, None | Some(-1), _) => vec!["0-65535".to_string()],
        ("icmp" | "icmpv6", _, _) => Vec::new(),
        (_, Some(from), Some(to)) if from != to => vec![format!("{from}-{to}")],
        (_, Some(port), _) => vec![port.to_string()],
    };
    let peer = rule
        .cidr_ipv4()
        .or(rule.cidr_ipv6())
        .or(rule.prefix_list_id())
        .or(rule.referenced_group_info().and_then(|g| g.group_id()));
    FirewallRule {
        direction: Some(
            if rule.is_egress() == Some(true) {
                "out"
            } else {
                "in"
            }
            .into(),
        ),
        protocol: Some(protocol.into()),
        source_addresses: peer.map(String::from).into_iter().collect(),
        destination_ports: ports,
        ..FirewallRule::new("aws", Some(arn))
    }
}

/// Every EBS volume of the region: `ebs_volume` records with `encrypted`
/// (`com.record_type: disk`).
pub async fn volumes(scope: Scope<'_>) -> Result<usize, String> {
    let client = Client::new(&scope.account.in_region(scope.region));
    let mut pages = client.describe_volumes().into_paginator().send();
    let mut count = 0;
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| describe(&e))?;
        for volume in page.volumes() {
            if scope.full(count) {
                return Ok(count);
            }
            let id = volume.volume_id().unwrap_or_default();
            let attached_to: Vec<&str> = volume
                .attachments()
                .iter()
                .filter_map(|a| a.instance_id())
                .collect();
            let raw = json!({
                "VolumeId": id,
                "Encrypted": volume.encrypted(),
                "KmsKeyId": volume.kms_key_id(),
                "State": volume.state().map(|s| s.as_str()),
                "Size": volume.size(),
                "VolumeType": volume.volume_type().map(|t| t.as_str()),
                "AvailabilityZone": volume.availability_zone(),
                "Attachments": attached_to,
            });
            let mut ext = scope.ext(EBS_VOLUME);
            ext.insert("volume_id".into(), id.into());
            ext.insert(
                "encrypted".into(),
                volume.encrypted().unwrap_or(false).into(),
            );
            ext.insert(
                "disk_type".into(),
                if attached_to.is_empty() {
                    "unattached"
                } else {
                    "attached"
                }
                .into(),
            );
            ext.insert("attached_to".into(), json!(attached_to));
            let arn = scope.arn("ec2", &format!("volume/{id}"));
            count += 1;
            if !scope.emit(raw, ext, "disk", &arn) {
                return Ok(count);
            }
        }
    }
    Ok(count)
}
