#!/bin/sh
# Installs Debian's chromium (headless) for the report's browser test
# (tests/report.rs), once per machine: prints the browser's path. Needs
# root and apt; CI runs it before the tests (.ci/run), and the test runs it
# too when the browser is missing.
set -eu
for name in chromium chromium-browser; do
    if path=$(command -v "$name"); then
        echo "$path"
        exit 0
    fi
done
if [ "$(id -u)" != 0 ]; then
    echo "chromium is not installed and this is not root: install it with apt-get install -y chromium" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends chromium >&2 \
    || { apt-get update >&2 && apt-get install -y --no-install-recommends chromium >&2; }
command -v chromium
