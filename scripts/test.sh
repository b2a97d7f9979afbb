#!/usr/bin/env bash
# Runs every Kiln test: installs what is missing, builds, then the lit suite
# and the import sweep over the ONNX backend node tests.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
kiln_setup

echo "== lit suite"
ninja -C "$KILN_BUILD" check-kiln

echo "== dialect reference is up to date"
ninja -C "$KILN_BUILD" KilnOpsDocGen >/dev/null
if ! cmp -s "$KILN_BUILD/docs/Kiln/KilnOps.md" "$KILN_ROOT/docs/KilnOps.md"; then
  echo "docs/KilnOps.md differs from dialects/Kiln/KilnOps.td: run scripts/gen-docs.sh" >&2
  exit 1
fi

echo "== import sweep (ONNX backend node tests)"
python3 "$KILN_ROOT/test/sweep/import_sweep.py" --kilnc "$KILN_BUILD/bin/kilnc" \
  --details "$KILN_BUILD/import_sweep.tsv"
echo "== all tests passed"
