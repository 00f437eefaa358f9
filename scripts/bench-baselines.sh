#!/usr/bin/env bash
# Installs the cold-start benchmark's baselines: the get-employee handler as
# users would otherwise write it, on AWS's own runtime interface clients.
#   .tools/bench-python  venv: awslambdaric (PyPI) + boto3, both pinned below;
#                        runs bench/baselines/python/handler.py
#   .tools/bench-node    the Node.js function's "task root", as Lambda unpacks a
#                        zip: index.mjs, package.json, package-lock.json and
#                        node_modules (aws-lambda-ric + @aws-sdk/client-dynamodb,
#                        pinned in bench/baselines/node/package.json)
# Does nothing that is already done. A baseline that cannot be installed here
# is reported as unavailable; the script still exits 0.
#
# Its last two lines on stdout say how to start each function process:
#   python baseline: ready: cwd=<dir> <argv...>
#   node baseline: ready: cwd=<dir> <argv...>
# or "<name> baseline: unavailable (<reason>)". Exec <argv...> (split on
# spaces) with the working directory <dir>: both runtime clients load the
# handler relative to their working directory. The process reads from its
# environment:
#   AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>   the Runtime API to poll
#   TABLE_NAME, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
#   AWS_REGION and AWS_DEFAULT_REGION          boto3 reads only AWS_DEFAULT_REGION
#                                              (Lambda sets both)
#   AWS_ENDPOINT_URL_DYNAMODB=https://…        honoured by boto3 and SDK v3 alike
#   AWS_CA_BUNDLE=<pem>        (Python)        CA to trust for that endpoint
#   NODE_EXTRA_CA_CERTS=<pem>  (Node.js)
#
# Building aws-lambda-ric (npm) compiles curl and aws-lambda-cpp from source
# (autotools, cmake, C++) and a node-gyp addon against Node's headers; on
# Debian the script installs what is missing of cmake, autoconf, automake,
# libtool, make and g++ with apt-get when it runs as root. awslambdaric (PyPI)
# ships manylinux wheels for CPython 3.9+ on x86_64 and aarch64; only without
# one does pip build it from source, needing the same tools.
set -euo pipefail
source "$(dirname "$0")/common.sh"

AWSLAMBDARIC_VERSION=4.2.2
BOTO3_VERSION=1.44.5

BASELINES="$ROOT/bench/baselines"
PY_VENV="$TOOLS/bench-python"
NODE_ROOT="$TOOLS/bench-node"

mkdir -p "$TOOLS"

# Installs, with apt-get, the Debian packages providing the build tools that
# are missing. Returns non-zero if some are missing and cannot be installed.
ensure_build_tools() {
    local missing=() tool pkg
    for tool in cmake:cmake autoreconf:autoconf automake:automake libtoolize:libtool make:make g++:g++; do
        command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        log "missing build tools (${missing[*]}) and no apt-get as root to install them"
        return 1
    fi
    log "Installing build tools with apt-get: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
        apt-get update >&2 && apt-get install -y --no-install-recommends "${missing[@]}" >&2 || return 1
    fi
    for pkg in "${missing[@]}"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || return 1
    done
}

# --- Python: awslambdaric + boto3 -------------------------------------------

python_status=
install_python_baseline() {
    local want="awslambdaric==$AWSLAMBDARIC_VERSION boto3==$BOTO3_VERSION"
    local stamp="$PY_VENV/.installed-requirements"
    if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] \
        && "$PY_VENV/bin/python" -c 'import awslambdaric.bootstrap, boto3' 2>/dev/null; then
        return 0
    fi
    command -v python3 >/dev/null || { python_status="python3 not found"; return 1; }
    log "Installing $want into .tools/bench-python"
    rm -rf "$PY_VENV"
    python3 -m venv "$PY_VENV" || { python_status="python3 -m venv failed"; return 1; }
    # shellcheck disable=SC2086
    local pip=("$PY_VENV/bin/python" -m pip install --quiet --disable-pip-version-check $want)
    # A wheel when there is one; otherwise pip builds awslambdaric's C extension
    # (with curl and aws-lambda-cpp) from its source distribution.
    if ! "${pip[@]}" --only-binary awslambdaric >&2; then
        log "no awslambdaric $AWSLAMBDARIC_VERSION wheel for $("$PY_VENV/bin/python" -V); building it from source"
        ensure_build_tools || { python_status="no wheel for this Python, and no build tools"; return 1; }
        "${pip[@]}" >&2 || { python_status="pip install $want failed"; return 1; }
    fi
    "$PY_VENV/bin/python" -c 'import awslambdaric.bootstrap, boto3' \
        || { python_status="awslambdaric installed but does not import"; return 1; }
    echo "$want" >"$stamp"
}

