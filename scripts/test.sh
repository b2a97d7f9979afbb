#!/usr/bin/env bash
# Runs every Kiln test: installs what is missing, builds, then the lit suite
# and the import sweep over the ONNX backend node tests.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
kiln_setup

echo "== lit suite"
ninja -C "$KILN_BUILD" check-kiln

echo "== import sweep (ONNX backend node tests)"
python3 "$KILN_ROOT/test/sweep/import_sweep.py" --kilnc "$KILN_BUILD/bin/kilnc" \
  --details "$KILN_BUILD/import_sweep.tsv"
echo "== all tests passed"
