#!/usr/bin/env bash
# Builds the fuzz targets of embedcare (cargo-fuzz, libFuzzer) and runs
# each of them; prints per target the executions done and writes them to
# $CACHE/fuzz-results.txt. Exits non-zero when a target crashes (a panic,
# a failed property), passes its memory limit or times out on an input.
#
#   fuzz/run.sh                   smoke (CI): every target, SMOKE_RUNS executions
#   LONG=1 fuzz/run.sh            long: every target, LONG_RUNS (1 000 000) executions
#   fuzz/run.sh TARGET…           only these targets
#
# The machine has stable Rust only: RUSTC_BOOTSTRAP=1 lets it take the
# nightly flags cargo-fuzz passes (the sanitizer-coverage instrumentation).
# Built with `-s none`: the code is safe Rust, whose bounds and overflow
# checks (debug assertions are on) already fail loudly; AddressSanitizer
# would need -Zbuild-std (a rebuilt standard library) and make a cold build
# several times slower for little more. The build goes to its own target
# dir, $CACHE/fuzz-target, never the workspace's. New inputs found are kept
# in $CACHE/fuzz-corpus (the seeds in fuzz/corpus are only read), crashes
# in $CACHE/fuzz-artifacts.
set -euo pipefail
cd "$(dirname "$0")"
FUZZ=$(pwd)

CACHE="${EMBEDCARE_CACHE:-$HOME/.cache/embedcare}"
TOOLS="$CACHE/tools"
TARGET_DIR="$CACHE/fuzz-target"
RESULTS="${FUZZ_RESULTS:-$CACHE/fuzz-results.txt}"
SMOKE_RUNS="${SMOKE_RUNS:-20000}"
LONG_RUNS="${LONG_RUNS:-1000000}"
export PATH="$TOOLS/bin:$PATH"
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz into $TOOLS"
  cargo install cargo-fuzz --version 0.13.2 --locked --root "$TOOLS"
fi

# The largest input of each target (-max_len): past each parser's own
# limit, so that the limit itself is fuzzed (a header's 8 KB, a sealed
# cursor's 4 096 bytes, a signal's 16 KB, a snapshot's magic bytes).
declare -A MAX_LEN=(
  [user_header]=8192
  [user_json]=8192
  [patient_json]=8192
  [query_string]=8192
  [cursor_open]=8192
  [stream_records]=16384
  [eventbridge_envelope]=16384
  [webhook_signature]=4096
  [live_frame]=20000
  [snapshot_magic]=1024
)
if [ $# -gt 0 ]; then
  TARGETS=("$@")
else
  TARGETS=(user_header user_json patient_json query_string cursor_open stream_records
    eventbridge_envelope webhook_signature live_frame snapshot_magic)
fi
if [ -n "${LONG:-}" ]; then RUNS=$LONG_RUNS; MODE=long; else RUNS=$SMOKE_RUNS; MODE=smoke; fi

start=$(date +%s)
cargo fuzz build -s none --codegen-units 16 --target-dir "$TARGET_DIR"
BIN="$TARGET_DIR/x86_64-unknown-linux-gnu/release"
echo "built in $(( $(date +%s) - start )) s"

mkdir -p "$CACHE/fuzz-corpus" "$CACHE/fuzz-artifacts" "$CACHE/fuzz-logs"
: >"$RESULTS"
failed=0
for t in "${TARGETS[@]}"; do
  corpus="$CACHE/fuzz-corpus/$t"
  artifacts="$CACHE/fuzz-artifacts/$t/"
  log="$CACHE/fuzz-logs/$t.log"
  mkdir -p "$corpus" "$artifacts"
  t0=$(date +%s)
  rc=0
  "$BIN/$t" "$corpus" "$FUZZ/corpus/$t" -runs="$RUNS" -max_len="${MAX_LEN[$t]:-4096}" \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=${execs:-0}
  secs=$(( $(date +%s) - t0 ))
  if [ "$rc" -ne 0 ]; then
    status="FAILED(rc=$rc)"
    failed=1
    tail -40 "$log" >&2
  elif [ "$execs" -lt "$RUNS" ]; then
    status="FAILED(fewer executions than $RUNS)"
    failed=1
  else
    status=ok
  fi
  printf '%-22s %10s executions  %4s s  %s\n' "$t" "$execs" "$secs" "$status" | tee -a "$RESULTS"
done
echo "fuzz ($MODE, $RUNS runs per target): $(( $(date +%s) - start )) s in all; results in $RESULTS"
exit "$failed"
