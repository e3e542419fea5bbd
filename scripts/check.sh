#!/usr/bin/env bash
# Static checks of the workspace: formatting, lints (warnings count as errors), and a build
# of the wire crate `coordinator-api` for wasm32-unknown-unknown, the target of the browser
# dashboard that shares it. Stops at the first step that fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo was not found on PATH; install Rust from https://rustup.rs and try again" >&2
    exit 1
fi

step() {
    printf '\n==> %s\n' "$*"
}

step "Formatting (cargo fmt --check)"
cargo fmt --all -- --check

step "Lints (cargo clippy, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "Wire crate for wasm32-unknown-unknown"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
cargo build -p coordinator-api --target wasm32-unknown-unknown

step "All checks passed"
