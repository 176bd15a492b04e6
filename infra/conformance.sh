#!/usr/bin/env bash
# Conformance checks against a running endpoint: scim2-tester (the engine of `scim2 ... test`) and
# `scim-sanity probe`. Fails on any failed check not listed in infra/conformance-deviations.txt and
# prints one score line per checker. Needs SCIM_URL (a SCIM 2.0 base URL) and SCIM_TOKEN.
# Creates and deletes users and groups in that directory: point it at a throw-away one.
#   SCIM_URL=http://127.0.0.1:8080/scim/v2/<dir> SCIM_TOKEN=scim_sk_... infra/conformance.sh
set -euo pipefail
source "$(dirname "$0")/env.sh"
: "${SCIM_URL:?set SCIM_URL to a SCIM 2.0 base URL}" "${SCIM_TOKEN:?set SCIM_TOKEN}"
export SCIM_URL SCIM_TOKEN
ensure_venv
report="$(mktemp)"
trap 'rm -f "$report"' EXIT

echo "==> scim-sanity probe $SCIM_URL"
# Exits 1 when a check fails; the JSON report is judged below.
timeout 600 "$VENV/bin/scim-sanity" probe "$SCIM_URL" --token "$SCIM_TOKEN" \
  --i-accept-side-effects --json-output --timeout 30 >"$report" </dev/null || true

echo "==> scim2-tester $SCIM_URL, judged with infra/conformance-deviations.txt"
timeout 900 "$VENV/bin/python" "$ROOT/infra/conformance.py" \
  "$ROOT/infra/conformance-deviations.txt" "$report" </dev/null
