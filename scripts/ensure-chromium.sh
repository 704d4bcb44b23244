#!/bin/sh
# Browser tests use Debian's Chromium at /usr/bin/chromium (never a downloaded browser build).
set -eu
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
    echo "Debian's chromium is missing: run 'sudo apt-get install chromium' to run the browser tests" >&2
    exit 1
fi
