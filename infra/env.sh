# Sourced by the infra scripts: project paths, the virtualenv, and the local DynamoDB settings.
# Every variable can be overridden from the environment (e.g. AWS_ENDPOINT_URL_DYNAMODB pointing
# at DynamoDB Local or LocalStack, in which case no moto server is started).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SCIM_VENV:-$ROOT/.venv}"
STATE="$ROOT/.local"
MOTO_PORT="${MOTO_PORT:-4599}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export SCIM_TABLE="${SCIM_TABLE:-scim-directory}"
export SCIM_TOKENS_TABLE="${SCIM_TOKENS_TABLE:-scim-tokens}"
mkdir -p "$STATE"

# Creates the virtualenv and installs infra/requirements.txt when missing or changed.
ensure_venv() {
  local stamp="$VENV/.requirements"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  if ! cmp -s "$ROOT/infra/requirements.txt" "$stamp"; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/infra/requirements.txt"
    cp "$ROOT/infra/requirements.txt" "$stamp"
  fi
}

# Starts moto's DynamoDB on loopback unless AWS_ENDPOINT_URL_DYNAMODB is already set; exports the
# endpoint. The server is stopped by `stop_local_dynamodb` (called from traps).
start_local_dynamodb() {
  if [ -n "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]; then
    echo "using DynamoDB at $AWS_ENDPOINT_URL_DYNAMODB"
    return
  fi
  ensure_venv
  MOTO_PID_FILE="$STATE/moto-$MOTO_PORT.pid"
  # infra/moto_server.py: moto with requests serialised (moto's backend is not thread-safe).
  "$VENV/bin/python" "$ROOT/infra/moto_server.py" 127.0.0.1 "$MOTO_PORT" >"$STATE/moto-$MOTO_PORT.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$MOTO_PID_FILE"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$MOTO_PORT"
  for _ in $(seq 1 100); do
    # Our own server must still be alive: a port taken by another run would otherwise pass.
    kill -0 "$pid" 2>/dev/null || break
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
        "$AWS_ENDPOINT_URL_DYNAMODB/moto-api/" 2>/dev/null; then
      echo "moto DynamoDB on $AWS_ENDPOINT_URL_DYNAMODB"
      return
    fi
    sleep 0.2
  done
  echo "moto_server did not start on port $MOTO_PORT; see $STATE/moto-$MOTO_PORT.log" >&2
  exit 1
}

stop_local_dynamodb() {
  if [ -n "${MOTO_PID_FILE:-}" ] && [ -f "$MOTO_PID_FILE" ]; then
    kill "$(cat "$MOTO_PID_FILE")" 2>/dev/null || true
    rm -f "$MOTO_PID_FILE"
  fi
}
