#!/usr/bin/env bash
# Contract test: runs Schemathesis against the local API (./scripts/dev.sh on
# free ports) with openapi.yaml as the contract, and fails on any server error
# or any response that the document does not describe (status, content type,
# headers, body schema), or on a request the document calls invalid that the
# API accepts (or a valid one it refuses).
#
# Installs Schemathesis (pinned) into .tools/venv when missing. Deterministic:
# a fixed seed, one worker, no example database.
#
# Environment: CONTRACT_MAX_EXAMPLES (400: the most cases generated per
# operation and phase), CONTRACT_SEED (20251121), CONTRACT_REPORT_DIR (unset:
# no reports; a folder, relative to the repository root or absolute: JUnit
# and NDJSON reports are written there).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${CONTRACT_MAX_EXAMPLES:-400}
SEED=${CONTRACT_SEED:-20251121}
MIN_CASES=1000
READY_TIMEOUT_SECONDS=600

# --- Schemathesis, pinned, in the project virtualenv -------------------------
installed=$("$VENV/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}' || true)
if [ "$installed" != "$SCHEMATHESIS_VERSION" ]; then
    log "Installing schemathesis==$SCHEMATHESIS_VERSION into .tools/venv"
    command -v python3 >/dev/null || die "python3 is required to install Schemathesis"
    mkdir -p "$TOOLS"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" >>"$TOOLS/pip.log" 2>&1 \
        || die "could not install schemathesis==$SCHEMATHESIS_VERSION (log: .tools/pip.log)"
fi

# --- The local API, on free ports, in its own process group -------------------
api_port=$(free_port)
ddb_port=$(free_port)
while [ "$ddb_port" = "$api_port" ]; do ddb_port=$(free_port); done
base="http://127.0.0.1:$api_port"

work=$(mktemp -d "${TMPDIR:-/tmp}/contract-test.XXXXXX")
dev_log="$work/dev.log"
# Reports (JUnit, NDJSON) only when asked for: the temporary folder is removed.
report_args=()
if [ -n "${CONTRACT_REPORT_DIR:-}" ]; then
    mkdir -p "$CONTRACT_REPORT_DIR"
    report_args=(--report junit,ndjson --report-dir "$(cd "$CONTRACT_REPORT_DIR" && pwd)")
fi

dev_pid=
cleanup() {
    local status=$?
    if [ -n "$dev_pid" ]; then
        # dev.sh stops DynamoDB Local (its own process group) from its EXIT trap
        # on TERM; KILL only if it does not finish in time.
        kill -TERM -- "-$dev_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$dev_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$dev_pid" 2>/dev/null || true
        if [ -z "${DYNAMODB_ENDPOINT:-}" ] && (exec 3<>"/dev/tcp/127.0.0.1/$ddb_port") 2>/dev/null; then
            printf 'warning: DynamoDB Local still listens on port %s\n' "$ddb_port" >&2
        fi
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# With DYNAMODB_ENDPOINT set (the test command starts one engine for the
# whole run), dev.sh uses that engine, on a table of this run's own.
log "Starting the local API on $base (DynamoDB ${DYNAMODB_ENDPOINT:-Local on port $ddb_port}; log: $dev_log)"
API_PORT=$api_port DYNAMODB_PORT=$ddb_port TABLE_NAME="contract-$$" setsid ./scripts/dev.sh </dev/null >"$dev_log" 2>&1 &
dev_pid=$!

log "Waiting for $base/employees/42 (the first start compiles the functions)"
deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base/employees/42" || true)" = 200 ]; do
    if ! kill -0 "$dev_pid" 2>/dev/null; then
        cat "$dev_log" >&2
        die "./scripts/dev.sh exited before the API answered"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        tail -n 50 "$dev_log" >&2
        die "the API did not answer 200 on $base/employees/42 within ${READY_TIMEOUT_SECONDS}s"
    fi
    sleep 1
done

# --- Schemathesis ----------------------------------------------------------------
# Hooks (written here so that the whole contract test is this script and
# openapi.yaml):
# - before_call: `cargo lambda watch` cannot forward a body declared as JSON
#   that is not UTF-8: it answers 500 itself (a text/plain problem document,
#   nothing in the functions' log) before any function runs. The functions
#   read text and binary bodies alike and refuse a malformed one with 400.
#   Schemathesis sends random non-JSON bytes as "syntax fuzzing"; their
#   invalid UTF-8 sequences are replaced with U+FFFD, so the functions still
#   get (and must refuse) a malformed body.
#   It also gives each valid case an Idempotency-Key of its own, in the form
#   generated (quoted or bare). Schemathesis draws header values from a
#   small space, so unrelated cases would share keys, which no client does
#   (a key is made for one request and sent again only to retry it): a
#   replayed answer then describes another case's request, and the stateful
#   checks read it as the API's (a 201 whose resource another case has since
#   deleted). Replays and 422 for a reused key are tested in
#   tests/tests/write_safety*.rs; invalid keys are still sent as generated.
# - filter_failure: two rules that no schema can state make the API refuse
#   some requests that are schema-valid: a `cursor` must be one the API
#   returned for the same `jobTitle` (an opaque token), and a PUT body's
#   `employee` must equal the id in the path. Only a "schema-valid request
#   rejected" failure that is a 400 for exactly that reason is dropped (the
#   summary counts dropped failures); every other check still applies.
# Configuration: a request the document calls invalid may also be refused
# with 413 (body over 16 KiB) or 414 (request line too long for the local
# router, which then answers itself), as the document says; Schemathesis'
# default list of "rejected" statuses has neither. A valid request may be
# answered 412 (its If-Match names a revision the employee is not at, or
# If-None-Match: * meets one that exists) or 422 (its Idempotency-Key was
# generated before for another request): the document's answers to a valid
# request whose precondition or key does not fit the table's state, as 404
# and 409 are in Schemathesis' default list. An If-Match the document calls
# invalid that still reads as a list of tags matching nothing is a 412.
config="$work/schemathesis.toml"
cat >"$config" <<'TOML'
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "412", "413", "414", "415", "422", "428", "429", "5xx"]

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429", "5xx"]
TOML

