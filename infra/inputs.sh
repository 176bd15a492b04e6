#!/usr/bin/env bash
# Input-handling benchmark (docs/limits.md): examples/inputs.rs, release build. Prints the
# CPU time per MB of request body for hostile and extreme shapes up to the 6 MiB body limit.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release --example inputs -- "$@"
