#!/usr/bin/env bash
# The GPU bundle (scripts/gpu_bundle.py) builds here, stays under its size
# limit, and scripts/gpu-run.sh runs it as far as a machine without a GPU
# allows: with no driver it reports "no GPU" and exits 0; on the stand-in
# driver (test/Runtime/fake_libcuda.c) every library loads and runs, every
# launch has the parameters its PTX declares, and the report says that the
# numbers need a real GPU.
set -euo pipefail
build=${1:?usage: check_gpu_bundle.sh BUILD_DIR}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
py=${KILN_PYTHON:-python3}
bundle=$build/gpu-bundle
limit_mib=60
"$py" "$root/scripts/gpu_bundle.py" --build "$build" --out "$bundle" --max-mib "$limit_mib"
size=$(find "$bundle" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
if ((size > limit_mib * 1024 * 1024)); then
  echo "FAIL: the bundle is $size bytes, over $limit_mib MiB" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O1 -shared -fPIC -I "$root/runtime/src" "$root/test/Runtime/fake_libcuda.c" \
  -o "$tmp/fake_libcuda.so" -lpthread

echo "-- gpu-run.sh without a CUDA driver"
KILN_CUDA_DRIVER=$tmp/no-such-libcuda.so.1 OUT=$tmp/none KILN_GPU_PYTHON=$py \
  "$root/scripts/gpu-run.sh" "$bundle" | tee "$tmp/none.log"
grep -q "no GPU: no CUDA driver" "$tmp/none.log"
grep -q "no GPU: no CUDA driver" "$tmp/none/report.md"

echo "-- gpu-run.sh on the stand-in driver"
KILN_CUDA_DRIVER=$tmp/fake_libcuda.so OUT=$tmp/fake KILN_GPU_PYTHON=$py \
  "$root/scripts/gpu-run.sh" "$bundle" | tee "$tmp/fake.log"
grep -q "gpu-run: no GPU (stand-in driver)" "$tmp/fake.log"
grep -q ", 0 with parameters that do not match" "$tmp/fake/report.md"
"$py" - "$tmp/fake/report.json" "$bundle/manifest.json" <<'PY'
import json, sys
report, manifest = (json.load(open(p)) for p in sys.argv[1:])
libs = [c["id"] for c in manifest["cases"] if "library" in c]
ran = {r["id"]: r["status"] for r in report["sections"]["check"]}
missing = [i for i in libs if ran.get(i) != "ran"]
assert not missing, f"not run on the stand-in driver: {missing[:10]}"
kinds = {c["kind"] for c in manifest["cases"] if "library" in c}
for k in ("contraction", "direct", "row", "elementwise", "padded-window", "node"):
    assert k in kinds, f"no {k} case in the bundle"
print(f"all {len(libs)} libraries ran on the stand-in driver")
PY
echo "GPU bundle OK ($((size / 1024 / 1024)) MiB)"
