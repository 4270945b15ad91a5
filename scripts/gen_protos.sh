#!/usr/bin/env bash
# Regenerates dompromise/v1/ and dompromise/internal/v1/ (generated code only,
# never edited by hand) from protos/ with the pinned grpcio-tools of the dev extra.
# CI runs this and fails if the checked-in code differs: `make check-protos`.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
rm -rf dompromise/v1 dompromise/internal
mkdir -p dompromise/v1 dompromise/internal/v1
# google/api/annotations.proto and http.proto (the HTTP routes) as googleapis-common-protos ships them;
# buf reads the same files vendored in third_party/googleapis (buf.yaml).
googleapis="$("$python" -c 'import pathlib, google.api.annotations_pb2 as a; print(pathlib.Path(a.__file__).parents[2])')"
"$python" -m grpc_tools.protoc -Iprotos -I"$googleapis" \
  --python_out=. --pyi_out=. --grpc_python_out=. \
  protos/dompromise/v1/*.proto
# The log format has no services: messages only.
"$python" -m grpc_tools.protoc -Iprotos --python_out=. --pyi_out=. \
  protos/dompromise/internal/v1/*.proto
for out in dompromise/v1 dompromise/internal dompromise/internal/v1; do
  printf '"""Generated from protos/ by scripts/gen_protos.sh. Do not edit."""\n' > "$out/__init__.py"
done
