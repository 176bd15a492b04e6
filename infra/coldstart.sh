#!/usr/bin/env bash
# Lambda cold start and size (docs/cold-start.md). Builds the function binary and a
# hello-world lambda_http baseline exactly as shipped (release profile, no `local` feature: the
# build SAM runs), starts it as each of the three functions under a loopback Lambda Runtime API,
# and prints init duration, first and warm invocation, peak RSS and size. Then the arm64 sizes
# `sam build` shipped, if the test command (infra/test.sh) has run its `sam build`.
#   infra/coldstart.sh [--runs N] [--warm N]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
target="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --quiet --release --bin lambda --example hello-lambda
cargo build --quiet --release --features local --example coldstart
"$target/release/examples/coldstart" "$@" \
  users="$target/release/lambda" groups="$target/release/lambda" \
  discovery="$target/release/lambda" hello="$target/release/examples/hello-lambda"

# The arm64 binaries SAM ships, when the test command's `sam build` has left them.
shipped="$ROOT/target/sam-build"
if ls "$shipped"/*Function/bootstrap >/dev/null 2>&1; then
  echo
  echo "| arm64 bootstrap from sam build ($shipped) | size |"
  echo "|---|---:|"
  for f in "$shipped"/*Function/bootstrap; do
    printf '| %s | %s bytes |\n' "$(basename "$(dirname "$f")")" "$(stat -c %s "$f")"
  done
fi
