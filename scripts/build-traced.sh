#!/usr/bin/env bash
# Builds the functions with the `otel` cargo feature (OpenTelemetry traces,
# docs/operations.md) into target/<profile>/otel/, for the trace tests
# (tests/tests/traces.rs) and the benchmark's traced subject; then puts the
# default binaries back in target/<profile>/ (a cheap step: cargo keeps both
# variants' artifacts, keyed by their features).
#
#   ./scripts/build-traced.sh            debug build (what the tests run)
#   ./scripts/build-traced.sh --release  release build (what the benchmark runs)
#
# The build is over the default members, as `cargo build --bins` at the root
# is, so every dependency shared with the default build keeps its features
# (and its compiled artifacts).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

profile=debug
flags=()
if [ "${1:-}" = "--release" ]; then
    profile=release
    flags=(--release)
fi
functions=(get-employee add-employee remove-employee)

log "cargo build --bins ${flags[*]} --features employee-api/otel"
cargo build --bins --locked --quiet "${flags[@]}" --features employee-api/otel
mkdir -p "target/$profile/otel"
for function in "${functions[@]}"; do
    cp "target/$profile/$function" "target/$profile/otel/$function"
done
cargo build --bins --locked --quiet "${flags[@]}"
