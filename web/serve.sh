#!/bin/sh
# Build the page (neurona-web for wasm32, then wasm-bindgen's JS glue into
# web/pkg/) and serve web/ on http://127.0.0.1:${PORT:-8000}/ .
# Needs: rustup target add wasm32-unknown-unknown; cargo install
# wasm-bindgen-cli --version 0.2.130; python3. With --build-only, stop
# after building.
set -eu
cd "$(dirname "$0")/.."
cargo build --release --target wasm32-unknown-unknown -p neurona-web
wasm-bindgen --target web --no-typescript --out-dir web/pkg \
    target/wasm32-unknown-unknown/release/neurona_web.wasm
[ "${1:-}" = "--build-only" ] && exit 0
echo "serving http://127.0.0.1:${PORT:-8000}/"
exec python3 -m http.server --bind 127.0.0.1 --directory web "${PORT:-8000}"
