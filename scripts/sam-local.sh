#!/usr/bin/env bash
# AWS SAM's local emulator (`sam local`) on this project, with a container
# engine and DynamoDB Local, on any Linux machine:
#
#   ./scripts/sam-local.sh invoke GetEmployeeFunction -e events/get-employee.json
#   ./scripts/sam-local.sh start-api      # http://127.0.0.1:3000 (SAM's default)
#   ./scripts/sam-local.sh start-lambda   # http://127.0.0.1:3001 (Lambda Invoke API)
#   ./scripts/sam-local.sh run COMMAND [ARG...]
#
# Any further arguments go to `sam local <command>`. Ctrl-C (or the command
# ending, or failing) stops everything this script started: `sam local`, the
# function containers it ran, DynamoDB Local and, where it started one, the
# Podman service.
#
# What it does:
#   1. `sam build` for this machine's architecture (x86_64 or arm64) into
#      .aws-sam/build, unless --build-dir names an existing build (whose
#      binaries must be for this machine); `sam local` gets the same
#      Architecture parameter, so it runs the matching image.
#   2. A container engine for SAM. Where `docker info` answers, that engine is
#      used as it is. Otherwise Podman from Debian (installed with apt-get when
#      missing, as root) serves the Docker API on a socket of its own:
#      `podman system service`, with the `runc` runtime and lowered default
#      ulimits (.tools/sam-local/containers.conf, via CONTAINERS_CONF), and
#      DOCKER_HOST pointing at it. The Lambda base image
#      public.ecr.aws/lambda/provided:al2023-<arch>, which cannot be pulled
#      without a registry, is built once from a Debian rootfs (debootstrap
#      --variant=minbase: glibc, /bin/sh, mv, chmod), cached in
#      .tools/sam-local/, and imported under that tag; SAM layers its Runtime
#      Interface Emulator on top. Every `sam local` command then runs with
#      --skip-pull-image.
#   3. DynamoDB Local (in memory) with the table of template.yaml, reachable
#      from the function containers: they run on the engine's bridge network,
#      where 127.0.0.1 is the container itself, so the functions get the
#      host's address on that bridge (its gateway, as the engine reports it;
#      host.docker.internal on Docker Desktop) in AWS_ENDPOINT_URL_DYNAMODB,
#      through an --env-vars file. DynamoDB Local listens on every interface.
#
# `run` runs COMMAND with all of this set up, with these variables exported:
#   DOCKER_HOST                  the engine's API (as given, or Podman's socket)
#   SAM_LOCAL_TEMPLATE           the built template
#   SAM_LOCAL_ARCHITECTURE       x86_64 or arm64
#   SAM_LOCAL_ENV_VARS           the --env-vars file (TABLE_NAME, endpoint)
#   SAM_LOCAL_SKIP_PULL_IMAGE    1 when `sam local` needs --skip-pull-image
#   SAM_LOCAL_DYNAMODB_ENDPOINT  DynamoDB Local as this host reaches it
#   SAM_LOCAL_CONTAINER_DYNAMODB_ENDPOINT  ... and as the functions reach it
#   TABLE_NAME                   the table
#
# Options (before the command): --build-dir DIR (use this `sam build` output
# instead of building). Environment: DYNAMODB_PORT (8000), TABLE_NAME
# (Employees), DYNAMODB_ENDPOINT (http://127.0.0.1:<port> of a DynamoDB Local
# that is already running, instead of starting one), SAM_LOCAL_HOST_ADDRESS (the host as the containers reach it,
# when the engine's bridge gateway is not it), SAM_LOCAL_ENGINE (auto,
# docker or podman), SAM_LOCAL_SKIP_PULL_IMAGE (1: --skip-pull-image with
# Docker too, for an engine that has the image but no registry).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

build_dir=
while [ $# -gt 0 ]; do
    case $1 in
        --build-dir) build_dir=${2:?--build-dir needs a folder}; shift 2 ;;
        -h|--help) usage ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || usage
command=$1
shift
case $command in
    invoke|start-api|start-lambda|run) ;;
    *) usage ;;
esac

DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
TABLE_NAME=${TABLE_NAME:-Employees}
ENGINE=${SAM_LOCAL_ENGINE:-auto}
# Recipe of the base image's rootfs: a new name rebuilds the cached image.
BASE_ROOTFS_RECIPE=debian-bookworm-minbase-1

case $(uname -m) in
    x86_64|amd64) arch=x86_64; deb_arch=amd64 ;;
    aarch64|arm64) arch=arm64; deb_arch=arm64 ;;
    *) die "unsupported machine architecture $(uname -m): SAM runs x86_64 or arm64 functions" ;;
esac
base_image="public.ecr.aws/lambda/provided:al2023-$arch"
state="$TOOLS/sam-local"

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/sam-local.XXXXXX")
podman_pid=
ddb_pid=
child_pid=
containers_before=

