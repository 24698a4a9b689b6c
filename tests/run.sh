#!/usr/bin/env bash
# Runs every test of embedcare on a fresh machine: formatting, lints, and
# every test of the workspace, on the embedded store and on DynamoDB (moto
# server). Installs what it needs on the way (a Python virtualenv with moto
# under ~/.cache/embedcare/venv).
#
#   ./tests/run.sh           everything
#   QUICK=1 ./tests/run.sh   skip fmt and clippy
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# The AWS SDK must never probe instance metadata here, nor find real keys.
export AWS_EC2_METADATA_DISABLED=true
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
unset AWS_PROFILE AWS_SESSION_TOKEN || true
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

CACHE="${EMBEDCARE_CACHE:-$HOME/.cache/embedcare}"
VENV="$CACHE/venv"

step() { printf '\n==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi

step "Python tools (moto server) in $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/tests/requirements.txt"
export PATH="$VENV/bin:$PATH"
export MOTO_SERVER="$VENV/bin/moto_server"

step "moto server"
MOTO_PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOTO_LOG="$CACHE/moto.log"
"$MOTO_SERVER" -H 127.0.0.1 -p "$MOTO_PORT" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if "$VENV/bin/python" -c "import socket; socket.create_connection(('127.0.0.1', $MOTO_PORT), 1)" 2>/dev/null; then
    break
  fi
  sleep 0.2
done
export EMBEDCARE_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
echo "moto on $EMBEDCARE_TEST_DYNAMODB_ENDPOINT"

if [ -z "${QUICK:-}" ]; then
  step "cargo fmt --check"
  cargo fmt --all -- --check

  step "cargo clippy (all targets, warnings are errors)"
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi

step "cargo test (workspace; HTTP suite on the embedded store; store contract on both adapters)"
cargo test --workspace --locked

step "HTTP suite again, on DynamoDB (moto)"
EMBEDCARE_TEST_STORE=dynamodb cargo test --locked -p integration-tests --test http

step "browser (Chromium, the walk through a consultation)"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && apt-get install -y -qq chromium
fi
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
cargo build -p embedcare
EMBEDCARE_BIN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/embedcare"
EMBEDCARE_BIN="$EMBEDCARE_BIN" node --test tests/browser/

step "packaging: one function as Lambda ships it (cargo-lambda, release)"
LAMBDA_DIR="$CACHE/lambda"
rm -rf "$LAMBDA_DIR/consultation-create"
cargo lambda build --release --locked -p consultation-create --output-format zip --lambda-dir "$LAMBDA_DIR"
"$VENV/bin/python" - "$LAMBDA_DIR/consultation-create/bootstrap.zip" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
info = z.getinfo("bootstrap")
head = z.open("bootstrap").read(4)
assert head == b"\x7fELF", "bootstrap is not an ELF executable"
assert (info.external_attr >> 16) & 0o111, "bootstrap is not executable"
print(f"{sys.argv[1]}: bootstrap {info.file_size} bytes, zip {sum(i.compress_size for i in z.infolist())} bytes")
PY

step "Lambda crates build without the local-only code (feature local of shared)"
# Their feature trees hold no `local` (nor `embedded`, which it implies)...
for crate in $(ls functions); do
  [ "$crate" = local ] && continue
  if cargo tree --locked -e features -p "$crate" | grep -E 'shared feature "(local|embedded|default)"'; then
    echo "$crate builds shared with local-only features" >&2
    exit 1
  fi
done
echo "no lambda crate enables local, embedded or shared's defaults"
# forbid_in_trees PATTERN WHAT SKIP...: no function crate but SKIP has a
# crate named by PATTERN (an extended regex) among its normal dependencies.
forbid_in_trees() {
  local pattern="$1" what="$2"
  shift 2
  for crate in $(ls functions); do
    case " $* " in *" $crate "*) continue ;; esac
    if cargo tree --locked -e normal -p "$crate" | grep -E "^[^a-z]*($pattern) v"; then
      echo "$crate $what" >&2
      exit 1
    fi
  done
}
# Only what delivers webhooks builds an HTTP client (reqwest, feature
# `webhooks` of shared): the dispatcher; no other function links one.
forbid_in_trees 'reqwest' 'links an HTTP client (reqwest): only event-dispatcher may' local event-dispatcher
cargo tree --locked -e normal -p event-dispatcher | grep -qE '^[^a-z]*reqwest v' \
  || { echo "event-dispatcher no longer links its webhook client: this check sees nothing" >&2; exit 1; }
echo "only event-dispatcher links the webhook client"
# Every function reaches AWS through the one HTTP/1.1 client of
# shared/src/http_client.rs (rustls on ring, compiled-in roots): none links
# HTTP/2, aws-lc or the SDK's default client (and its CA-bundle reader).
forbid_in_trees 'h2|aws-lc-rs|aws-lc-sys|aws-smithy-http-client' "links HTTP/2, aws-lc or the SDK's default HTTP client" local
cargo tree --locked -e normal -p consultation-create | grep -qE '^[^a-z]*(ring|webpki-roots) v' \
  || { echo "consultation-create links neither ring nor webpki-roots: this check sees nothing" >&2; exit 1; }
