#!/usr/bin/env bash
# Runs Kiln's tests. Sets the machine up first (scripts/setup.sh test: the
# Debian packages, the project's .venv with the pinned packages of
# requirements/test.txt, the build), then:
#   scripts/test.sh           the complete suite, what CI runs: the lit suite,
#                             the import sweep and the CPU and GPU-emulation
#                             conformance runs over the ONNX backend node
#                             tests (Debian's and the pinned onnx package's
#                             newer ones), PTX for every kernel through ptxas, the
#                             exported real models against onnxruntime (and
#                             the model zoo's CI subset, test/models/zoo.py), the
#                             CUDA libraries, the GPU bundle (gpu-run.sh on
#                             the stand-in driver), the malformed-model
#                             corpus, a fuzz smoke of every libFuzzer target
#                             (scripts/fuzz.sh smoke) and the Python package
#                             (pytest)
#   scripts/test.sh --quick   the inner loop, a few minutes: the lit suite
#                             (unit and lit tests) and every 10th node test
#                             on the CPU and in GPU emulation
set -euo pipefail
quick=0
case "${1:-}" in
  "") ;;
  --quick) quick=1 ;;
  *) echo "usage: scripts/test.sh [--quick]" >&2; exit 2 ;;
esac
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
kiln_setup test
py=$KILN_PYTHON
start=$(date +%s)

echo "== lit suite"
ninja -C "$KILN_BUILD" check-kiln

if ((quick)); then
  echo "== ONNX node tests (Debian's and the onnx package's), every 10th, on the CPU target and in GPU emulation mode"
  "$py" "$KILN_ROOT/test/conformance/gen_node_tests.py" "$KILN_BUILD/onnx-node-tests"
  for mode in "" --emulate; do
    "$py" "$KILN_ROOT/test/conformance/run_node_tests.py" --kiln-run "$KILN_BUILD/bin/kiln-run" --sample 10 $mode
    "$py" "$KILN_ROOT/test/conformance/run_node_tests.py" --kiln-run "$KILN_BUILD/bin/kiln-run" --sample 10 $mode \
      --data "$KILN_BUILD/onnx-node-tests" --passing "$KILN_ROOT/test/conformance/passing-onnx-1.23.txt"
  done
  echo "== quick tests passed in $(( $(date +%s) - start )) s (scripts/test.sh runs them all)"
  exit 0
fi

echo "== dialect reference, ONNX op version table and README op list are up to date"
ninja -C "$KILN_BUILD" KilnOpsDocGen >/dev/null
if ! cmp -s "$KILN_BUILD/docs/Kiln/KilnOps.md" "$KILN_ROOT/docs/KilnOps.md"; then
  echo "docs/KilnOps.md differs from include/kiln/Dialect/Kiln/KilnOps.td: run scripts/gen-docs.sh" >&2
  exit 1
fi
"$py" "$KILN_ROOT/scripts/gen-onnx-op-versions.py" --check
"$py" "$KILN_ROOT/test/conformance/check_supported_ops.py" "$KILN_BUILD/bin/kilnc"

echo "== import sweep (ONNX backend node tests)"
"$py" "$KILN_ROOT/test/sweep/import_sweep.py" --kilnc "$KILN_BUILD/bin/kilnc" \
  --details "$KILN_BUILD/import_sweep.tsv"
echo "== ONNX node tests on the CPU target (ratchet: test/conformance/passing.txt)"
"$py" "$KILN_ROOT/test/conformance/run_node_tests.py" --kiln-run "$KILN_BUILD/bin/kiln-run" \
  --details "$KILN_BUILD/conformance.tsv"

echo "== ONNX node tests in GPU emulation mode (same ratchet)"
"$py" "$KILN_ROOT/test/conformance/run_node_tests.py" --kiln-run "$KILN_BUILD/bin/kiln-run" \
  --emulate --details "$KILN_BUILD/conformance_emulation.tsv"

echo "== the pinned onnx package's node tests (every opset), CPU and GPU emulation (ratchet: test/conformance/passing-onnx-1.23.txt)"
"$py" "$KILN_ROOT/test/conformance/gen_node_tests.py" "$KILN_BUILD/onnx-node-tests"
for mode in "" --emulate; do
  "$py" "$KILN_ROOT/test/conformance/run_node_tests.py" --kiln-run "$KILN_BUILD/bin/kiln-run" \
    --data "$KILN_BUILD/onnx-node-tests" --passing "$KILN_ROOT/test/conformance/passing-onnx-1.23.txt" \
    $mode --details "$KILN_BUILD/conformance_onnx${mode:+_emulation}.tsv"
done

echo "== malformed models: each ends in one clear error naming what is wrong, never a crash (test/robustness/bad_models.py)"
"$py" "$KILN_ROOT/test/robustness/bad_models.py" --kilnc "$KILN_BUILD/bin/kilnc"

echo "== fuzz smoke: every libFuzzer target replays its regression corpus, then fuzzes 12 s (scripts/fuzz.sh smoke)"
"$KILN_ROOT/scripts/fuzz.sh" smoke 12

echo "== GPU kernels: PTX assembled by ptxas for sm_80 and sm_90"
"$py" "$KILN_ROOT/test/gpu/ptx_sweep.py" --kilnc "$KILN_BUILD/bin/kilnc" \
  --tests "$KILN_ROOT/test/conformance/passing.txt"

echo "== exported models against onnxruntime"
"$KILN_ROOT/test/models/check_models.sh" "$KILN_BUILD"

echo "== model zoo, CI subset: both exporters, CPU, GPU emulation, PTX; external data, dynamic axes, QDQ (the whole zoo: test/models/zoo.py)"
"$py" "$KILN_ROOT/test/models/zoo.py" --kiln-build "$KILN_BUILD" --subset ci \
  --report "$KILN_BUILD/zoo-ci.md"

# After the models are exported (check_models.sh).
echo "== GPU kernels of the exported models: ptxas resources per kernel kind, no spills"
"$py" "$KILN_ROOT/test/gpu/ptx_sweep.py" --kilnc "$KILN_BUILD/bin/kilnc" --tests /dev/null --models

echo "== CUDA model libraries: built for every model; run on a real GPU when one is present"
"$py" "$KILN_ROOT/test/gpu/cuda_runtime_test.py" --build "$KILN_BUILD"

echo "== GPU bundle: built, under 60 MiB, run by gpu-run.sh with no driver and on the stand-in driver"
"$KILN_ROOT/test/gpu/check_gpu_bundle.sh" "$KILN_BUILD"

echo "== Python package: API, DLPack, models, kiln-exec, ONNX's BackendTest runner, torch.compile, profiles, pictures, serving (pytest)"
KILN_SERVE_PYTHON="$KILN_SERVE_VENV/bin/python" PYTHONPATH="$KILN_BUILD/python" "$py" -m pytest -q -p no:cacheprovider -rs \
  "$KILN_ROOT/test/python"
# `pip install .` builds Kiln's libraries once more in its own folder
# (build/pip): minutes the first time, so it is a separate, opt-in check.
if [ "${KILN_TEST_PIP:-0}" = 1 ]; then
  echo "== Python package: pip install ."
  "$KILN_ROOT/test/python/check_pip_install.sh"
else
  echo "== Python package: pip install . skipped (KILN_TEST_PIP=1 runs test/python/check_pip_install.sh)"
fi
echo "== all tests passed in $(( $(date +%s) - start )) s after setup"
