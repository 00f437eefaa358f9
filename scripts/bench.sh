#!/usr/bin/env bash
# The cold-start and latency benchmark (README, "Performance").
#
#   ./scripts/bench.sh           the full run: 5 cold starts per subject,
#                                2,000 warm invocations, and the Python and
#                                Node.js baselines (installed by
#                                scripts/bench-baselines.sh on first use)
#   ./scripts/bench.sh --quick   the smoke the test command runs: 1 cold
#                                start, 20 warm invocations, Rust subjects
#                                only; it proves the benchmark still works,
#                                its figures mean little
#
# Extra arguments go to the bench binary (--cold-runs N, --warm N, --out FILE).
# Figures: a Markdown table on stdout and JSON in target/bench/.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

"$ROOT/scripts/install-tools.sh"
# The functions as `sam build` builds them (cargo lambda's release flags), the
# floor with the same flags, and the harness too, so all of it shares one
# build (and, in the test command, the build `sam build` already made).
log "cargo lambda build --release (the functions, the floor and the harness)"
cargo lambda build --release --quiet \
    --bin get-employee --bin add-employee --bin remove-employee --bin hello-floor --bin bench
bench=target/lambda/bench/bootstrap

if [ "${1:-}" = "--quick" ]; then
    shift
    exec "$bench" --quick --out target/bench/smoke.json "$@"
fi

args=()
baseline() {
    # "<name> baseline: ready: cwd=<dir> <argv...>" → --baseline 'LABEL|DIR|ARGV'
    local label=$1 spec=$2 cwd
    cwd=${spec%% *}
    args+=(--baseline "$label|${cwd#cwd=}|${spec#* }")
}
while IFS= read -r line; do
    case "$line" in
        "python baseline: ready: "*)
            baseline "Python 3.11 + boto3 (awslambdaric)" "${line#python baseline: ready: }" ;;
        "node baseline: ready: "*)
            baseline "Node.js 20 + AWS SDK v3 (aws-lambda-ric)" "${line#node baseline: ready: }" ;;
        *"baseline: unavailable"*) log "$line" ;;
    esac
done < <("$ROOT/scripts/bench-baselines.sh")

exec "$bench" "${args[@]}" "$@"
