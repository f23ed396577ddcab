#!/bin/sh
# The browser tests: the kernels' parity on WebGPU in headless Chromium
# (tests/web.rs, through wasm-bindgen's test runner and chromedriver), then
# the page end to end (web/tests/e2e.mjs, through playwright-core).
# Needs: chromium and chromium-driver (Debian), the wasm32 target,
# wasm-bindgen-cli 0.2.130, node with npm. Without them it says loudly that
# it skipped; with CI=true it fails instead.
set -eu
cd "$(dirname "$0")/.."
missing=""
for tool in chromium chromedriver wasm-bindgen wasm-bindgen-test-runner node npm; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown || missing="$missing wasm32-target"
if [ -n "$missing" ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "browser tests: CI=true but missing:$missing" >&2
        exit 1
    fi
    echo "!!! browser tests SKIPPED, they did not run: missing$missing" >&2
    exit 0
fi
CHROMEDRIVER="$(command -v chromedriver)" WASM_BINDGEN_TEST_TIMEOUT=300 \
    cargo test --release --target wasm32-unknown-unknown --test web
web/serve.sh --build-only
cd web
npm ci --no-audit --no-fund
npm test
