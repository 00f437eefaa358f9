#!/usr/bin/env bash
# The cold-start and latency benchmark (docs/performance.md).
#
#   ./scripts/bench.sh           the full run: without a CPU quota, 5 cold
#                                starts per subject and 2,000 warm
#                                invocations; then the memory sweep, each
#                                subject at 128, 256, 512, 1024 and 1769 MB's
#                                CPU quota, init unthrottled and throttled,
#                                with the cost per million requests and the
#                                chart bench/memory-sweep.svg. Subjects: the
#                                functions, the floor, the naive Rust function
#                                (bench/naive, built here), get-employee with
#                                traces (built here, exporting to a local OTLP
#                                receiver, on the default schedule and after
#                                every invocation) and the Python and
#                                Node.js baselines (installed by
#                                scripts/bench-baselines.sh on first use)
#   ./scripts/bench.sh --quick   the smoke the test command runs: 1 cold
#                                start, 20 warm invocations, Rust subjects
#                                only, and the sweep at 128 MB alone; it
#                                proves the benchmark still works, its
#                                figures mean little
#
# The CPU quota needs root and a CPU controller: cgroup v2's (cpu.max) or
# cgroup v1's (/sys/fs/cgroup/cpu). Without one the benchmark stops before it
# measures anything, in one line that says what to run instead (as root, or
# with --sizes none for a sweep without a quota).
#
# Extra arguments go to the bench binary (--cold-runs N, --warm N, --out FILE,
# --sizes MB,…, --sweep-cold-runs N, --sweep-warm N, --sweep-only, --subject
# 'LABEL|PROGRAM|NAME=VALUE,…' for a variant: the usage `bench --help` prints).
# Figures: Markdown tables on stdout and JSON in target/bench/.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

"$ROOT/scripts/install-tools.sh"
# The TLS endpoint presents an RSA 2048 chain, as DynamoDB does; its keys come
# from `openssl genpkey`.
if ! command -v openssl >/dev/null; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
        die "openssl is required to make the benchmark's RSA keys (apt-get install openssl)"
    log "Installing openssl with apt-get (the benchmark's RSA keys)"
    apt-get install -y --no-install-recommends openssl >&2 ||
        { apt-get update >&2 && apt-get install -y --no-install-recommends openssl >&2; }
fi
# The functions as `sam build` builds them (cargo lambda's release flags), the
# floor with the same flags, and the harness too, so all of it shares one
# build (and, in the test command, the build `sam build` already made).
log "cargo lambda build --release (the functions, the floor and the harness)"
cargo lambda build --release --quiet \
    --bin get-employee --bin add-employee --bin remove-employee --bin hello-floor \
    --bin cpu-quota-exec --bin bench
bench=target/lambda/bench/bootstrap

if [ "${1:-}" = "--quick" ]; then
    shift
    exec "$bench" --quick --out target/bench/smoke.json "$@"
fi

# The naive Rust function: a workspace of its own (bench/naive, with its own
# lock file, so AWS-LC never reaches the functions' build), from crates.io,
# with the same release profile and the same build command.
log "cargo lambda build --release (the naive Rust subject, bench/naive)"
CARGO_TARGET_DIR="$ROOT/target/naive" cargo lambda build --release --quiet --locked \
    --manifest-path bench/naive/Cargo.toml
args=(--naive "$ROOT/target/naive/lambda/naive-get-employee/bootstrap")

# get-employee with OpenTelemetry traces (the `otel` feature), built as the
# docs' deploy recipe builds it, into target/lambda/otel/; then the default
# artifact is put back (cargo keeps both variants' dependencies).
log "cargo lambda build --release --features employee-api/otel (the traced subject)"
cargo lambda build --release --quiet --features employee-api/otel --bin get-employee
mkdir -p target/lambda/otel
cp target/lambda/get-employee/bootstrap target/lambda/otel/get-employee
cargo lambda build --release --quiet --bin get-employee
args+=(--traced "$ROOT/target/lambda/otel/get-employee")

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
