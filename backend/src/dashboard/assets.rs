//! The files of the built dashboard, embedded into the binary by `rust-embed`, looked up by
//! name. The gzipped copies are made by scripts/build-dashboard.sh and embedded beside them.

use actix_web::web::Bytes;
use rust_embed::Embed;
use std::borrow::Cow;

#[derive(Embed)]
#[folder = "../frontend/dist/"]
// A coordinator built before its dashboard still serves the API, and `/` says how to build.
#[allow_missing = true]
struct Dist;

pub struct Asset {
    pub bytes: Bytes,
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

pub fn get(name: &str) -> Option<Asset> {
    let file = Dist::get(name)?;
    let bytes = match file.data {
        Cow::Borrowed(bytes) => Bytes::from_static(bytes),
        Cow::Owned(bytes) => Bytes::from(bytes),
    };
    Some(Asset {
        bytes,
        content_type: content_type(name),
        etag: format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..12])),
    })
}

/// Whether this binary was built with the dashboard.
pub fn built() -> bool {
    Dist::get("index.html").is_some()
}
