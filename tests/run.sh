#!/usr/bin/env bash
# Runs every test of embedcare on a fresh machine: formatting, lints, and
# every test of the workspace. Installs what it needs on the way.
#
#   ./tests/run.sh           everything
#   QUICK=1 ./tests/run.sh   skip fmt and clippy
set -euo pipefail
cd "$(dirname "$0")/.."

# The AWS SDK must never probe instance metadata here.
export AWS_EC2_METADATA_DISABLED=true
export AWS_REGION="${AWS_REGION:-us-east-1}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi

if [ -z "${QUICK:-}" ]; then
  step "cargo fmt --check"
  rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt
  cargo fmt --all -- --check

  step "cargo clippy (all targets, warnings are errors)"
  rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi

step "cargo test (workspace)"
cargo test --workspace --locked
