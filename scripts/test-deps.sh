#!/usr/bin/env bash
# Installs the programs the test suite drives besides cargo: Debian's chromium and
# chromium-driver for the dashboard's browser tests (/usr/bin/chromium, /usr/bin/chromedriver),
# and curl and jq for the walk-through example the suite runs. Does nothing when all are
# present.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v jq >/dev/null 2>&1 || missing+=(jq)
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: the tests need ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "error: installing ${missing[*]} needs root; run: apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
echo "==> Installing ${missing[*]} for the tests" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y -q "${missing[@]}" >/dev/null; then
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q "${missing[@]}" >/dev/null
fi
