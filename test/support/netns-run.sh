#!/usr/bin/env bash
# Run one mocha file inside a fresh network namespace that has only the loopback interface, so that whatever
# the file starts (the aravis fake GigE camera broadcasts discovery on every interface) can reach nothing but
# 127.0.0.1. The tests in the file start their own peers.
#   usage: test/support/netns-run.sh test/gige/aravis.spec.js [more mocha args]
# Exit 77: no network namespace can be made here (no root and no user namespaces) or aravis-tools is missing.
set -uo pipefail
cd "$(dirname "$0")/../.."
if ! command -v arv-fake-gv-camera-0.8 >/dev/null 2>&1; then
  echo "netns-run: arv-fake-gv-camera-0.8 not found (apt-get install -y aravis-tools)" >&2
  exit 77
fi
if unshare -n true 2>/dev/null; then
  UNSHARE=(unshare -n)
elif unshare -rn true 2>/dev/null; then
  UNSHARE=(unshare -rn)
else
  echo "netns-run: cannot create a network namespace (unshare -n and unshare -rn refused)" >&2
  exit 77
fi
# shellcheck disable=SC2016
exec "${UNSHARE[@]}" -- bash -c '
  set -e
  ip link set lo up
  # refuse to run if anything but loopback exists in here
  if ip -o link show | grep -v ": lo:" | grep -q .; then echo "netns-run: namespace has more than lo" >&2; exit 1; fi
  exec "${NODE_BIN:-node}" node_modules/mocha/bin/mocha.js --no-config --require test/support/setup.js --timeout 30000 --exit --reporter ./test/support/reporter.js "$@"
' netns-run "$@"
