//! The `aznetwork` cloud plugin: virtual networks (subnets and their
//! network security groups, DDoS protection), Bastion hosts, Network
//! Watchers and their flow logs, Application Gateway WAF policies and
//! virtual network gateways (point-to-site VPN), of every subscription.

use crate::lists::{text, Input, Lister, Listing, Records, Subscription};
use crate::vpn::{self, VPN_GATEWAY};
use cloudrest::azure::{self, AzurePlugin, Collected, ResourceType, Session};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// `record_type` of a virtual network.
pub const VIRTUAL_NETWORK: &str = "virtual_network";
/// `record_type` of a subscription's Bastion hosts (all in one record).
pub const BASTION_HOSTS: &str = "bastion_hosts";
/// `record_type` of a subscription's Network Watchers (all in one record,
/// with the locations they watch and the locations in use).
pub const NETWORK_WATCHERS: &str = "network_watchers";
/// `record_type` of a flow log (of a network security group or a virtual
/// network).
pub const FLOW_LOG: &str = "flow_log";

/// `record_type` of an Application Gateway web application firewall
/// policy.
pub const WAF_POLICY: &str = "waf_policy";

/// The api-version of the Microsoft.Network reads.
const NETWORK_API: &str = "2024-03-01";

/// Virtual networks (`Microsoft.Network/virtualNetworks/read`).
const VNETS: ResourceType = ResourceType {
    record_type: VIRTUAL_NETWORK,
    path: "providers/Microsoft.Network/virtualNetworks",
    api_version: NETWORK_API,
};

/// Bastion hosts (`Microsoft.Network/bastionHosts/read`).
const BASTIONS: ResourceType = ResourceType {
    record_type: BASTION_HOSTS,
    path: "providers/Microsoft.Network/bastionHosts",
    api_version: NETWORK_API,
};

/// Network Watchers (`Microsoft.Network/networkWatchers/read`).
const WATCHERS: ResourceType = ResourceType {
    record_type: NETWORK_WATCHERS,
    path: "providers/Microsoft.Network/networkWatchers",
    api_version: NETWORK_API,
};

/// Application Gateway WAF policies (`Microsoft.Network/
/// ApplicationGatewayWebApplicationFirewallPolicies/read`).
const WAF_POLICIES: ResourceType = ResourceType {
    record_type: WAF_POLICY,
    path: "providers/Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
    api_version: NETWORK_API,
};

/// Reads each subscription's virtual networks (one `virtual_network`
/// record each), Bastion hosts (one `bastion_hosts` record), Network
/// Watchers (one `network_watchers` record), each watcher's flow logs
/// (one `flow_log` record each), Application Gateway WAF policies (one
/// `waf_policy` record each) and virtual network gateways (one
/// `vpn_gateway` record each), then one `collection_summary`.
pub enum AzNetworkReader {}

impl Lister for AzNetworkReader {
    const NAME: &'static str = "aznetwork";
    const DESCRIPTION: &'static str =
        "Reads the virtual networks, Bastion hosts, Network Watchers, flow logs, Application Gateway WAF policies and virtual network gateways of every Azure subscription.";

    const TYPES: &'static [ResourceType] = &[VNETS, BASTIONS, WATCHERS, WAF_POLICIES];
    const MORE: &'static [&'static str] = &[FLOW_LOG, VPN_GATEWAY];
    const RECORDS: Records = records;
}

/// The `aznetwork` cloud plugin.
pub type AzNetwork = AzurePlugin<Listing<AzNetworkReader>>;

