#!/usr/bin/env bash
# The benchmark: starts local DynamoDB (moto) and runs examples/bench.rs in release mode.
#   infra/bench.sh [USERS]     (default 10000)
set -euo pipefail
source "$(dirname "$0")/env.sh"
trap stop_local_dynamodb EXIT
MOTO_PORT="${MOTO_PORT:-4598}" start_local_dynamodb
cd "$ROOT"
cargo run --quiet --release --example bench -- "${1:-10000}"
