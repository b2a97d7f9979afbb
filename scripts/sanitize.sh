#!/usr/bin/env bash
# Builds Kiln with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DKILN_SANITIZE=address,undefined, GCC) in build-sanitize (or
# $KILN_SANITIZE_BUILD) and runs there: the lit suite, the malformed-model
# corpus, a sample of the ONNX node tests (every 4th of Debian's 932, 233) on
# the CPU target and in GPU emulation, and the Python tests. Any sanitizer
# report fails the run. A first build takes long (the whole compiler, no
# shared ccache entries with build/); later runs rebuild what changed.
#   scripts/sanitize.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
kiln_setup test
SAN_BUILD=${KILN_SANITIZE_BUILD:-$KILN_ROOT/build-sanitize}
py=$KILN_PYTHON
start=$(date +%s)

if [ ! -f "$SAN_BUILD/build.ninja" ]; then
  kiln_step "configuring $SAN_BUILD (KILN_SANITIZE=address,undefined)"
  cmake -G Ninja -S "$KILN_ROOT" -B "$SAN_BUILD" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS="-g" -DCMAKE_C_FLAGS="-g" \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" \
    -DPython_EXECUTABLE="$KILN_VENV/bin/python" -DKILN_SANITIZE=address,undefined \
    >"$SAN_BUILD.configure.log" 2>&1 ||
    { tail -n 20 "$SAN_BUILD.configure.log" >&2; kiln_fail "CMake could not configure $SAN_BUILD"; }
fi
kiln_step "building in $SAN_BUILD"
ninja -C "$SAN_BUILD" kilnc kiln-opt kiln-run kiln_runtime kiln-python

# Leaks are reported for the tools (one process per command); Python's own
# allocations are not Kiln's, so its runs only check memory errors.
# allow_user_poisoning=0: LLVM's allocators poison what they hand out when
# inlined into instrumented code, and libMLIR (not instrumented) allocates
# from the same slabs without unpoisoning.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:allow_user_poisoning=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1

kiln_step "lit suite"
ninja -C "$SAN_BUILD" check-kiln

kiln_step "malformed models"
"$py" "$KILN_ROOT/test/robustness/bad_models.py" --kilnc "$SAN_BUILD/bin/kilnc" --memory-mib 0

kiln_step "ONNX node tests, every 4th, CPU and GPU emulation"
for mode in "" --emulate; do
  "$py" "$KILN_ROOT/test/conformance/run_node_tests.py" --kiln-run "$SAN_BUILD/bin/kiln-run" \
    --sample 4 $mode
done

kiln_step "Python tests"
preload=$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allow_user_poisoning=0 LD_PRELOAD=$preload PYTHONPATH="$SAN_BUILD/python" \
  "$py" -m pytest -q -p no:cacheprovider -x "$KILN_ROOT/test/python"
echo "== sanitizer run passed in $(( $(date +%s) - start )) s"
