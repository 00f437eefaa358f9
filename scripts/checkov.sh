#!/usr/bin/env bash
# Static security analysis of template.yaml with checkov (PyPI, pinned).
# Fails on any failed check. Checks that do not fit this design are skipped
# in template.yaml itself (`Metadata: checkov: skip:`), each with its reason,
# so the skips are reviewed with the resources they concern.
#
# checkov gets a virtualenv of its own, .tools/checkov-venv: it pins
# boto3==1.35.x, networkx<2.7 and packaging<24, which conflict with the AWS
# SAM CLI's exact boto3 pin in .tools/venv (scripts/tools-requirements.txt).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

CHECKOV_VERSION=3.3.30
CHECKOV_VENV="$TOOLS/checkov-venv"

if [ "$("$CHECKOV_VENV/bin/checkov" --version 2>/dev/null)" != "$CHECKOV_VERSION" ]; then
    command -v python3 >/dev/null || die "python3 is required to install checkov"
    log "Installing checkov $CHECKOV_VERSION into .tools/checkov-venv"
    mkdir -p "$TOOLS"
    [ -x "$CHECKOV_VENV/bin/python" ] || python3 -m venv "$CHECKOV_VENV"
    "$CHECKOV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "checkov==$CHECKOV_VERSION"
fi

log "checkov $CHECKOV_VERSION on template.yaml and template-managed-instances.yaml"
# cloudformation: checkov expands the SAM resources (AWS::Serverless::*) and
# runs the Lambda, API Gateway, DynamoDB and Logs checks on them; --compact
# and --quiet print only failed checks, and the summary line.
"$CHECKOV_VENV/bin/checkov" --file template.yaml --file template-managed-instances.yaml \
    --framework cloudformation \
    --quiet --compact --skip-download "$@"
