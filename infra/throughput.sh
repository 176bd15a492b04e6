#!/usr/bin/env bash
# Write throughput per directory (docs/throughput.md): examples/throughput.rs, release build, on the
# embedded DynamoDB behind the meter's DynamoDB model. 1, 8 and 32 writers on one directory and on
# four at once; ~2.5 minutes after the build. Flags pass through, e.g. 30 s steps:
#   infra/throughput.sh --seconds 30
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release --features local --example throughput -- "$@"
