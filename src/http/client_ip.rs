//! The client's network address: the peer address, or the right-most untrusted hop of
//! `X-Forwarded-For` when the peer is a proxy listed in `MASTHEAD_TRUSTED_PROXIES`.

use std::net::IpAddr;

use actix_web::HttpRequest;

/// The address rate limits and comment hashes use.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    let Some(peer) = peer else {
        return "unknown".into();
    };
    if !trusted_proxies.contains(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    // Walk from the nearest hop back; the first address that is not one of our proxies is the client.
    forwarded
        .iter()
        .rev()
        .find(|ip| !trusted_proxies.contains(ip))
        .or(forwarded.first())
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| peer.to_string())
}
