#!/usr/bin/env bash
# Where a function's bytes go: builds each named function as it is packaged
# (release profile, its own `shared` features), with a linker map, and prints
# the bytes of code and read-only data by crate, the largest first.
#
#   ./benches/sizes.sh visits consultation-create hello-sdk
#
# Only the final link differs from a packaged build (`-Wl,-Map`, given to
# that crate alone through `cargo rustc`, so its dependencies are reused).
# The release profile strips the binary, but the map lists every input
# section (code and data are in one section per symbol), so sizes are
# attributed by symbol name; what has no name (anonymous constants, the
# section headers) is "unattributed".
set -euo pipefail
cd "$(dirname "$0")/.."
out="${SIZES_OUT:-${CARGO_TARGET_DIR:-target}/sizes}"
mkdir -p "$out"
for f in "$@"; do
  case "$f" in
    hello-*|sdk-init-probe) pkg=benchmarks ;;
    *) pkg="$f" ;;
  esac
  cargo rustc --locked --release -q -p "$pkg" --bin "$f" -- \
    -C "link-arg=-Wl,-Map=$out/$f.map" >&2
  python3 benches/sizes.py "$out/$f.map" "$f"
done