/// A location as Azure spells it in `name` form: `West US` and `westus`
/// are the same.
fn location(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The records of one subscription.
fn records(input: &Input<'_>, read: &mut Collected) -> Vec<String> {
    let (session, sub, lists) = (input.session, input.sub, input.lists);
    let mut records = Vec::new();
    let vnets = lists.get(VIRTUAL_NETWORK);
    for vnet in vnets.into_iter().flatten() {
        records.push(vnet_record(sub, vnet));
    }
    if let Some(bastions) = lists.get(BASTION_HOSTS) {
        records.push(
            azure::record(sub.ext, BASTION_HOSTS)
                .reference(sub.id)
                .ext("bastion_hosts", bastions.len())
                .to_json(&json!({ "bastionHosts": bastions })),
        );
    }
    if let Some(watchers) = lists.get(NETWORK_WATCHERS) {
        if let Some(vnets) = vnets {
            records.push(watchers_record(sub, watchers, vnets));
        }
        // Read, even when there is no watcher (then none).
        read.count(FLOW_LOG, 0);
        for watcher in watchers {
            records.extend(flow_logs(session, sub, watcher, read));
        }
    }
    for policy in lists.get(WAF_POLICY).into_iter().flatten() {
        records.push(waf_policy_record(sub, policy));
    }
    records.extend(vpn::gateways(session, sub, read));
    records
}

/// The managed rule set of Azure WAF's bot protection.
const BOT_MANAGER_RULE_SET: &str = "Microsoft_BotManagerRuleSet";

/// An Application Gateway WAF policy: `raw` as listed; in `ext`, `state`
/// and `mode` (`policySettings`), `request_body_check`
/// (`policySettings.requestBodyCheck`, null when not set),
/// `bot_protection` (a managed rule set is Microsoft_BotManagerRuleSet)
/// and `application_gateways` (how many gateways use it).
fn waf_policy_record(sub: &Subscription<'_>, policy: &Value) -> String {
    let settings = policy
        .pointer("/properties/policySettings")
        .unwrap_or(&Value::Null);
    let bot_protection = policy
        .pointer("/properties/managedRules/managedRuleSets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|set| text(set, &["ruleSetType"]) == Some(BOT_MANAGER_RULE_SET));
    let gateways = policy
        .pointer("/properties/applicationGateways")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    azure::record(sub.ext, WAF_POLICY)
        .reference(policy.get("id").cloned().unwrap_or(Value::Null))
        .ext("state", text(settings, &["state"]))
        .ext("mode", text(settings, &["mode"]))
        .ext(
            "request_body_check",
            settings.get("requestBodyCheck").and_then(Value::as_bool),
        )
        .ext("bot_protection", bot_protection)
        .ext("application_gateways", gateways)
        .to_json(policy)
}

/// A virtual network: `raw` as listed; `ext.ddos_protection`
/// (`enableDdosProtection`), `ext.subnets_without_nsg` (the names of its
/// subnets with no network security group, every one: the rules leave out
/// the subnets Azure does not let have one) and `ext.location`.
fn vnet_record(sub: &Subscription<'_>, vnet: &Value) -> String {
    let without: Vec<&str> = vnet
        .pointer("/properties/subnets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| {
            s.pointer("/properties/networkSecurityGroup/id")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        })
        .filter_map(|s| text(s, &["name"]))
        .collect();
    azure::record(sub.ext, VIRTUAL_NETWORK)
        .reference(vnet.get("id").cloned().unwrap_or(Value::Null))
        .ext(
            "ddos_protection",
            vnet.pointer("/properties/enableDdosProtection")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        )
        .ext("subnets_without_nsg", without)
        .ext("location", text(vnet, &["location"]).map(location))
        .to_json(vnet)
}

/// The subscription's Network Watchers: `raw.networkWatchers`; in `ext`,
/// `watched_locations` (the locations of the watchers that are
/// provisioned), `locations_in_use` (the locations of the virtual
/// networks) and `unwatched_locations` (in use, not watched).
fn watchers_record(sub: &Subscription<'_>, watchers: &[Value], vnets: &[Value]) -> String {
    let watched: BTreeSet<String> = watchers
        .iter()
        .filter(|w| text(w, &["properties", "provisioningState"]).is_none_or(|s| s == "Succeeded"))
        .filter_map(|w| text(w, &["location"]))
        .map(location)
        .collect();
    let in_use: BTreeSet<String> = vnets
        .iter()
        .filter_map(|v| text(v, &["location"]))
        .map(location)
        .collect();
    let unwatched: Vec<&String> = in_use.difference(&watched).collect();
    azure::record(sub.ext, NETWORK_WATCHERS)
        .reference(sub.id)
        .ext("network_watchers", watchers.len())
        .ext("watched_locations", json!(watched))
        .ext("locations_in_use", json!(in_use))
        .ext("unwatched_locations", json!(unwatched))
        .to_json(&json!({ "networkWatchers": watchers }))
}

/// The flow logs of one watcher (`Microsoft.Network/networkWatchers/
/// flowLogs/read`), one `flow_log` record each: `raw` as listed;
/// `ext.target_type` (`network_security_group`, `virtual_network`, or
/// `other`), `ext.enabled`, `ext.retention_enabled`, `ext.retention_days`.
/// A watcher whose flow logs cannot be listed is counted as failed.
fn flow_logs(
    session: &Session,
    sub: &Subscription<'_>,
    watcher: &Value,
    read: &mut Collected,
) -> Vec<String> {
    let Some(id) = text(watcher, &["id"]) else {
        return Vec::new();
    };
    let url = format!(
        "{}{id}/flowLogs?api-version={NETWORK_API}",
        session.resource_manager
    );
    let name = text(watcher, &["name"]).unwrap_or(id);
    let what = format!(
        "subscription {}: listing the flow logs of watcher {name}",
        sub.subscription_id
    );
    let max = session.params.max_recs;
    let mut items = Vec::new();
    let listed = azure::list(&session.http, &what, &url, &session.token, |page| {
        for item in page {
            if max == 0 || items.len() < max {
                items.push(item);
            }
        }
    });
    if let Err(e) = listed {
        read.fail(FLOW_LOG, format!("aznetwork: {e}"));
        log::warn!("aznetwork: {e}");
        return Vec::new();
    }
    read.count(FLOW_LOG, items.len());
    items
        .iter()
        .map(|log| {
            let target = text(log, &["properties", "targetResourceId"])
                .unwrap_or_default()
                .to_ascii_lowercase();
            let target_type = if target.contains("/microsoft.network/networksecuritygroups/") {
                "network_security_group"
            } else if target.contains("/microsoft.network/virtualnetworks/") {
                "virtual_network"
            } else {
                "other"
            };
            let retention = log
                .pointer("/properties/retentionPolicy")
                .unwrap_or(&Value::Null);
            azure::record(sub.ext, FLOW_LOG)
                .reference(log.get("id").cloned().unwrap_or(Value::Null))
                .ext("target_type", target_type)
                .ext(
                    "enabled",
                    log.pointer("/properties/enabled")
                        .cloned()
                        .unwrap_or(Value::Null),
                )
                .ext(
                    "retention_enabled",
                    retention.get("enabled").cloned().unwrap_or(Value::Null),
                )
                .ext(
                    "retention_days",
                    retention.get("days").cloned().unwrap_or(Value::Null),
                )
                .to_json(log)
        })
        .collect()
}
