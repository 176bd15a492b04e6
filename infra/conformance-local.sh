#!/usr/bin/env bash
# Conformance run on a local build: scim-local on a free port with a throwaway in-memory store (its
# demo directory is the test directory), then infra/conformance.sh. Stops what it started.
# Expects target/debug/scim-local (the test command's nextest run builds it); builds it otherwise.
set -euo pipefail
source "$(dirname "$0")/env.sh"
unset SCIM_PUBLIC_URL AWS_ENDPOINT_URL_DYNAMODB # scim-local names the port it bound; embedded store
bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/scim-local"
log="$STATE/conformance-scim-local.log"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null || true' EXIT

[ -x "$bin" ] || (cd "$ROOT" && cargo build --quiet --features local --bin scim-local)
"$bin" --memory --port 0 >"$log" 2>&1 &
server=$!
SCIM_URL="" SCIM_TOKEN=""
for _ in $(seq 1 100); do
  SCIM_URL="$(sed -n 's/^SCIM 2.0 base URL: *//p' "$log")"
  SCIM_TOKEN="$(sed -n 's/^Bearer token: *//p' "$log")"
  grep -q '^scim-local listening on ' "$log" && [ -n "$SCIM_URL" ] && [ -n "$SCIM_TOKEN" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$SCIM_URL" ] || { echo "scim-local did not start; see $log" >&2; exit 1; }
export SCIM_URL SCIM_TOKEN
"$ROOT/infra/conformance.sh"