# --- Node.js: aws-lambda-ric + AWS SDK v3 -------------------------------------

node_status=
install_node_baseline() {
    command -v node >/dev/null && command -v npm >/dev/null \
        || { node_status="node and npm not found"; return 1; }
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    [ "$major" -ge 20 ] || { node_status="Node.js $major is too old: 20 or later is needed"; return 1; }

    mkdir -p "$NODE_ROOT"
    # The handler is copied in every run (Node.js resolves its imports from
    # the file's own folder, so it must sit beside node_modules).
    cp "$BASELINES/node/index.mjs" "$NODE_ROOT/index.mjs"

    local addon="$NODE_ROOT/node_modules/aws-lambda-ric/dist/rapid-client.node"
    if cmp -s "$BASELINES/node/package.json" "$NODE_ROOT/package.json" \
        && cmp -s "$BASELINES/node/package-lock.json" "$NODE_ROOT/package-lock.json" \
        && [ -f "$addon" ] && [ -f "$NODE_ROOT/.installed" ]; then
        return 0
    fi
    ensure_build_tools || { node_status="aws-lambda-ric needs cmake, autotools and a C++ compiler to build"; return 1; }
    command -v python3 >/dev/null || { node_status="node-gyp needs python3"; return 1; }
    # node-gyp would download Node's headers; use the installed ones instead.
    local nodedir
    nodedir=$(npm config get nodedir 2>/dev/null || true)
    if [ -z "$nodedir" ] || [ "$nodedir" = undefined ] || [ "$nodedir" = null ]; then
        nodedir=$(cd "$(dirname "$(command -v node)")/.." && pwd)
        if [ -f "$nodedir/include/node/node_api.h" ]; then
            export npm_config_nodedir="$nodedir"
        else
            log "Node.js headers not found under $nodedir/include/node; node-gyp will try to download them"
        fi
    fi

    log "Installing aws-lambda-ric and @aws-sdk/client-dynamodb into .tools/bench-node (builds a native addon: a few minutes)"
    rm -f "$NODE_ROOT/.installed"
    cp "$BASELINES/node/package.json" "$BASELINES/node/package-lock.json" "$NODE_ROOT/"
    if ! (cd "$NODE_ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2); then
        node_status="npm ci failed (building aws-lambda-ric's native addon?)"
        return 1
    fi
    # npm may skip dependencies' install scripts (allowScripts); without them
    # the addon is never built.
    [ -f "$addon" ] || { node_status="aws-lambda-ric installed without its native addon (install scripts not run?)"; return 1; }
    touch "$NODE_ROOT/.installed"
}

# Both are attempted; either may be unavailable.
install_python_baseline || python_status=${python_status:-install failed}
install_node_baseline || node_status=${node_status:-install failed}

if [ -z "$python_status" ]; then
    echo "python baseline: ready: cwd=$BASELINES/python $PY_VENV/bin/python -m awslambdaric handler.handler"
else
    echo "python baseline: unavailable ($python_status)"
fi
if [ -z "$node_status" ]; then
    echo "node baseline: ready: cwd=$NODE_ROOT $(command -v node) $NODE_ROOT/node_modules/aws-lambda-ric/bin/index.mjs index.handler"
else
    echo "node baseline: unavailable ($node_status)"
fi