hooks="$work/contract_hooks.py"
dropped="$work/dropped-failures.txt"
: >"$dropped"
cat >"$hooks" <<'PY'
import json
import os
import uuid
from urllib.parse import unquote

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            case.body = bytes(body).decode("utf-8", "replace").encode("utf-8")
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    meta = case.meta
    if isinstance(key, str) and meta is not None and meta.generation.mode.is_positive:
        fresh = uuid.uuid4().hex
        headers["Idempotency-Key"] = f'"{fresh}"' if key.startswith('"') else fresh


def _error_message(response):
    try:
        data = json.loads(response.content)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("error") == "ValidationError":
        return data.get("message")
    return None


def _dropped(reason):
    with open(os.environ["CONTRACT_DROPPED_LOG"], "a", encoding="utf-8") as log:
        log.write(reason + "\n")
    return False


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if failure.code != "ST202" or response.status_code != 400:
        return True
    message = _error_message(response) or ""
    label = case.operation.label
    if label == "GET /employees" and "cursor" in (case.query or {}):
        if message.startswith("Cursor "):
            return _dropped("GET /employees: a cursor the API did not return")
    if label == "PUT /employees/{employeeId}" and isinstance(case.body, dict):
        repeated = case.body.get("employee")
        # Path parameters are percent-encoded by now.
        in_path = unquote((case.path_parameters or {}).get("employeeId", ""))
        if repeated is not None and repeated != in_path:
            if message == "Employee in the body must match the employee id in the path.":
                return _dropped("PUT /employees/{employeeId}: body employee differs from the path")
    return True
PY

# Checks: all of them but
#   unsupported_method, allow_header_conformance: they send methods that have
#     no route (PATCH /employees, POST /employees/{id}, ...) and expect 405
#     with Allow. The API's own 405 is only reachable when the functions are
#     invoked directly; `cargo lambda watch` (like API Gateway) answers such
#     requests itself with a 404 that is not the API's error body.
excluded=unsupported_method,allow_header_conformance

log "Running schemathesis $SCHEMATHESIS_VERSION against $base (seed $SEED, max examples $MAX_EXAMPLES)"
output="$work/schemathesis.out"
set +e
# Runs from the temporary folder: nothing (.hypothesis, reports) lands in the work tree.
(
    cd "$work" && SCHEMATHESIS_HOOKS="$hooks" CONTRACT_DROPPED_LOG="$dropped" "$VENV/bin/schemathesis" --config-file "$config" run "$ROOT/openapi.yaml" \
        --url "$base" \
        --checks all \
        --exclude-checks "$excluded" \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --workers 1 \
        --generation-database none \
        --request-timeout 15 \
        --no-color \
        "${report_args[@]}"
) 2>&1 | tee "$output"
status=${PIPESTATUS[0]}
set -e

# The summary counts every generated case: "Test cases:", then "  N generated, ...".
cases=$(awk '/^Test cases:/ { getline; if ($2 ~ /^generated/) print $1 }' "$output" | tail -n 1)
[ -n "$cases" ] || die "could not read the number of test cases from Schemathesis' summary"
if [ -s "$dropped" ]; then
    echo "Failures dropped by the filter_failure hook (rules no schema can state), by reason:"
    sort "$dropped" | uniq -c
fi
echo "contract test: $cases cases ran against $base (schemathesis $SCHEMATHESIS_VERSION, seed $SEED, exit $status)"
if [ "$status" -ne 0 ]; then
    die "Schemathesis found failures (exit $status)"
fi
if [ "$cases" -lt "$MIN_CASES" ]; then
    die "only $cases cases ran; at least $MIN_CASES are required"
fi
