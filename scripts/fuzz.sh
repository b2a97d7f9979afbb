#!/usr/bin/env bash
# Fuzzes Kiln with libFuzzer (clang-22, AddressSanitizer and
# UndefinedBehaviorSanitizer), in its own build folder build-fuzz (or
# $KILN_FUZZ_BUILD):
#   scripts/fuzz.sh TARGET SECONDS   fuzz one target for that long
#   scripts/fuzz.sh smoke [SECONDS]  every target briefly (default: 12 s
#                                    each) after replaying its regression
#                                    corpus; what the test command runs
# TARGET: model (binary ONNX import), text (ONNX text syntax import),
# signature (a model library's metadata), runtime-api (kiln_model_run's
# checks of what callers pass).
# Seeds: the ONNX backend node-test models (Debian's libonnx-testdata) and
# test/Import's text models; test/fuzz/seeds; dictionaries test/fuzz/*.dict.
# A crash leaves its input in build-fuzz/crashes/TARGET: fix it, then add the
# input to test/fuzz/regressions/TARGET, which every run replays first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
FUZZ_BUILD=${KILN_FUZZ_BUILD:-$KILN_ROOT/build-fuzz}
TARGETS=(model text signature runtime-api)

usage() { echo "usage: scripts/fuzz.sh TARGET SECONDS | smoke [SECONDS]   (TARGET: ${TARGETS[*]})" >&2; exit 2; }
[ $# -ge 1 ] || usage

kiln_fuzz_configure() {
  command -v clang++-22 >/dev/null ||
    kiln_fail "clang++-22 not found (libFuzzer needs clang)" "apt-get install clang-22 libclang-rt-22-dev"
  [ -f "$FUZZ_BUILD/build.ninja" ] && return
  kiln_step "configuring $FUZZ_BUILD (clang-22, libFuzzer, ASan, UBSan)"
  CC=clang-22 CXX=clang++-22 cmake -G Ninja -S "$KILN_ROOT" -B "$FUZZ_BUILD" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="-g -O1" -DCMAKE_C_FLAGS="-g -O1" \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" \
    -DKILN_FUZZ=ON -DKILN_SANITIZE=address,undefined -DPython_EXECUTABLE=/nonexistent \
    >"$FUZZ_BUILD.configure.log" 2>&1 ||
    { tail -n 20 "$FUZZ_BUILD.configure.log" >&2; kiln_fail "CMake could not configure $FUZZ_BUILD" "rm -rf $FUZZ_BUILD and retry"; }
}

# The seed corpus of a target, in build-fuzz/seeds/TARGET.
kiln_fuzz_seeds() {
  local target=$1 dir=$FUZZ_BUILD/seeds/$1
  [ -d "$dir" ] && { echo "$dir"; return; }
  mkdir -p "$dir"
  case "$target" in
    model)
      local i=0
      for m in /usr/include/onnx/backend/test/data/node/*/model.onnx; do
        cp "$m" "$dir/node$((i++)).onnx"
      done ;;
    text)
      cp "$KILN_ROOT"/test/Import/*.onnxtxt "$dir/" ;;
    signature)
      cp "$KILN_ROOT"/test/fuzz/seeds/signature/* "$dir/" ;;
    runtime-api)
      printf '\0\0' >"$dir/complete"; printf '\1\3' >"$dir/no-x"; printf '\200\0' >"$dir/no-list" ;;
  esac
  echo "$dir"
}

kiln_fuzz_run() {
  local target=$1 seconds=$2 seed=()
  # The smoke starts from a fixed seed: the test command tries the same
  # inputs on every run (long runs pick their own).
  [ -n "${KILN_FUZZ_SEED:-}" ] && seed=(-seed="$KILN_FUZZ_SEED")
  local bin=$FUZZ_BUILD/bin/kiln-fuzz-$target
  local work=$FUZZ_BUILD/corpus/$target crashes=$FUZZ_BUILD/crashes/$target
  local regressions=$KILN_ROOT/test/fuzz/regressions/$target
  local dict=() seeds
  [ -f "$KILN_ROOT/test/fuzz/$target.dict" ] && dict=(-dict="$KILN_ROOT/test/fuzz/$target.dict")
  seeds=$(kiln_fuzz_seeds "$target")
  mkdir -p "$work" "$crashes"
  # allow_user_poisoning=0: LLVM's allocators poison what they hand out
  # when inlined into instrumented code, and libMLIR (not instrumented)
  # allocates from the same slabs without unpoisoning.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:allow_user_poisoning=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  if compgen -G "$regressions/*" >/dev/null; then
    echo "== fuzz $target: regression corpus ($(ls "$regressions" | wc -l) inputs)"
    "$bin" -rss_limit_mb=4096 -timeout=30 "$regressions"/* 2>"$FUZZ_BUILD/$target.regressions.log" ||
      { tail -n 40 "$FUZZ_BUILD/$target.regressions.log" >&2; kiln_fail "kiln-fuzz-$target fails on its regression corpus" "see $FUZZ_BUILD/$target.regressions.log"; }
  fi
  echo "== fuzz $target: $seconds s"
  local log=$FUZZ_BUILD/$target.log
  if ! "$bin" "${dict[@]}" "${seed[@]}" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 \
       -max_len=65536 -artifact_prefix="$crashes/" -print_final_stats=1 "$work" "$seeds" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    kiln_fail "kiln-fuzz-$target found a crash (input in $crashes)" \
      "fix it and add the input to test/fuzz/regressions/$target"
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$log" | sed "s/^/   $target /"
}

DEB_PACKAGES+=(clang-22 libclang-rt-22-dev)
kiln_install_packages
kiln_fuzz_configure
case "$1" in
  smoke)
    seconds=${2:-12}
    kiln_step "building the fuzz targets in $FUZZ_BUILD"
    ninja -C "$FUZZ_BUILD" "${TARGETS[@]/#/kiln-fuzz-}" >/dev/null ||
      kiln_fail "building the fuzz targets failed" "ninja -C $FUZZ_BUILD ${TARGETS[*]/#/kiln-fuzz-}"
    export KILN_FUZZ_SEED=${KILN_FUZZ_SEED:-1}
    for t in "${TARGETS[@]}"; do kiln_fuzz_run "$t" "$seconds"; done ;;
  *)
    [ $# -eq 2 ] || usage
    [[ " ${TARGETS[*]} " == *" $1 "* ]] || usage
    kiln_step "building kiln-fuzz-$1 in $FUZZ_BUILD"
    ninja -C "$FUZZ_BUILD" "kiln-fuzz-$1" >/dev/null || kiln_fail "building kiln-fuzz-$1 failed" "ninja -C $FUZZ_BUILD kiln-fuzz-$1"
    kiln_fuzz_run "$1" "$2" ;;
esac
