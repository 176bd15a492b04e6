#!/usr/bin/env bash
# The performance suite (docs/benchmark.md): examples/bench.rs, release build, on the embedded
# DynamoDB behind the meter. Defaults: 100,000 users, a 50,000-member group, measured at 1,000 and
# 100,000 users. Flags pass through, e.g. a quick run:
#   infra/bench.sh --users 5000 --group 2000 --samples 30
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release --features local --example bench -- "$@"
