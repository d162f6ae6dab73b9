#!/usr/bin/env bash
# Development time only: fetch Cytoscape.js from npm into src/export/html/
# (the minified browser build, its license, and the SHA-256 that build.rs
# checks). kgx's build and the pages it writes never fetch anything.
# Usage: scripts/vendor-js.sh [VERSION]   (default: the version vendored now)
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-3.35.0}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "cytoscape@$version")
dist="$work/node_modules/cytoscape"
cp "$dist/dist/cytoscape.min.js" src/export/html/cytoscape.min.js
cp "$dist/LICENSE" src/export/html/LICENSE-cytoscape
sha256sum src/export/html/cytoscape.min.js | cut -d' ' -f1 > src/export/html/cytoscape.min.js.sha256
echo "vendored cytoscape $version: $(cat src/export/html/cytoscape.min.js.sha256)"
