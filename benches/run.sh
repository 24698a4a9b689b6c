#!/usr/bin/env bash
# Regenerates BENCHMARKS.md from scratch (full mode), or checks that every
# benchmark still runs and the counted budgets hold (quick mode, for CI).
#
#   ./benches/run.sh          full: release builds, ≥ 20 cold starts, wrk
#                             loads, 1 k and 100 k patients → BENCHMARKS.md
#   ./benches/run.sh quick    debug builds, 2 cold starts, 1 s loads, 1 k
#                             patients; writes $CARGO_TARGET_DIR/benchmarks/
#                             BENCHMARKS.quick.md; fails on a broken budget
#   ./benches/run.sh load       the races, flaky webhook deliveries and the
#                             SIGKILL run at full counts → LOAD.md
#   ./benches/run.sh load quick fewer operations, debug builds (CI); fails on
#                             a broken count (benches/src/stress/)
#
# Installs what it needs on the way: moto (Python venv under
# ~/.cache/embedcare/venv, shared with tests/run.sh) and wrk (apt).
# Knobs (full mode): BENCH_COLD_STARTS, BENCH_ITERATIONS, BENCH_LOAD_SECS,
# BENCH_LATENCY_SECS, BENCH_MAX_PATIENTS, BENCH_ALT_OPT_LEVELS (e.g. "s,z").
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-full}"
case "$MODE" in full|quick|load) ;; *) echo "usage: $0 [full|quick|load [quick]]" >&2; exit 2 ;; esac

export AWS_EC2_METADATA_DISABLED=true
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
unset AWS_PROFILE AWS_SESSION_TOKEN || true
CACHE="${EMBEDCARE_CACHE:-$HOME/.cache/embedcare}"
# CARGO_TARGET_DIR: whatever the caller uses (tests/run.sh shares its builds).
VENV="$CACHE/venv"

if [ -z "${EMBEDCARE_TEST_DYNAMODB_ENDPOINT:-}" ] && [ -z "${MOTO_SERVER:-}" ]; then
  if [ ! -x "$VENV/bin/moto_server" ]; then
    echo "==> installing moto in $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.1'
  fi
  export MOTO_SERVER="$VENV/bin/moto_server"
fi

if [ "$MODE" = load ]; then
  # 1 000 concurrent connections: the harness's and the server's sockets.
  ulimit -n 8192 2>/dev/null || true
  if [ "${2:-}" = quick ]; then
    exec cargo run --locked -p benchmarks -- load quick
  fi
  if [ "${BENCH_LOAD_DEBUG:-0}" = 1 ]; then exec cargo run --locked -p benchmarks -- load; fi
  exec cargo run --locked --release -p benchmarks -- load
fi

if ! command -v wrk >/dev/null 2>&1; then
  echo "==> installing wrk"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y wrk >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
fi

if [ "$MODE" = full ]; then
  exec cargo run --locked --release -p benchmarks -- full
else
  exec cargo run --locked -p benchmarks -- quick
fi
