#!/bin/sh
# Renders an HTML file (e.g. a podmem report) to a PNG with headless chromium.
# Usage: scripts/screenshot.sh report.html out.png [WIDTH,HEIGHT]
# Charts are drawn eagerly (#draw-all) so the whole page is in the picture.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT]" >&2
    exit 2
fi
html=$1
out=$2
size=${3:-1400,2400}
# The browser the tests use: PODMEM_CHROMIUM, else the first chromium on PATH.
browser=${PODMEM_CHROMIUM:-}
if [ -z "$browser" ]; then
    for name in chromium chromium-browser google-chrome; do
        browser=$(command -v "$name" || true)
        [ -n "$browser" ] && break
    done
fi
if [ -z "$browser" ] || [ ! -x "$browser" ]; then
    echo "no chromium (PODMEM_CHROMIUM, or chromium, chromium-browser, google-chrome on PATH): install the Debian 'chromium' package" >&2
    exit 1
fi
abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
outabs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" --virtual-time-budget=5000 \
    --window-size="$size" --screenshot="$outabs" "file://$abs#draw-all" >/dev/null 2>&1
test -s "$outabs"
echo "wrote $out"
