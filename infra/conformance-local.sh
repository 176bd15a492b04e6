#!/usr/bin/env bash
# Conformance run on a local build: local DynamoDB (moto, unless AWS_ENDPOINT_URL_DYNAMODB is set),
# scim-local on a free port, a throw-away directory, then infra/conformance.sh. Stops what it started.
set -euo pipefail
source "$(dirname "$0")/env.sh"
export SCIM_TABLE=scim-conformance SCIM_TOKENS_TABLE=scim-conformance-tokens
unset SCIM_PUBLIC_URL # scim-local then names the port it bound in meta.location
bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
log="$STATE/conformance-scim-local.log"
server="" dir="" moto=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  [ -n "$dir" ] && "$bin/scimctl" directory delete "$dir" >/dev/null 2>&1 || true
  [ -n "$moto" ] && kill "$moto" 2>/dev/null || true
}
trap cleanup EXIT

# Our own moto on a free port (not env.sh's: its pid file and port are shared with other runs).
if [ -z "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]; then
  ensure_venv
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "$VENV/bin/python" "$ROOT/infra/moto_server.py" 127.0.0.1 "$port" >"$STATE/conformance-moto.log" 2>&1 &
  moto=$!
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
  for i in $(seq 0 150); do
    kill -0 "$moto" 2>/dev/null && [ "$i" -lt 150 ] || { cat "$STATE/conformance-moto.log" >&2; exit 1; }
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
      "$AWS_ENDPOINT_URL_DYNAMODB/moto-api/" 2>/dev/null && break
    sleep 0.2
  done
fi
(cd "$ROOT" && cargo build --quiet --bin scim-local --bin scimctl)
"$bin/scimctl" tables create >/dev/null
created="$("$bin/scimctl" directory create --name conformance --json)"
dir="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$created")"
SCIM_TOKEN="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$created")"
export SCIM_TOKEN

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
