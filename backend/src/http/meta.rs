//! What an audit row records about a request besides its actor.

use crate::audit::{Actor, Origin};
use crate::config::Config;
use actix_web::{HttpMessage, HttpRequest};
use std::net::IpAddr;

pub const CORRELATION_HEADER: &str = "x-correlation-id";
const MAX_CORRELATION_LEN: usize = 128;

/// The client's address: the TCP peer, or — only when the peer is a trusted proxy — the
/// nearest untrusted address in `X-Forwarded-For`.
pub fn client_address(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let nearest_untrusted = forwarded
        .rsplit(',')
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .find(|ip| !trusted_proxies.contains(ip));
    Some(nearest_untrusted.unwrap_or(peer))
}

pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string())
}

/// The caller's correlation id, when it is a sensible identifier.
pub fn correlation_id(req: &HttpRequest) -> Option<String> {
    let raw = req.headers().get(CORRELATION_HEADER)?.to_str().ok()?.trim();
    let sensible = !raw.is_empty()
        && raw.len() <= MAX_CORRELATION_LEN
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    sensible.then(|| raw.to_owned())
}

pub fn origin(req: &HttpRequest, config: &Config, actor: Actor) -> Origin {
    Origin {
        actor,
        request_id: request_id(req),
        client_address: client_address(req, &config.trusted_proxies).map(|ip| ip.to_string()),
        correlation_id: correlation_id(req),
    }
}
