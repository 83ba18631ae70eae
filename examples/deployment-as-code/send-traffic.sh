#!/bin/sh
# Sends predictions to the example's endpoint until stopped (Ctrl-C): the live traffic the
# rollout's gates judge the new deployment on. Run from the repository root.
set -eu
url=$(npx mldeploy server status --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).url??""))')
[ -n "$url" ] || { echo "the local target is not running: apply v1.yaml first" >&2; exit 1; }
while :; do
  curl -s -o /dev/null -H 'content-type: application/json' -d '{"inputs": [[5.1, 3.5, 1.4, 0.2]]}' "$url/endpoints/iris/invocations" || true
done
