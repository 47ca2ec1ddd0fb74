#!/usr/bin/env bash
# Re-creates docs/editors/community16.png: examples/community16.grid highlighted by the
# TextMate grammar (scripts/render.js) and photographed by headless Chromium.
# Needs npm (devDependencies) and Chromium (Debian: apt-get install chromium).
#   editors/vscode/scripts/screenshot.sh [FILE.grid] [OUT.png]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
src="$(realpath "${1:-$root/examples/community16.grid}")"
out="$(realpath -m "${2:-$root/docs/editors/community16.png}")"
chrome="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[ -n "$chrome" ] || { echo "chromium not found (Debian: apt-get install chromium)" >&2; exit 1; }

cd "$here"
[ -d node_modules/vscode-textmate ] || npm ci --no-audit --no-fund --loglevel=error
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
node scripts/render.js "$src" "$tmp/page.html"

# Height: title bar + padding + 20.3 px per line (14px/1.45).
lines=$(wc -l <"$src")
height=$(( 34 + 24 + (lines * 203 + 9) / 10 + 4 ))
mkdir -p "$(dirname "$out")"
"$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$tmp/profile" \
  --window-size=1000,"$height" --screenshot="$out" "file://$tmp/page.html" 2>/dev/null
echo "wrote $out (1000x$height)"