echo "no function links h2, aws-lc or the SDK's default HTTP client"
# ...and the packaged bootstrap holds none of the demo page's text (the
# local binary, built for the browser step, does: the check can see it).
DEMO_MARK=$(sed -n 's:.*<title>\(.*\)</title>.*:\1:p' shared/dev/demo.html)
"$VENV/bin/python" - "$LAMBDA_DIR/consultation-create/bootstrap.zip" "$EMBEDCARE_BIN" "$DEMO_MARK" <<'PY'
import sys, zipfile
bootstrap = zipfile.ZipFile(sys.argv[1]).open("bootstrap").read()
local = open(sys.argv[2], "rb").read()
mark = sys.argv[3].encode()
assert mark, "no mark read from shared/dev/demo.html"
assert mark in local, f"the local binary lacks {mark!r}: the check would see nothing"
assert mark not in bootstrap, f"the Lambda bootstrap contains the demo page ({mark!r})"
print(f"{mark.decode()!r}: in the local binary, not in the Lambda bootstrap")
PY

step "infrastructure (SAM and CDK, offline)"
./infra/test.sh

step "benchmarks (quick mode: every benchmark runs, counted budgets hold)"
./benches/run.sh quick

step "load and SIGKILL (races of one key, token, slot; flaky webhooks; SIGKILL mid-load; LONG=1: full counts → LOAD.md)"
if [ "${LONG:-0}" = 1 ]; then ./benches/run.sh load; else ./benches/run.sh load quick; fi

step "injected faults: 503 + Retry-After, nothing half-written, no event lost (LONG=1: every call position)"
FAULTS_LOG="$CACHE/faults.log"
if ! EMBEDCARE_FAULTS_LONG="${LONG:-}" cargo test --locked -p integration-tests --test http faults:: \
    -- --nocapture >"$FAULTS_LOG" 2>&1; then
  tail -n 100 "$FAULTS_LOG"
  exit 1
fi
grep -E '^faults\[|^test result' "$FAULTS_LOG"

step "operator metrics: the local binary's /dev/metrics counts what it served (LONG=1: 2000 requests)"
# The real binary's wiring (the counters installed, /dev/metrics served,
# every router's count of 4xx by route): its 404s on no route and on a
# route are counted exactly, and every metric of the contract has its TYPE.
METRICS_N=3
[ -n "${LONG:-}" ] && METRICS_N=2000
METRICS_DIR=$(mktemp -d)
METRICS_PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$EMBEDCARE_BIN" --data-dir "$METRICS_DIR" serve --addr "127.0.0.1:$METRICS_PORT" >"$METRICS_DIR/out.log" 2>&1 &
METRICS_PID=$!
"$VENV/bin/python" - "$METRICS_PORT" "$METRICS_N" <<'PY'
import sys, time, urllib.request, urllib.error
port, n = sys.argv[1], int(sys.argv[2])
base = f"http://127.0.0.1:{port}"
def get(path):
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, r.read().decode(), r.headers.get("content-type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("content-type", "")
for _ in range(300):
    try:
        get("/dev/metrics"); break
    except OSError:
        time.sleep(0.1)
def samples():
    status, text, ctype = get("/dev/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4"), (status, ctype)
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return text, out
text, before = samples()
for name in ["launches_issued_total", "launches_redeemed_total", "redemptions_expired_total",
             "events_written_total", "events_relayed_total", "webhook_deliveries_total",
             "webhook_failures_total", "bookings_total", "booking_conflicts_total",
             "http_4xx_total", "http_5xx_total"]:
    assert f"# TYPE embedcare_{name} counter" in text, name
assert "# TYPE embedcare_relay_lag_milliseconds summary" in text
assert "# TYPE embedcare_outbox_oldest_pending_seconds gauge" in text
t0 = time.time()
for i in range(n):
    assert get(f"/no/such/page/{i}")[0] == 404
    assert get("/v2/consultations/00000000-0000-4000-8000-000000000000")[0] == 401
_, after = samples()
# The relay of the seeded world's events may move other counters meanwhile.
moved = {k: v - before.get(k, 0) for k, v in after.items()
         if v != before.get(k, 0) and k.startswith("embedcare_http_")}
assert moved == {'embedcare_http_4xx_total{route="unmatched"}': n,
                 'embedcare_http_4xx_total{route="/v2/consultations/{consultationId}"}': n}, moved
print(f"{2 * n} requests in {time.time() - t0:.1f} s, counted exactly: {moved}")
PY
kill "$METRICS_PID"
wait "$METRICS_PID" 2>/dev/null || true
rm -rf "$METRICS_DIR"

step "schema-driven API testing (schemathesis: every check and phase, seeded; LONG=1 for the long run)"
# The local server on a fresh data directory; the budget is the mode's
# (tests/schemathesis/run.sh: 180 s of cases in CI, 1200 s with LONG=1).
# Cases run and failures: $CACHE/schemathesis-results.txt.
cargo build --locked -p embedcare
EMBEDCARE_BIN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/embedcare" \
  EMBEDCARE_CACHE="$CACHE" ./tests/schemathesis/run.sh

step "fuzzing (cargo fuzz: every parser of outside input; LONG=1: 1 000 000 executions per target)"
# fuzz/run.sh installs cargo-fuzz under $CACHE/tools, builds into
# $CACHE/fuzz-target and prints each target's executions (also in
# $CACHE/fuzz-results.txt); smoke: SMOKE_RUNS (20 000) executions per target.
./fuzz/run.sh

step "no Scan in product code"
if grep -rnE '\.scan\(\)|ScanInput|"Scan"' --include='*.rs' shared/src functions; then
  echo "a DynamoDB Scan appears in product code" >&2
  exit 1
fi
echo "none"
