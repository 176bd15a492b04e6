# Sourced by the infra scripts: project paths and the Python virtualenv that holds the tools the
# Rust build cannot provide (AWS SAM CLI, cargo-lambda, cfn-lint, the conformance checkers).
# DynamoDB needs nothing here: tests, scim-local and the benchmark embed dynoxide.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SCIM_VENV:-$ROOT/.venv}"
STATE="$ROOT/.local"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
mkdir -p "$STATE"

CHECKOV_VENV="${SCIM_CHECKOV_VENV:-$ROOT/.venv-checkov}"
API_VENV="${SCIM_API_VENV:-$ROOT/.venv-api}"

# Creates virtualenv $1 and installs requirements file $2 into it when missing or changed.
ensure_requirements() {
  local venv="$1" requirements="$2" stamp="$1/.requirements"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  if ! cmp -s "$requirements" "$stamp"; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
  fi
}

# The tools' virtualenv (infra/requirements.txt), checkov's (its pins clash with sam's) and the
# OpenAPI checkers' (infra/requirements-api.txt).
ensure_venv() {
  ensure_requirements "$VENV" "$ROOT/infra/requirements.txt"
  ensure_requirements "$CHECKOV_VENV" "$ROOT/infra/requirements-checkov.txt"
  ensure_requirements "$API_VENV" "$ROOT/infra/requirements-api.txt"
}
