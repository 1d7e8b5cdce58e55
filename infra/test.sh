#!/usr/bin/env bash
# The project's whole test suite, as CI runs it: formatting, lints, the SAM template check, unit tests,
# integration tests against moto, and the end-to-end tests through the local stack.
#
# Usage: ./infra/test.sh            (installs its Python tooling into .venv-aws on first use)
# Uses AWS_ENDPOINT_URL when it is set; otherwise starts moto on a free port and stops it at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
step() { printf '\n==> %s\n' "$*"; }

step "tooling (.venv-aws: moto, cargo-lambda, sam, cfn-lint)"
infra/bootstrap.sh
VENV="$ROOT/.venv-aws"
export PATH="$VENV/bin:$PATH" SAM_CLI_TELEMETRY=0

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "sam validate --lint and cfn-lint"
AWS_DEFAULT_REGION=us-east-1 sam validate --lint --template template.yaml
cfn-lint template.yaml

if [[ -z "${AWS_ENDPOINT_URL:-}" ]]; then
  step "moto server"
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p target
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" > target/moto-test.log 2>&1 &
  MOTO_PID=$!
  trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/moto-api/" && break; sleep 0.2; done
  export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
fi
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}" AWS_REGION="${AWS_REGION:-us-east-1}"

step "build the function binaries (the local stack runs these in the end-to-end tests)"
cargo build --workspace --bins --locked

step "tests: unit, integration (moto at $AWS_ENDPOINT_URL), end to end (local stack)"
cargo test --workspace --locked
