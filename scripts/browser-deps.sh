#!/usr/bin/env bash
# Installs what the dashboard's browser tests drive: Debian's chromium and chromium-driver
# (/usr/bin/chromium, /usr/bin/chromedriver). Does nothing when both are present.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: the browser tests need chromium and chromedriver; install them (Debian: apt-get install chromium chromium-driver) or set CHROMIUM and CHROMEDRIVER" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "error: installing chromium needs root; run: apt-get install chromium chromium-driver" >&2
        exit 1
    fi
fi
echo "==> Installing chromium and chromium-driver for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y -q chromium chromium-driver >/dev/null; then
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q chromium chromium-driver >/dev/null
fi
