#!/usr/bin/env bash
# Static checks of the workspace: formatting, lints (warnings count as errors), natively and
# for wasm32-unknown-unknown, the target of the browser dashboard and of the wire crate it
# shares. Stops at the first step that fails.
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

step "Dashboard and wire crate for wasm32-unknown-unknown (lints, warnings are errors)"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
cargo clippy -p coordinator-dashboard -p coordinator-api --target wasm32-unknown-unknown -- -D warnings

step "All checks passed"
