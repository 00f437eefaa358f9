#!/usr/bin/env bash
# README command 1: serves the employee API locally, as deployed, on
# http://127.0.0.1:9000 — the three functions under `cargo lambda watch`
# (routes from Cargo.toml's [workspace.metadata.lambda.watch.router], which
# a test keeps equal to template.yaml's) on DynamoDB Local, in memory.
# Installs what is missing into .tools/ first. Ctrl-C stops everything.
#
# Environment: API_PORT (9000), DYNAMODB_PORT (8000), TABLE_NAME (Employees),
# IDEMPOTENCY_TABLE_NAME (<TABLE_NAME>-idempotency), REQUIRE_IF_MATCH (false);
# DYNAMODB_ENDPOINT to use a DynamoDB engine that is already running instead
# of starting DynamoDB Local.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

API_PORT=${API_PORT:-9000}
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
TABLE_NAME=${TABLE_NAME:-Employees}
IDEMPOTENCY_TABLE_NAME=${IDEMPOTENCY_TABLE_NAME:-$TABLE_NAME-idempotency}
REQUIRE_IF_MATCH=${REQUIRE_IF_MATCH:-false}
endpoint=${DYNAMODB_ENDPOINT:-http://127.0.0.1:$DYNAMODB_PORT}
base="http://127.0.0.1:$API_PORT"

"$ROOT/scripts/install-tools.sh"

if (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null; then
    die "port $API_PORT is already in use; choose another with API_PORT=<port>"
fi

log "Building the functions"
cargo build --workspace --bins --quiet

ddb_pid=
if [ -z "${DYNAMODB_ENDPOINT:-}" ]; then
    ddb_log="$TOOLS/dynamodb-local.log"
    log "Starting DynamoDB Local on $endpoint (in memory; log: .tools/dynamodb-local.log)"
    ddb_pid=$(start_dynamodb_local "$DYNAMODB_PORT" "$ddb_log")
fi
trap 'stop_group "$ddb_pid"' EXIT
trap 'exit 130' INT TERM

cargo run --quiet -p employee-api-tests --example create-local-table -- "$endpoint" "$TABLE_NAME" "$IDEMPOTENCY_TABLE_NAME"

cat <<MSG

  Employee API: $base   (table $TABLE_NAME on DynamoDB Local, in memory)

  curl -s $base/employees/42
  curl -s '$base/employees?jobTitle=Engineer&limit=10'
  curl -s -X POST $base/employees -H 'content-type: application/json' -d '{"employee":"43","jobTitle":"Product Manager"}'
  curl -s -X PUT $base/employees/43 -H 'content-type: application/json' -d '{"jobTitle":"Director"}'
  curl -s -X DELETE $base/employees/43

  Ctrl-C stops the API and DynamoDB Local.

MSG

# `cargo lambda watch` passes no AWS_REGION to the functions unless told to.
cargo lambda watch \
    --invoke-address 127.0.0.1 --invoke-port "$API_PORT" \
    --env-var "TABLE_NAME=$TABLE_NAME,IDEMPOTENCY_TABLE_NAME=$IDEMPOTENCY_TABLE_NAME,REQUIRE_IF_MATCH=$REQUIRE_IF_MATCH,AWS_REGION=us-east-1,AWS_ENDPOINT_URL_DYNAMODB=$endpoint,AWS_ACCESS_KEY_ID=local,AWS_SECRET_ACCESS_KEY=local,RUST_LOG=info"
