#!/usr/bin/env bash
# Creates (or updates) the Python virtualenv with the local AWS tooling the tests, the demo
# and template checks use:
#   moto           local S3 / DynamoDB / SQS / Secrets Manager server (5.1.22: 5.2.x breaks
#                  ListParts). Installed as moto[s3,sqs,dynamodb,secretsmanager] + flask +
#                  flask-cors, which is what `moto_server` needs for these services: the
#                  moto[server] extra pins aws-sam-translator<=1.103.0 and cfn-lint<=1.41.0,
#                  which aws-sam-cli 1.170.0 (aws-sam-translator==1.115.0) cannot share a venv with.
#   cargo-lambda   `cargo lambda watch` / `build` (brings zig with it)
#   aws-sam-cli    `sam validate --lint`, `sam build`
#   cfn-lint       template linting
# Idempotent: when the venv already has exactly these versions, nothing is installed.
#
# Usage:  infra/bootstrap.sh            # venv at <repo>/.venv-aws
#         VENV_AWS=/some/dir infra/bootstrap.sh
#         PYTHON=python3.12 infra/bootstrap.sh
# Afterwards: <venv>/bin/{moto_server,cargo-lambda,sam,cfn-lint}.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV_AWS:-$ROOT/.venv-aws}"
PYTHON="${PYTHON:-python3}"

# distribution name, version, pip requirement
PINS=(
  "moto 5.1.22 moto[s3,sqs,dynamodb,secretsmanager]==5.1.22"
  "cargo-lambda 1.9.2 cargo-lambda==1.9.2"
  "aws-sam-cli 1.170.0 aws-sam-cli==1.170.0"
  "cfn-lint 1.58.0 cfn-lint==1.58.0"
)
# Unpinned runtime dependencies of moto_server: distribution name, pip requirement.
SERVER_DEPS=(
  "flask flask!=2.2.0,!=2.2.1"
  "flask-cors flask-cors"
)
# Executables that must exist afterwards.
TOOLS=(moto_server cargo-lambda sam cfn-lint)

say() { printf 'bootstrap: %s\n' "$*"; }

export PIP_DISABLE_PIP_VERSION_CHECK=1 SAM_CLI_TELEMETRY=0

mkdir -p "$VENV"
# Serialize concurrent runs (test and demo scripts may start at the same time).
exec 9>"$VENV/.bootstrap.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating virtualenv $VENV ($("$PYTHON" --version 2>&1))"
  "$PYTHON" -m venv "$VENV"
else
  say "virtualenv $VENV exists ($("$VENV/bin/python" --version 2>&1))"
fi

# The installed version of a distribution (empty when it is not installed).
installed_version() {
  "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null || true
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    print(version(sys.argv[1]))
except PackageNotFoundError:
    pass
PY
}

# Prints the requirements that are missing or at another version.
missing_requirements() {
  local line dist want req
  for line in "${PINS[@]}"; do
    read -r dist want req <<<"$line"
    [[ "$(installed_version "$dist")" == "$want" ]] || printf '%s\n' "$req"
  done
  for line in "${SERVER_DEPS[@]}"; do
    read -r dist req <<<"$line"
    [[ -n "$(installed_version "$dist")" ]] || printf '%s\n' "$req"
  done
  for t in "${TOOLS[@]}"; do
    [[ -x "$VENV/bin/$t" ]] || printf 'executable %s\n' "$t"
  done
}

mapfile -t TODO < <(missing_requirements | sort -u)
if [[ ${#TODO[@]} -eq 0 ]]; then
  say "pinned tools already installed; nothing to do"
else
  say "installing: ${TODO[*]}"
  # Install every pin together so that pip resolves one consistent set.
  reqs=()
  for line in "${PINS[@]}"; do
    read -r _ _ req <<<"$line"
    reqs+=("$req")
  done
  for line in "${SERVER_DEPS[@]}"; do
    read -r _ req <<<"$line"
    reqs+=("$req")
  done
  "$VENV/bin/python" -m pip install --quiet "${reqs[@]}"
  left="$(missing_requirements | sort -u)"
  if [[ -n "$left" ]]; then
    say "ERROR: still not at the pinned versions after installing: $left" >&2
    exit 1
  fi
fi

for line in "${PINS[@]}"; do
  read -r dist want _ <<<"$line"
  say "  $dist $want"
done
for t in "${TOOLS[@]}"; do
  [[ -x "$VENV/bin/$t" ]] || { say "ERROR: $VENV/bin/$t is missing" >&2; exit 1; }
done
say "ready: $VENV/bin/{moto_server,cargo-lambda,sam,cfn-lint}"
