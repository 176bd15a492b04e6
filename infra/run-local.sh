#!/usr/bin/env bash
# Runs the endpoint locally: local DynamoDB (moto, installed into .venv if missing), both tables,
# a demo directory with a token, and every route of template.yaml on one port.
#   infra/run-local.sh [PORT]          (default 8080)
# Set AWS_ENDPOINT_URL_DYNAMODB to use DynamoDB Local / LocalStack instead of moto.
set -euo pipefail
source "$(dirname "$0")/env.sh"
PORT="${1:-${PORT:-8080}}"
export SCIM_PUBLIC_URL="${SCIM_PUBLIC_URL:-http://127.0.0.1:$PORT}"
trap stop_local_dynamodb EXIT
start_local_dynamodb
cd "$ROOT"
cargo build --quiet --bin scimctl --bin scim-local
./target/debug/scimctl tables create >/dev/null
demo="$(./target/debug/scimctl directory create --name demo --json)"
python3 - "$demo" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
print()
print("SCIM 2.0 base URL:", d["scim_v2_url"])
print("SCIM 1.1 base URL:", d["scim_v1_url"])
print("Bearer token:     ", d["token"])
print()
print("try: curl -H 'Authorization: Bearer %s' %s/Users" % (d["token"], d["scim_v2_url"]))
print()
PY
./target/debug/scim-local --port "$PORT"