# Lambda containers SAM started (it labels them) that were not there before.
new_lambda_containers() {
    local id
    for id in $(docker_cli ps -aq --filter label=sam.cli.container.type=lambda 2>/dev/null); do
        case " $containers_before " in *" $id "*) ;; *) echo "$id" ;; esac
    done
}

cleanup() {
    local status=$? ids
    trap - EXIT INT TERM
    if [ -n "$child_pid" ]; then
        # `sam local` and what it spawned run in their own process group.
        stop_group "$child_pid"
    fi
    if [ -n "$containers_before" ]; then
        ids=$(new_lambda_containers)
        # shellcheck disable=SC2086
        [ -z "$ids" ] || docker_cli rm -f $ids >/dev/null 2>&1 || true
    fi
    if [ -n "$ddb_pid" ] && ! kill -0 "$ddb_pid" 2>/dev/null; then
        printf 'error: DynamoDB Local exited before the end; its log:\n' >&2
        tail -n 30 "$run_dir/dynamodb-local.log" >&2 || true
        [ "$status" != 0 ] || status=1
    fi
    stop_group "$ddb_pid"
    stop_group "$podman_pid"
    rm -rf "$run_dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$ROOT/scripts/install-tools.sh"

# --- 1. the build --------------------------------------------------------------

if [ -n "$build_dir" ]; then
    [ -f "$build_dir/template.yaml" ] || die "$build_dir holds no sam build output (template.yaml)"
    # The functions run natively: their binaries must be for this machine
    # (ELF e_machine: 0x3e x86_64, 0xb7 aarch64).
    for bootstrap in "$build_dir"/*/bootstrap; do
        case "$arch:$(od -An -t x2 -j 18 -N 2 "$bootstrap" | tr -d ' ')" in
            x86_64:003e|arm64:00b7) ;;
            *) die "$bootstrap is not built for $arch, this machine: sam build --parameter-overrides Architecture=$arch" ;;
        esac
    done
else
    build_dir="$ROOT/.aws-sam/build"
    log "sam build ($arch) into .aws-sam/build"
    sam build --parameter-overrides "Architecture=$arch" \
        --template template.yaml --build-dir "$build_dir" >"$run_dir/build.log" 2>&1 \
        || { tail -n 60 "$run_dir/build.log" >&2; die "sam build failed"; }
fi

# --- 2. the container engine ---------------------------------------------------

# The engine's CLI: docker, or podman (the same storage as its service).
docker_cli() {
    if [ "$ENGINE" = podman ]; then podman "$@"; else docker "$@"; fi
}

apt_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "Installing $* from Debian (apt-get)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$run_dir/apt.log" 2>&1 \
            || { apt-get update -qq >>"$run_dir/apt.log" 2>&1 \
                 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$run_dir/apt.log" 2>&1; } \
            || { tail -n 20 "$run_dir/apt.log" >&2; die "could not install $*: run apt-get install -y $*"; }
    else
        die "$* missing: install with: sudo apt-get install -y $* (or start Docker)"
    fi
}

docker_answers() {
    command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1
}

if [ "$ENGINE" = auto ]; then
    if docker_answers; then ENGINE=docker; else ENGINE=podman; fi
fi

start_podman() {
    local missing=() tool
    for tool in podman runc curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
    mkdir -p "$state"
    # crun, Podman's default runtime on Debian, fails here on a hybrid
    # cgroup layout and on rlimits above the machine's hard nofile limit.
    cat >"$state/containers.conf" <<'CONF'
# Written by scripts/sam-local.sh.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF
    export CONTAINERS_CONF="$state/containers.conf"
    local socket="$run_dir/podman.sock"
    log "Starting the Podman service (Docker API on unix://$socket)"
    setsid podman system service --time=0 "unix://$socket" >"$run_dir/podman.log" 2>&1 &
    podman_pid=$!
    export DOCKER_HOST="unix://$socket"
    for _ in $(seq 1 100); do
        if [ -S "$socket" ] && curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$podman_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$run_dir/podman.log" >&2
    die "the Podman service did not answer on $socket"
}

# The Lambda base image, built from a minimal Debian rootfs (glibc, /bin/sh,
# mv and chmod, which SAM's image build runs), cached as a tarball.
ensure_base_image() {
    podman image exists "$base_image" && return 0
    local tarball="$state/provided-al2023-$arch.$BASE_ROOTFS_RECIPE.tar"
    if [ ! -s "$tarball" ]; then
        command -v debootstrap >/dev/null || apt_install debootstrap
        local rootfs="$state/rootfs.tmp"
        rm -rf "$rootfs"
        log "Building the base image $base_image: debootstrap --variant=minbase bookworm (about a minute; first run only)"
        debootstrap --variant=minbase --arch="$deb_arch" bookworm "$rootfs" http://deb.debian.org/debian \
            >"$run_dir/debootstrap.log" 2>&1 \
            || { tail -n 20 "$run_dir/debootstrap.log" >&2; rm -rf "$rootfs"; die "debootstrap failed"; }
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
            "$rootfs"/usr/share/doc "$rootfs"/usr/share/locale "$rootfs"/usr/share/man "$rootfs"/usr/share/info
        local tool
        for tool in /bin/sh /usr/bin/mv /usr/bin/chmod; do
            [ -x "$rootfs$tool" ] || die "the base rootfs lacks $tool"
        done
        rm -f "$state"/provided-al2023-"$arch".*.tar
        tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$rootfs"
    fi
    log "Importing $base_image into Podman (from .tools/sam-local/)"
    podman import --quiet "$tarball" "$base_image" >/dev/null
}

# The host as the function containers reach it.
host_address() {
    if [ -n "${SAM_LOCAL_HOST_ADDRESS:-}" ]; then
        echo "$SAM_LOCAL_HOST_ADDRESS"
    elif [ "$ENGINE" = podman ]; then
        podman network inspect podman --format '{{range .Subnets}}{{.Gateway}}{{end}}'
    elif docker info --format '{{.OperatingSystem}}' 2>/dev/null | grep -qi 'docker desktop'; then
        echo host.docker.internal
    else
        docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}'
    fi
}

if [ "$ENGINE" = podman ]; then
    start_podman
    ensure_base_image
    skip_pull=1
    log "Engine: Podman $(podman version --format '{{.Server.Version}}' 2>/dev/null || true), image $base_image"
else
    docker_answers || die "docker info fails: start Docker, or use SAM_LOCAL_ENGINE=podman"
    # Docker pulls the base image (kept up to date) unless told not to.
    skip_pull=${SAM_LOCAL_SKIP_PULL_IMAGE:-0}
    log "Engine: Docker (docker info answers${DOCKER_HOST:+ on $DOCKER_HOST})"
fi
containers_before=" $(docker_cli ps -aq --filter label=sam.cli.container.type=lambda | tr '\n' ' ') "

host=$(host_address)
[ -n "$host" ] || die "could not find the host's address on the engine's bridge network: set SAM_LOCAL_HOST_ADDRESS"

# --- 3. DynamoDB Local and the table ------------------------------------------

if [ -n "${DYNAMODB_ENDPOINT:-}" ]; then
    # An engine already running (the test command's, for the whole run).
    DYNAMODB_PORT=${DYNAMODB_ENDPOINT##*:}
    DYNAMODB_PORT=${DYNAMODB_PORT%%/*}
    log "Using DynamoDB Local at $DYNAMODB_ENDPOINT (functions reach it at http://$host:$DYNAMODB_PORT)"
else
    log "Starting DynamoDB Local on port $DYNAMODB_PORT (in memory; functions reach it at http://$host:$DYNAMODB_PORT)"
    ddb_pid=$(start_dynamodb_local "$DYNAMODB_PORT" "$run_dir/dynamodb-local.log")
fi
local_endpoint="http://127.0.0.1:$DYNAMODB_PORT"
container_endpoint="http://$host:$DYNAMODB_PORT"
"$VENV/bin/python" "$ROOT/scripts/sam_local_table.py" create "$local_endpoint" "$TABLE_NAME"

env_vars="$run_dir/env-vars.json"
# Parameters: for every function. SAM sets only variables the template declares.
cat >"$env_vars" <<JSON
{"Parameters": {"TABLE_NAME": "$TABLE_NAME", "AWS_ENDPOINT_URL_DYNAMODB": "$container_endpoint"}}
JSON

export SAM_LOCAL_TEMPLATE="$build_dir/template.yaml" SAM_LOCAL_ARCHITECTURE="$arch" \
    SAM_LOCAL_ENV_VARS="$env_vars" SAM_LOCAL_SKIP_PULL_IMAGE="$skip_pull" \
    SAM_LOCAL_DYNAMODB_ENDPOINT="$local_endpoint" \
    SAM_LOCAL_CONTAINER_DYNAMODB_ENDPOINT="$container_endpoint" TABLE_NAME

if [ "$command" = run ]; then
    [ $# -gt 0 ] || usage
    setsid "$@" &
else
    # SAM keeps only the last --parameter-overrides: merge the caller's into
    # ours, so the functions keep this machine's architecture.
    overrides=("Architecture=$arch")
    rest=()
    while [ $# -gt 0 ]; do
        if [ "$1" = --parameter-overrides ]; then
            shift
            while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do overrides+=("$1"); shift; done
        else
            rest+=("$1")
            shift
        fi
    done
    sam_args=(local "$command" --template "$SAM_LOCAL_TEMPLATE"
        --parameter-overrides "${overrides[@]}" --env-vars "$env_vars")
    [ "$skip_pull" = 0 ] || sam_args+=(--skip-pull-image)
    set -- ${rest[@]+"${rest[@]}"}
    [ "$command" = invoke ] || log "Ctrl-C stops sam local, DynamoDB Local and the engine this script started"
    setsid sam "${sam_args[@]}" "$@" &
fi
child_pid=$!
# `wait` returns early on a signal; the INT/TERM traps then run cleanup,
# which also ends what the command left running in its process group.
set +e
wait "$child_pid"
status=$?
set -e
exit "$status"
