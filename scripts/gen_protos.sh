#!/usr/bin/env bash
# Regenerates dompromise/v1/ (generated code only, never edited by hand) from
# protos/dompromise/v1/*.proto with the pinned grpcio-tools of the dev extra.
# CI runs this and fails if the checked-in code differs: `make check-protos`.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
out=dompromise/v1
rm -rf "$out"
mkdir -p "$out"
"$python" -m grpc_tools.protoc -Iprotos \
  --python_out=. --pyi_out=. --grpc_python_out=. \
  protos/dompromise/v1/*.proto
printf '"""Generated from protos/dompromise/v1 by scripts/gen_protos.sh. Do not edit."""\n' > "$out/__init__.py"
