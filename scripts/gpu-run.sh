#!/usr/bin/env bash
# Runs a GPU bundle (scripts/gpu-bundle.sh) on a machine with an NVIDIA GPU
# and no compiler: needs only python3 with numpy (torch, compute-sanitizer
# and ncu are used when present). Checks every case, times the GEMMs
# against cuBLAS and the models against torch, runs compute-sanitizer and
# ncu, and writes report.md and report.json to $OUT (or build/gpu-report),
# printing as it goes. Without a GPU it says so and exits 0.
#
#   scripts/gpu-run.sh [BUNDLE] [gpu_run.py options: --budget S, --only ...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bundle=$root/build/gpu-bundle
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then bundle=$1; shift; fi
[ -f "$bundle/manifest.json" ] || {
  echo "gpu-run: error: no bundle at $bundle (build it with scripts/gpu-bundle.sh where Kiln builds)" >&2
  exit 1
}
out=${OUT:-$root/build/gpu-report}
PYTHONUNBUFFERED=1 exec "${KILN_GPU_PYTHON:-python3}" "$bundle/gpu_run.py" --bundle "$bundle" \
  --out "$out" --budget "${KILN_GPU_BUDGET:-400}" "$@"
