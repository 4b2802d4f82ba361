#!/usr/bin/env bash
# The package installed the way a Node-RED user installs nodes, with the network off:
#   1. npm pack (the tarball a plant gets);
#   2. warm the npm cache with what that install needs (network on, no install scripts run);
#   3. in a network namespace with only lo: a fresh Node-RED user dir, then exactly the commands of
#      docs/DEPLOYMENT.md ("Install into a Node-RED user dir"): npm install <tarball> there, --offline (any
#      download fails the install: onnxruntime-node's CUDA fetch, a better-sqlite3 prebuilt);
#   4. test/install/installed.spec.js in the same namespace: Node-RED (the one installed there) starts from that dir, the 20 node types
#      load, flows/station.json runs on its simulators and stores parts.
# better-sqlite3 compiles from source in step 3 (no prebuilt can be fetched): most of the few minutes this takes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if unshare -n true 2>/dev/null; then UNSHARE=(unshare -n)
elif unshare -rn true 2>/dev/null; then UNSHARE=(unshare -rn)
else echo "install-check: cannot create a network namespace (unshare -n and -rn refused)" >&2; exit 1
fi

echo "install-check: npm pack"
npm pack --pack-destination "$WORK" >"$WORK/pack.log" 2>&1 || { tail -30 "$WORK/pack.log" >&2; exit 1; }
TGZ=$(ls "$WORK"/*.tgz)

# a new user dir, as docs/DEPLOYMENT.md "As a service (systemd)" makes it
new_userdir() {
  mkdir -p "$1"
  (cd "$1" && npm init -y >/dev/null && npm pkg set allowScripts.better-sqlite3=true 'allowScripts[@spotfusion/node-red-spotfusion-edge]=true' allowScripts.onnxruntime-node=false --json)
}

echo "install-check: warm the npm cache (network on, --ignore-scripts)"
new_userdir "$WORK/warm"
(cd "$WORK/warm" && npm install --omit=dev --prefer-offline --ignore-scripts --no-audit --no-fund node-red@4 "$TGZ" >"$WORK/warm.log" 2>&1) \
  || { tail -30 "$WORK/warm.log" >&2; exit 1; }
rm -rf "$WORK/warm"

echo "install-check: offline install into a fresh Node-RED user dir, then Node-RED from it (network namespace: lo only)"
new_userdir "$WORK/userdir"
# shellcheck disable=SC2016
"${UNSHARE[@]}" -- bash -c '
  set -euo pipefail
  ip link set lo up
  if ip -o link show | grep -v ": lo:" | grep -q .; then echo "install-check: namespace has more than lo" >&2; exit 1; fi
  cd "$1"
  # the commands of docs/DEPLOYMENT.md, plus --offline: nothing may be downloaded
  npm install --omit=dev --onnxruntime-node-install=skip node-red@4 "$2" --offline >"$3/install.log" 2>&1 \
    || { tail -40 "$3/install.log" >&2; exit 1; }
  cd "$4"
  SPOTFUSION_INSTALLED_USERDIR="$1" SPOTFUSION_RED_JS="$1/node_modules/node-red/red.js" exec node node_modules/mocha/bin/mocha.js --no-config --require test/support/setup.js \
    --exit --reporter ./test/support/reporter.js test/install/installed.spec.js
' install-check "$WORK/userdir" "$TGZ" "$WORK" "$ROOT"
