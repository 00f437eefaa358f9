#!/usr/bin/env bash
# The SAM checks of the test command (scripts/test.sh, step 7): the three
# functions under AWS SAM's local emulator, on DynamoDB Local —
# `sam local invoke` on every file in events/, `sam local start-api` over
# HTTP and `sam local start-lambda` with boto3, every answer checked
# (scripts/sam_local_checks.py). scripts/sam-local.sh provides the container
# engine (Docker where it answers, else Podman), DynamoDB Local on a free
# port with the table, and stops all of it afterwards.
#
# Usage: scripts/sam-local-test.sh [BUILD_DIR]   (a `sam build` output for
# this machine's architecture; without it, sam-local.sh builds one)
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

args=()
[ $# -eq 0 ] || args=(--build-dir "$1")

# DynamoDB Local listens on every interface: a port free on all of them.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1]); s.close()')

started=$SECONDS
DYNAMODB_PORT=$port TABLE_NAME=sam-local-checks \
    "$ROOT/scripts/sam-local.sh" "${args[@]}" run \
    "$VENV/bin/python" "$ROOT/scripts/sam_local_checks.py"
log "SAM local checks passed in $((SECONDS - started)) s (engine set-up included)"
