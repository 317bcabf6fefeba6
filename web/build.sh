#!/usr/bin/env bash
# Builds the browser module: wgzero (games, search, network) compiled to
# wasm32 with WebGPU and the CPU fallback, and wasm-bindgen's JavaScript
# glue, into web/www/pkg/. Then `cargo run --release -- serve` serves the page.
#
# Needs the wasm32 target and wasm-bindgen-cli at the version of Cargo.lock:
#   rustup target add wasm32-unknown-unknown
#   cargo install --version 0.2.130 wasm-bindgen-cli
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "the wasm32 target is missing: rustup target add wasm32-unknown-unknown" >&2
  exit 1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  echo "wasm-bindgen $WASM_BINDGEN_VERSION is missing (found: $(wasm-bindgen --version 2>/dev/null || echo none)):" >&2
  echo "  cargo install --version $WASM_BINDGEN_VERSION wasm-bindgen-cli" >&2
  exit 1
fi

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release --target wasm32-unknown-unknown -p wgzero-web
rm -rf web/www/pkg
wasm-bindgen --target web --no-typescript --out-dir web/www/pkg \
  "$TARGET_DIR/wasm32-unknown-unknown/release/wgzero_web.wasm"
size=$(stat -c %s web/www/pkg/wgzero_web_bg.wasm)
gz=$(gzip -9 -c web/www/pkg/wgzero_web_bg.wasm | wc -c)
echo "web/www/pkg/wgzero_web_bg.wasm: $((size / 1024)) KiB, $((gz / 1024)) KiB gzipped"
