#!/usr/bin/env bash
# README command 2: the whole test suite, on a fresh machine. Installs what is
# missing into .tools/ first, then runs:
#   1. formatting and clippy (warnings are errors)
#   2. a build of the functions (and of the functions with the `otel` feature,
#      scripts/build-traced.sh), and one DynamoDB Local for the whole run
#      (DYNAMODB_ENDPOINT: every test binary, the contract test and the
#      benchmark use it, each on tables of its own)
#   3. cargo test --workspace with the local-stack features: unit tests, the
#      functions in process (events/ files, property tests, logs), the store
#      on DynamoDB Local, end-to-end tests through `cargo lambda watch`
#      (routes, malformed requests, faults, TLS, observability, load), the
#      OpenTelemetry traces exported to an OTLP receiver (tests/tests/traces.rs), the
#      template against the code, the docs check (tests/tests/docs.rs), and
#      the client and its `employees` CLI against that local API (HTTPS,
#      SigV4 against botocore, `--stack` against moto's CloudFormation);
#      without the features, `cargo test
#      --workspace` is the fast tier: the tests that need Rust alone
#   4. the contract test: schemathesis, from openapi.yaml, against the local API
#   5. cargo deny (licenses, bans)
#   6. cfn-lint, `sam validate` (with and without --lint) and checkov on
#      template.yaml and template-managed-instances.yaml; `sam build` of
#      template.yaml
#   7. the functions of that build under SAM's own emulator, on DynamoDB
#      Local (scripts/sam-local-test.sh): `sam local invoke` on every file in
#      events/, every route through `sam local start-api`, the Lambda Invoke
#      API of `sam local start-lambda` with boto3 — every answer checked. The
#      container engine is Docker where `docker info` answers, else Podman
#      (installed from Debian and set up by scripts/sam-local.sh)
#   8. the benchmark, as a smoke (scripts/bench.sh --quick)
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

"$ROOT/scripts/install-tools.sh"

log "cargo fmt --all --check"
cargo fmt --all --check

log "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings
log "cargo clippy -p employee-api --features otel --all-targets -- -D warnings"
cargo clippy -p employee-api --features otel --all-targets --locked --quiet -- -D warnings

# The end-to-end tests serve these binaries through `cargo lambda watch`,
# which builds them as `cargo run --bin` at the root does: over the default
# members (Cargo.toml), whose features differ from the whole workspace's once
# the client is in. Building that set first keeps compilation out of the
# tests' time.
log "cargo build --bins"
cargo build --bins --locked --quiet
# The same functions with the `otel` feature, in target/debug/otel/, for the
# trace tests (tests/tests/traces.rs).
"$ROOT/scripts/build-traced.sh"

# One DynamoDB Local for the whole run: every test binary, the contract test
# and the benchmark use it (DYNAMODB_ENDPOINT), each on tables of its own.
ddb_port=$(free_port)
log "Starting DynamoDB Local on port $ddb_port for the whole run"
ddb_pid=
build_dir=
cleanup() {
    stop_group "$ddb_pid"
    [ -z "$build_dir" ] || rm -rf "$build_dir" "$build_dir.log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ddb_pid=$(start_dynamodb_local "$ddb_port" "$TOOLS/dynamodb-local-test.log")
export DYNAMODB_ENDPOINT="http://127.0.0.1:$ddb_port"

log "cargo test --workspace --features employee-api-tests/local-stack,employee-api-client/local-stack"
cargo test --workspace --locked \
    --features employee-api-tests/local-stack,employee-api-client/local-stack

"$ROOT/scripts/contract-test.sh"

# cargo-deny builds from crates.io on first use (a few minutes), into .tools/.
CARGO_DENY_VERSION=0.20.2
cargo_deny="$TOOLS/cargo/bin/cargo-deny"
if [ "$("$cargo_deny" --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    log "Installing cargo-deny $CARGO_DENY_VERSION into .tools/cargo (first run only)"
    cargo install --quiet --locked --root "$TOOLS/cargo" cargo-deny --version "$CARGO_DENY_VERSION"
fi
log "cargo deny check licenses bans"
# --all-features: the `otel` build's crates are vetted too.
"$cargo_deny" --log-level error --all-features check licenses bans

# template-managed-instances.yaml: the same stack on Lambda Managed Instances.
for template in template.yaml template-managed-instances.yaml; do
    log "cfn-lint $template"
    cfn-lint "$template"
    # Plain `sam validate` runs SAM's transform; `--lint` runs cfn-lint on it.
    log "sam validate, sam validate --lint: $template"
    sam validate --template "$template" --region us-east-1
    sam validate --lint --template "$template" --region us-east-1
done

"$ROOT/scripts/checkov.sh"

# arm64 is the deployed default, but the aarch64 Rust target cannot be
# installed here: build x86_64 to prove the template and the workspace build.
log "sam build (x86_64)"
build_dir=$(mktemp -d)
sam build --parameter-overrides Architecture=x86_64 \
    --template template.yaml --build-dir "$build_dir" >"$build_dir.log" 2>&1 \
    || { tail -n 60 "$build_dir.log"; die "sam build failed"; }
for fn in GetEmployeeFunction AddEmployeeFunction RemoveEmployeeFunction; do
    [ -x "$build_dir/$fn/bootstrap" ] || die "sam build made no bootstrap for $fn"
    printf '  %-24s bootstrap %s bytes\n' "$fn" "$(stat -c %s "$build_dir/$fn/bootstrap")"
done
rm -f "$build_dir.log"

# The same build under `sam local`: what a SAM user runs first.
log "SAM local checks on that build: scripts/sam-local-test.sh"
"$ROOT/scripts/sam-local-test.sh" "$build_dir"

# The benchmark as a smoke (1 cold start, 20 warm invocations): it reuses
# the release build `sam build` just made, and keeps the benchmark from
# rotting. Its figures are printed, never asserted.
log "benchmark smoke: scripts/bench.sh --quick"
"$ROOT/scripts/bench.sh" --quick

log "All checks passed"
