#!/usr/bin/env bash
# The Admin Portal and the operator console in a real browser (tests/browser, pytest + Playwright):
# installs what it needs when missing (Debian's headless Chromium, libfaketime, the pinned Python
# packages in .venv-browser), starts scim-local on a free port with a throwaway in-memory store, and
# runs the tests against it (the console's tests start `scimctl console` on it). Stops what it started.
#   infra/browser.sh [pytest args]            install if missing, then run the tests
#   infra/browser.sh --install                install only (the test command does it in the background)
#   SCIM_WRITE_SCREENSHOTS=1 infra/browser.sh  save the screenshots into docs/portal/ and
#                                             docs/console/ (README shows them) instead of target/browser/
#
# The portal is served as http://localhost:PORT, so a host page on http://127.0.0.1:OTHER is
# another site (embedded mode). scim-local runs under libfaketime with an offset the tests move
# forward (SCIM_FAKETIME_FILE): an expired link is tested without waiting for its minute to pass.
set -euo pipefail
source "$(dirname "$0")/env.sh"
unset SCIM_PUBLIC_URL AWS_ENDPOINT_URL_DYNAMODB
BROWSER_VENV="${SCIM_BROWSER_VENV:-$ROOT/.venv-browser}"
chromium="${SCIM_CHROMIUM:-/usr/bin/chromium}"
faketime_lib=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1

# Playwright's own browser download cannot work here (only package registries are reachable):
# Chromium comes from Debian, launched by path (tests/browser/conftest.py).
missing=()
[ -x "$chromium" ] || missing+=(chromium)
[ -e "$faketime_lib" ] || missing+=(libfaketime)
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
ensure_requirements "$BROWSER_VENV" "$ROOT/infra/requirements-browser.txt"
[ "${1:-}" = "--install" ] && exit 0

bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/scim-local"
log="$STATE/browser-scim-local.log"
clock="$STATE/browser-faketime"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null || true' EXIT
[ -x "$bin" ] || (cd "$ROOT" && cargo build --quiet --features local --bin scim-local)
scimctl="${CARGO_TARGET_DIR:-$ROOT/target}/debug/scimctl"
[ -x "$scimctl" ] || (cd "$ROOT" && cargo build --quiet --features local --bin scimctl)

# The public URL must name the port before the server starts, so the port is chosen here.
port="$("$BROWSER_VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
echo "+0" >"$clock"
# FAKETIME_NO_CACHE: the offset file is read on every clock call, so a test's move takes effect at
# once; the monotonic clock stays real (tokio's timers).
LD_PRELOAD="$faketime_lib" FAKETIME_TIMESTAMP_FILE="$clock" FAKETIME_NO_CACHE=1 \
  FAKETIME_DONT_FAKE_MONOTONIC=1 SCIM_PUBLIC_URL="http://localhost:$port" \
  "$bin" --memory --port "$port" >"$log" 2>&1 &
server=$!
key=""
for _ in $(seq 1 100); do
  key="$(sed -n 's/^management key: *//p' "$log")"
  grep -q '^scim-local listening on ' "$log" && [ -n "$key" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$key" ] || { echo "scim-local did not start; see $log" >&2; exit 1; }

shots="$ROOT/target/browser"
console_shots="$ROOT/target/browser/console"
if [ -n "${SCIM_WRITE_SCREENSHOTS:-}" ]; then
  shots="$ROOT/docs/portal"
  console_shots="$ROOT/docs/console"
fi
mkdir -p "$shots" "$console_shots"
export SCIM_PORTAL_BASE="http://localhost:$port" SCIM_MANAGEMENT_KEY="$key" \
  SCIM_FAKETIME_FILE="$clock" SCIM_LOCAL_LOG="$log" SCIM_SCREENSHOTS="$shots" \
  SCIM_CHROMIUM="$chromium" PYTHONDONTWRITEBYTECODE=1 \
  SCIM_SCIMCTL="$scimctl" SCIM_CONSOLE_SCREENSHOTS="$console_shots"
cd "$ROOT"
"$BROWSER_VENV/bin/python" -m pytest -p no:cacheprovider -q "$@" tests/browser
