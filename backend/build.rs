//! Embeds the built dashboard (frontend/dist, made by scripts/build-dashboard.sh) into the
//! binary, so one file serves the API and the dashboard. Without a built dashboard the table
//! is empty and `/` explains how to build it.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let dist = Path::new(&manifest).join("../frontend/dist");
    let mut table = String::from("pub static ASSETS: &[(&str, &[u8])] = &[\n");
    match std::fs::read_dir(&dist) {
        Ok(entries) => {
            println!("cargo:rerun-if-changed={}", dist.display());
            let mut files: Vec<_> = entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.path())
                .collect();
            files.sort();
            for path in files {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let _ = writeln!(
                    table,
                    "    ({name:?}, include_bytes!({:?})),",
                    path.display().to_string()
                );
            }
        }
        // Noticed once it is built: the folder appears inside frontend/.
        Err(_) => println!("cargo:rerun-if-changed={}", dist.join("..").display()),
    }
    table.push_str("];\n");
    let out = std::env::var("OUT_DIR").unwrap_or_default();
    if let Err(err) = std::fs::write(Path::new(&out).join("dashboard_assets.rs"), table) {
        panic!("cannot write the dashboard asset table: {err}");
    }
}
