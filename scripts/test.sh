#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, the integration suite against the embedded
# SQLite database and against a real Postgres on 127.0.0.1:5432, and the dashboard's tests in
# headless Chromium. Nothing is skipped: this script starts Postgres when it is down, builds
# the dashboard (which the coordinator embeds) and installs chromium and chromedriver when
# they are missing. Extra arguments are passed on to `cargo test`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo was not found on PATH; install Rust from https://rustup.rs and try again" >&2
    exit 1
fi

if ! command -v pg_isready >/dev/null 2>&1; then
    echo "error: pg_isready was not found on PATH; install the Postgres client tools (postgresql-client)" >&2
    exit 1
fi

postgres_answers() {
    pg_isready -q -h 127.0.0.1 -p 5432
}

if ! postgres_answers; then
    if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null 2>&1; then
        version="$(ls /etc/postgresql | sort -V | tail -n 1)"
        echo "Postgres is not answering on 127.0.0.1:5432; starting cluster ${version}/main" >&2
        pg_ctlcluster --skip-systemctl-redirect "${version}" main start || true
        for _ in $(seq 1 20); do
            postgres_answers && break
            sleep 1
        done
    fi
fi

if ! postgres_answers; then
    cat >&2 <<'MSG'
error: Postgres does not answer on 127.0.0.1:5432.
The integration tests run against Postgres as well as SQLite and do not skip it.
Start a Postgres server that accepts connections there, then run this script again.
MSG
    exit 1
fi

./scripts/build-dashboard.sh
./scripts/test-deps.sh

export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

# Each test binary prints its own result line; the last one may belong to a crate without
# tests, so finish with the total over all of them.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --all-targets "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
