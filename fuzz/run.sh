#!/usr/bin/env bash
# Builds the fuzz targets with stable Rust and runs one of them with
# libFuzzer: `fuzz/run.sh TARGET [SECONDS] [libFuzzer options...]`.
# Only wgzero and the targets are instrumented (fuzz/sancov-rustc), so the
# dependencies' artifacts of the main `cargo build --release` are reused:
# minutes instead of a second build of burn. `cargo +nightly fuzz run
# TARGET` (cargo-fuzz) works too, with a build of its own.
set -euo pipefail
cd "$(dirname "$0")"
target="${1:?usage: fuzz/run.sh TARGET [SECONDS] [libFuzzer options...]}"
secs="${2:-600}"
shift $(( $# >= 2 ? 2 : 1 ))
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wgzero-target}"
# The main build's lock file, so that dependencies resolve to the same versions.
cp ../Cargo.lock Cargo.lock
RUSTC_WRAPPER="$PWD/sancov-rustc" cargo build --release --bin "$target"
mkdir -p "corpus/$target" "artifacts/$target"
exec "$CARGO_TARGET_DIR/release/$target" "corpus/$target" \
  -artifact_prefix="artifacts/$target/" -max_total_time="$secs" \
  -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 "$@"
