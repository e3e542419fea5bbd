//! The dashboard (frontend/dist, made by scripts/build-dashboard.sh) is embedded by
//! `rust-embed`, whose derive sees changes to files it embedded but not a folder that
//! appears or gains files: this makes cargo rebuild the coordinator then.

use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let dist = Path::new(&manifest).join("../frontend/dist");
    if dist.is_dir() {
        println!("cargo:rerun-if-changed={}", dist.display());
    } else {
        // Watching a missing path would rerun this on every build.
        println!("cargo:rerun-if-changed={}", dist.join("..").display());
    }
}
