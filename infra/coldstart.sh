#!/usr/bin/env bash
# Lambda cold start and size (README "Cold start and size"). Builds the three function binaries and
# a hello-world lambda_http baseline exactly as shipped (release profile, no `local` feature: the
# build SAM runs), starts each under a loopback Lambda Runtime API, and prints init duration,
# first and warm invocation, peak RSS and size. Then, when cargo-lambda is in .venv (the test
# command installs it), the arm64 sizes `sam build` ships.
#   infra/coldstart.sh [--runs N] [--warm N]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
target="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --quiet --release --bin users --bin groups --bin discovery --example hello-lambda
cargo build --quiet --release --features local --example coldstart
"$target/release/examples/coldstart" "$@" \
  users="$target/release/users" groups="$target/release/groups" \
  discovery="$target/release/discovery" hello="$target/release/examples/hello-lambda"

if [ -x "$VENV/bin/cargo-lambda" ]; then
  export PATH="$VENV/bin:$PATH"
  rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
  cargo lambda build --quiet --release --arm64 --bin users --bin groups --bin discovery
  echo
  echo "| arm64 binary (cargo lambda build --release --arm64, as sam build) | size |"
  echo "|---|---:|"
  for f in users groups discovery; do
    printf '| %s | %s bytes |\n' "$f" "$(stat -c %s "$target/lambda/$f/bootstrap")"
  done
fi
