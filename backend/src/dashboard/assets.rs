//! The files of the built dashboard, looked up by name.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::LazyLock;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/dashboard_assets.rs"));
}

pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// A strong validator, so browsers revalidate cheaply instead of downloading again.
    pub etag: String,
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

static ASSETS: LazyLock<HashMap<&'static str, Asset>> = LazyLock::new(|| {
    embedded::ASSETS
        .iter()
        .map(|(name, bytes)| {
            let digest = Sha256::digest(bytes);
            let asset = Asset {
                bytes,
                content_type: content_type(name),
                etag: format!("\"{}\"", hex::encode(&digest[..12])),
            };
            (*name, asset)
        })
        .collect()
});

pub fn get(name: &str) -> Option<&'static Asset> {
    ASSETS.get(name)
}

/// Whether this binary was built with the dashboard.
pub fn built() -> bool {
    ASSETS.contains_key("index.html")
}
