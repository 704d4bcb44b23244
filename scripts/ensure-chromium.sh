#!/bin/sh
# Browser tests use Debian's Chromium at /usr/bin/chromium (never a downloaded browser build); the quote PDF
# embeds a CJK TrueType font, Debian's fonts-wqy-microhei (tests/sales/quotes/test_form_and_pdf.py).
set -eu
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing="$missing fonts-wqy-microhei"
if [ -z "$missing" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's$missing for the browser and PDF tests"
    apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
    echo "Debian's$missing is missing: run 'sudo apt-get install$missing' to run the browser and PDF tests" >&2
    exit 1
fi
