#!/usr/bin/env bash
# Conformance run on a local build: local DynamoDB (moto, unless AWS_ENDPOINT_URL_DYNAMODB is set),
# scim-local on a free port, a throw-away directory, then infra/conformance.sh. Stops what it started.
set -euo pipefail
MOTO_PORT="${MOTO_PORT:-4598}"
source "$(dirname "$0")/env.sh"
export SCIM_TABLE=scim-conformance SCIM_TOKENS_TABLE=scim-conformance-tokens
unset SCIM_PUBLIC_URL # scim-local then names the port it bound in meta.location
bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
log="$STATE/conformance-scim-local.log"
server="" dir="" own_moto=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  [ -n "$dir" ] && "$bin/scimctl" directory delete "$dir" >/dev/null 2>&1 || true
  [ -n "$own_moto" ] && stop_local_dynamodb || true
}
trap cleanup EXIT

[ -z "${AWS_ENDPOINT_URL_DYNAMODB:-}" ] && own_moto=1
start_local_dynamodb
(cd "$ROOT" && cargo build --quiet --bin scim-local --bin scimctl)
"$bin/scimctl" tables create >/dev/null
created="$("$bin/scimctl" directory create --name conformance --json)"
dir="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$created")"
export SCIM_TOKEN="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$created")"

"$bin/scim-local" --port 0 >"$log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  base="$(sed -n 's/^scim-local listening on //p' "$log")"
  [ -n "$base" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "scim-local did not start; see $log" >&2; exit 1; }
export SCIM_URL="$base/scim/v2/$dir"
"$ROOT/infra/conformance.sh"
