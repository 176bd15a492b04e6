# Sourced by the infra scripts: project paths and the Python virtualenv that holds the tools the
# Rust build cannot provide (AWS SAM CLI, cargo-lambda, cfn-lint, the conformance checkers).
# DynamoDB needs nothing here: tests, scim-local and the benchmark embed dynoxide.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SCIM_VENV:-$ROOT/.venv}"
STATE="$ROOT/.local"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
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
