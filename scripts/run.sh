#!/usr/bin/env bash
# Builds the dashboard and the coordinator, and starts the coordinator with its embedded
# SQLite database (under ./data), serving the API and the dashboard on one port.
# Any setting can be passed as an environment variable or put in a .env file at the
# repository root; see .env.example.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo was not found on PATH; install Rust from https://rustup.rs and try again" >&2
    exit 1
fi

./scripts/build-dashboard.sh
exec cargo run --release -p coordinator -- serve
