#!/usr/bin/env bash
# Regenerate the Python modules for schemas/framewire/v1/*.proto into services/framewire/v1/.
# Uses grpcio-tools' bundled protoc (pinned in pyproject's dev extra) so output is reproducible.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/services}
python -m grpc_tools.protoc -I "$root/schemas" --python_out="$out" --pyi_out="$out" \
  "$root"/schemas/framewire/v1/*.proto
touch "$out/framewire/v1/__init__.py"
