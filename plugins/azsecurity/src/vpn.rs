//! Virtual network gateways and how their point-to-site VPN authenticates
//! users, for the `aznetwork` cloud plugin. Azure lists these gateways per
//! resource group only, so the subscription's resources are listed filtered
//! to their type, and each one is read.

use crate::lists::{text, Subscription};
use cloudrest::azure::{self, Collected, Session};
use serde_json::Value;

/// `record_type` of a virtual network gateway.
pub const VPN_GATEWAY: &str = "vpn_gateway";

/// The api-version of the subscription's resource list.
const RESOURCES_API: &str = "2021-04-01";
/// The api-version of a gateway's read.
const GATEWAY_API: &str = "2024-03-01";

/// The subscription's virtual network gateways (`Microsoft.Resources/
/// subscriptions/resources/read` filtered to the type, then
/// `Microsoft.Network/virtualNetworkGateways/read` each): one `vpn_gateway`
/// record each. A list or read that fails is counted as failed.
pub fn gateways(session: &Session, sub: &Subscription<'_>, read: &mut Collected) -> Vec<String> {
    let url = format!(
        "{}/subscriptions/{}/resources?$filter=resourceType%20eq%20%27Microsoft.Network%2FvirtualNetworkGateways%27&api-version={RESOURCES_API}",
        session.resource_manager, sub.subscription_id
    );
    let what = format!(
        "subscription {}: listing the virtual network gateways",
        sub.subscription_id
    );
    let max = session.params.max_recs;
    let mut ids = Vec::new();
    let listed = azure::list(&session.http, &what, &url, &session.token, |page| {
        for item in page {
            if max == 0 || ids.len() < max {
                ids.extend(text(&item, &["id"]).map(str::to_string));
            }
        }
    });
    if let Err(e) = listed {
        log::warn!("aznetwork: {e}");
        read.fail(VPN_GATEWAY, format!("aznetwork: {e}"));
        return Vec::new();
    }
    read.count(VPN_GATEWAY, 0);
    let mut records = Vec::new();
    for id in ids {
        let url = format!("{}{id}?api-version={GATEWAY_API}", session.resource_manager);
        let name = id.rsplit('/').next().unwrap_or("?");
        let what = format!(
            "subscription {}: reading virtual network gateway {name}",
            sub.subscription_id
        );
        let gateway = session.token.get().and_then(|token| {
            session
                .http
                .get_json(&what, &url, &token)
                .map_err(|e| e.to_string())
        });
        match gateway {
            Ok(gateway) => {
                read.count(VPN_GATEWAY, 1);
                records.push(gateway_record(sub, &gateway));
            }
            Err(e) => {
                log::warn!("aznetwork: {e}");
                read.fail(VPN_GATEWAY, format!("aznetwork: {e}"));
            }
        }
    }
    records
}

/// A gateway: `raw` as read; in `ext`, `gateway_type` (`Vpn`,
/// `ExpressRoute`), `point_to_site` (it has a point-to-site configuration:
/// client address pools, protocols or a way to authenticate) and
/// `p2s_auth_types`: `vpnAuthenticationTypes` when set, else what the
/// configuration implies (`Certificate` for root certificates, `Radius` for
/// a RADIUS server, `AAD` for an Entra ID tenant), sorted.
fn gateway_record(sub: &Subscription<'_>, gateway: &Value) -> String {
    let config = gateway
        .pointer("/properties/vpnClientConfiguration")
        .filter(|c| c.is_object());
    let auth = config.map(auth_types).unwrap_or_default();
    let point_to_site = config.is_some_and(|c| {
        let non_empty = |key: &str| {
            c.get(key)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        };
        !auth.is_empty()
            || non_empty("vpnClientProtocols")
            || c.pointer("/vpnClientAddressPool/addressPrefixes")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
    });
    azure::record(sub.ext, VPN_GATEWAY)
        .reference(gateway.get("id").cloned().unwrap_or(Value::Null))
        .ext(
            "gateway_type",
            text(gateway, &["properties", "gatewayType"]),
        )
        .ext("point_to_site", point_to_site)
        .ext("p2s_auth_types", auth)
        .to_json(gateway)
}

/// The point-to-site authentication types of a `vpnClientConfiguration`.
fn auth_types(config: &Value) -> Vec<String> {
    let declared: Vec<String> = config
        .get("vpnAuthenticationTypes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let mut types = if declared.is_empty() {
        let non_empty_array = |key: &str| {
            config
                .get(key)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        };
        let non_empty_text = |key: &str| text(config, &[key]).is_some_and(|v| !v.trim().is_empty());
        let mut implied = Vec::new();
        if non_empty_array("vpnClientRootCertificates") {
            implied.push("Certificate".to_string());
        }
        if non_empty_array("radiusServers") || non_empty_text("radiusServerAddress") {
            implied.push("Radius".to_string());
        }
        if non_empty_text("aadTenant") {
            implied.push("AAD".to_string());
        }
        implied
    } else {
        declared
    };
    types.sort();
    types.dedup();
    types
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_authentication_types_are_declared_or_implied() {
        assert_eq!(
            auth_types(
                &json!({"vpnAuthenticationTypes": ["AAD"], "radiusServers": [{"radiusServerAddress": "10.1.0.0"}]})
            ),
            ["AAD"]
        );
        assert_eq!(
            auth_types(
                &json!({"vpnClientProtocols": ["OpenVPN"], "vpnClientRootCertificates": [],
                "radiusServers": [{"radiusServerAddress": "10.1.0.0", "radiusServerScore": 20}]})
            ),
            ["Radius"]
        );
        assert_eq!(
            auth_types(
                &json!({"vpnClientRootCertificates": [{"name": "root"}], "aadTenant": "https://login.microsoftonline.com/t"})
            ),
            ["AAD", "Certificate"]
        );
        assert!(auth_types(&json!({})).is_empty());
    }
}
