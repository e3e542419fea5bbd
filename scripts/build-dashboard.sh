#!/usr/bin/env bash
# Builds the web dashboard (frontend/, a Leptos app compiled to wasm) into frontend/dist,
# which the coordinator embeds and serves at `/`. Installs what the build needs when it is
# missing: the wasm32-unknown-unknown target and the wasm-bindgen command line tool of the
# exact version in Cargo.lock (the two must match or the generated glue does not load).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo was not found on PATH; install Rust from https://rustup.rs and try again" >&2
    exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "==> Installing the wasm32-unknown-unknown target" >&2
    rustup target add wasm32-unknown-unknown
fi

wanted="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [ -z "$wanted" ]; then
    echo "error: Cargo.lock names no wasm-bindgen version" >&2
    exit 1
fi
have="$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)"
if [ "$have" != "$wanted" ]; then
    echo "==> Installing wasm-bindgen-cli ${wanted} (found: ${have:-none})" >&2
    # Without --locked: the tool's own lock file names versions this registry may not hold.
    cargo install wasm-bindgen-cli --version "$wanted" --force
fi

echo "==> Building the dashboard (wasm, release)" >&2
cargo build -p coordinator-dashboard --target wasm32-unknown-unknown --profile dashboard

out=frontend/dist
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
# Names and producer notes are for debugging; without them the download is half as big.
wasm-bindgen --target web --no-typescript --out-name dashboard --out-dir "$staging" \
    --remove-name-section --remove-producers-section \
    "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/dashboard/coordinator-dashboard.wasm"
cp frontend/index.html frontend/boot.js frontend/style.css "$staging/"
# Compressed once here, so the coordinator can hand browsers the small copy without
# compressing on every request.
for file in dashboard_bg.wasm dashboard.js style.css; do
    gzip -9 -n -k "$staging/$file"
done
# Replace the folder in one step, so the coordinator's build never embeds half a dashboard.
rm -rf "$out.old"
[ -d "$out" ] && mv "$out" "$out.old"
mv "$staging" "$out"
chmod 755 "$out"
rm -rf "$out.old"
trap - EXIT
size="$(wc -c < "$out/dashboard_bg.wasm")"
compressed="$(wc -c < "$out/dashboard_bg.wasm.gz")"
echo "==> Dashboard built into $out (wasm: $size bytes, $compressed gzipped)" >&2
