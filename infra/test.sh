#!/usr/bin/env bash
# The test command (README "The two commands"; .ci/run calls it). Installs what it needs (Python
# tools into .venv, the arm64 Rust target); DynamoDB is embedded in the test binaries (dynoxide),
# so nothing else is started. Runs, in order: formatting, clippy, unit + integration tests
# (nextest), a smoke run of the benchmark, input and cold-start commands, the conformance checkers,
# the Admin Portal in headless Chromium (infra/browser.sh), template checks; `sam build` runs in the
# background from the start.
#   infra/test.sh                    everything
#   SKIP_SAM_BUILD=1 infra/test.sh   skip the release arm64 build (slowest step)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
step() { printf '\n==> %s  (%ss)\n' "$*" "$SECONDS"; }

# In the background, while the debug build runs: the Python tools, then `sam build` (arm64
# release) in a target dir of its own, so the two cargo builds do not wait on each other's lock
# and each fills the other's single-threaded stretches (one big crate compiling, linking).
step "background: python tools (.venv), Chromium (.venv-browser), then sam build (arm64, release; target/sam)"
rm -f "$STATE/venv.ready"
(
  ensure_venv
  infra/browser.sh --install
  touch "$STATE/venv.ready"
  if [ -z "${SKIP_SAM_BUILD:-}" ]; then
    # Its build dir under target/, not .local/: sam build keeps its own files (build.toml) beside
    # the build dir, and the other steps' logs and state live in .local/ while it runs.
    rustup target add aarch64-unknown-linux-gnu >/dev/null
    PATH="$VENV/bin:$PATH" CARGO_TARGET_DIR="$ROOT/target/sam" \
      sam build --build-dir "$ROOT/target/sam-build"
  fi
) >"$STATE/background.log" 2>&1 &
background=$!
background_done() {
  wait "$background" || { cat "$STATE/background.log" >&2; echo "background step failed" >&2; exit 1; }
}

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets --features local --quiet -- -D warnings

step "tests"
# Every DynamoDB call a function makes is recorded (src/store/iam_record.rs) for the IAM test below.
export SCIM_IAM_RECORD="$STATE/iam-calls"
rm -rf "$SCIM_IAM_RECORD"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --features local --no-fail-fast 2>&1 | tee "$STATE/nextest.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
  step "IAM: every call the suite made is allowed, every grant is used (tests/it/iam.rs)"
  cargo nextest run --features local --run-ignored only --no-capture -E 'test(/^iam::/)'
else
  cargo test --features local --no-fail-fast 2>&1 | tee "$STATE/nextest.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
  cargo test --features local --test it -- --ignored --nocapture iam::
fi
unset SCIM_IAM_RECORD

step "the benchmark, throughput, roles, input and cold-start commands run (debug builds, tiny sizes; figures not judged)"
cargo build --quiet --features local --examples --bins
target="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
"$target/examples/bench" --memory --users 400 --checkpoint 200 --group 300 --samples 5 >/dev/null
"$target/examples/throughput" --seconds 0.2 --writers 1,2 --directories 2 --pool 8 >/dev/null
"$target/examples/roles" --users 300 --group 200 >/dev/null
"$target/examples/inputs" >/dev/null
"$target/examples/token_flood" --requests 20 >/dev/null
"$target/examples/log_cost" --batches 1,10 >/dev/null
"$target/examples/coldstart" --runs 1 --warm 2 users="$target/lambda" groups="$target/lambda" \
  discovery="$target/lambda" hello="$target/examples/hello-lambda" >/dev/null

until [ -e "$STATE/venv.ready" ]; do
  kill -0 "$background" 2>/dev/null || background_done
  sleep 1
done
export PATH="$VENV/bin:$PATH"

step "conformance: scim2-tester and scim-sanity against scim-local"
infra/conformance-local.sh

step "management API: docs/openapi.json validated, schemathesis against scim-local"
infra/openapi-local.sh

step "browser: the Admin Portal in headless Chromium (tests/browser, Playwright)"
infra/browser.sh 2>&1 | tee "$STATE/browser.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 1

step "template: sam validate --lint, cfn-lint, checkov"
sam validate --lint --region us-east-1
cfn-lint template.yaml
# The same template with a custom domain (the conditional domain, mapping and DNS resources).
cfn-lint template.yaml --parameters DomainName=scim.example.com HostedZoneId=Z0123456789ABC \
  CertificateArn=arn:aws:acm:us-east-1:123456789012:certificate/0123abcd DisableExecuteApiEndpoint=true
# The same template with the CloudFront + WAF edge (docs/edge-protection.md).
cfn-lint template.yaml --parameters \
  EdgeWebAclArn=arn:aws:wafv2:us-east-1:123456789012:global/webacl/scim-edge/0123abcd
# Skipped checks, each with its reason: .checkov.yaml.
"$CHECKOV_VENV/bin/checkov" -f template.yaml --config-file .checkov.yaml

step "sam build (arm64, release): waiting for the background build"
background_done
tail -n 4 "$STATE/background.log"
# One plain closing line with the test count (nextest: "N tests run: N passed, ..."; pytest's
# browser tests: "N passed ...").
passed="$(sed -n 's/.* tests run: \([0-9]*\) passed.*/\1/p' "$STATE/nextest.log" | tail -1)"
browser="$(sed -n 's/^\([0-9]*\) passed.*/\1/p' "$STATE/browser.log" | tail -1)"
passed=$((${passed:-0} + ${browser:-0}))
echo "all checks passed in ${SECONDS}s"
echo "tests: ${passed:-0} passed, 0 failed"
