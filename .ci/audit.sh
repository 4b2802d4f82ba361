#!/usr/bin/env bash
# npm audit of the runtime dependencies: no high or critical finding may ship. The registry reachable from the
# development machines answers the audit endpoint with 405; there the step says plainly that it was skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(npm audit --omit=dev --audit-level=high --json 2>/dev/null)
rc=$?
if echo "$out" | grep -q '"vulnerabilities"'; then
  high=$(echo "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s).metadata?.vulnerabilities||{};console.log((v.high||0)+(v.critical||0))})')
  echo "npm audit: $high high/critical finding(s) in runtime dependencies"
  [ "$high" -eq 0 ] || { npm audit --omit=dev --audit-level=high 2>/dev/null | tail -40; exit 1; }
  exit 0
fi
echo "npm audit: SKIPPED — the registry's audit endpoint did not answer here (exit $rc); it runs where the endpoint answers"
exit 0
