#!/usr/bin/env bash
# The demo: the whole pipeline on this machine with simulated Zoom and Webex (see tests/demo.rs).
# Usage: ./infra/demo.sh      (first run: installs .venv-aws and builds; a few minutes)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
infra/bootstrap.sh >/dev/null
export PATH="$ROOT/.venv-aws/bin:$PATH"
# Build the functions now (the local stack builds them too, but then quietly, and the demo would seem to hang).
cargo build --workspace --bins --quiet
exec cargo run --quiet -p archiver-tests --bin demo
