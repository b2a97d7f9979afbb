#!/usr/bin/env bash
# Sets up a machine for Kiln, step by step, each step named on one line:
#   1. the Debian packages (LLVM/MLIR 22, libonnx, protobuf, ninja, ...;
#      for the tests also chromium and chromium-driver, the headless browser
#      the fusion report pictures are checked in), installed through apt as
#      root or through sudo;
#   2. the project's virtual environment (.venv at the repository root, or
#      $KILN_VENV), made with Debian's python3 and filled from the pinned
#      requirements: requirements/demo.txt (numpy, onnx, onnxruntime) or
#      requirements/test.txt (adds torch, transformers, pytest, ...) or
#      requirements/bench.txt (adds IREE, the peer bench/bench_cpu.py
#      measures against); for the tests also a second venv (.venv-serve)
#      from requirements/serve.txt, the Python the Triton server of
#      kiln.serve runs in (PyTriton needs numpy < 2);
#   3. CMake configured into build/ (or $KILN_BUILD);
#   4. the tools built.
# Idempotent: on a machine where everything is in place it costs seconds.
# Any failure prints the command that failed and what to do, and exits 1.
#
#   scripts/setup.sh [demo|test|bench]    (default: test)
#
# demo.sh and test.sh source it and call kiln_setup PROFILE; afterwards
# $KILN_PYTHON is the venv's interpreter and the venv's bin/ leads PATH, so
# every `python3` the tests run is the venv's.
set -euo pipefail
# Any command that fails where no check of ours stands names itself.
set -E
trap 'echo "${0##*/}: error: command failed (exit $?): $BASH_COMMAND" >&2' ERR

KILN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KILN_BUILD=${KILN_BUILD:-$KILN_ROOT/build}
KILN_VENV=${KILN_VENV:-$KILN_ROOT/.venv}
KILN_SERVE_VENV=${KILN_SERVE_VENV:-$KILN_VENV-serve}
# Debian's interpreter: the venv is made from it (python3-venv), never from
# whatever python3 comes first on PATH.
KILN_BASE_PYTHON=${KILN_BASE_PYTHON:-/usr/bin/python3}
KILN_MIN_PYTHON=3.10
LLVM_PREFIX=${KILN_LLVM_PREFIX:-/usr/lib/llvm-22}

DEB_PACKAGES=(
  cmake g++ ninja-build ccache python3
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  libonnx-dev libonnx-testdata protobuf-compiler libprotobuf-dev pybind11-dev
  python3-dev python3-venv
)

kiln_step() { echo "== $*"; }

# kiln_fail WHAT [WHAT TO DO...]: one error line, the advice, exit 1.
kiln_fail() {
  echo "${0##*/}: error: $1" >&2
  shift
  local line
  for line in "$@"; do echo "  $line" >&2; done
  exit 1
}

# Prints the packages of DEB_PACKAGES that dpkg does not report as
# installed. dpkg-query exits non-zero for a package it never saw; that is
# an answer ("missing"), not a failure.
kiln_missing_packages() {
  local p status
  for p in "${DEB_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=""
    case "$status" in
      *" ok installed") ;;
      *) echo "$p" ;;
    esac
  done
}

kiln_install_packages() {
  command -v dpkg-query >/dev/null 2>&1 ||
    kiln_fail "dpkg-query not found: this setup expects Debian 12 (dpkg and apt)" \
      "install by hand the equivalents of: ${DEB_PACKAGES[*]}"
  local missing
  mapfile -t missing < <(kiln_missing_packages)
  if ((${#missing[@]} == 0)); then
    kiln_step "Debian packages: all ${#DEB_PACKAGES[@]} installed"
    return
  fi
  local install=(apt-get install -y -qq --no-install-recommends "${missing[@]}")
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
      kiln_fail "missing Debian packages (${missing[*]}), and installing them needs root: not root and no sudo here" \
        "as root, run: apt-get update && ${install[*]}" "then run this command again"
    sudo=(sudo)
  fi
  kiln_step "installing Debian packages: ${missing[*]}"
  local log
  log=$(mktemp)
  if ! "${sudo[@]}" apt-get update -qq >"$log" 2>&1; then
    tail -n 5 "$log" >&2
    rm -f "$log"
    kiln_fail "'${sudo[*]:+${sudo[*]} }apt-get update' failed (no root rights, or no network to the Debian mirrors?)" \
      "as root, run: apt-get update && ${install[*]}"
  fi
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" "${install[@]}" >"$log" 2>&1; then
    tail -n 5 "$log" >&2
    rm -f "$log"
    local unknown=() p
    if command -v apt-cache >/dev/null 2>&1; then
      for p in "${missing[@]}"; do
        apt-cache show "$p" >/dev/null 2>&1 || unknown+=("$p")
      done
    fi
    if ((${#unknown[@]})); then
      kiln_fail "apt has no package named: ${unknown[*]}" \
        "LLVM/MLIR 22 is in Debian 12's bookworm-security suite: check /etc/apt/sources.list has it, then run:" \
        "${sudo[*]:+${sudo[*]} }apt-get update && ${sudo[*]:+${sudo[*]} }${install[*]}"
    fi
    kiln_fail "'${sudo[*]:+${sudo[*]} }${install[*]}' failed (see apt's last lines above)" \
      "run it by hand as root to see why, then run this command again"
  fi
  rm -f "$log"
  mapfile -t missing < <(kiln_missing_packages)
  ((${#missing[@]} == 0)) ||
    kiln_fail "apt reported success but these packages are still not installed: ${missing[*]}" \
      "as root, run: ${install[*]}"
  kiln_step "Debian packages: installed"
}

# The project's virtual environment, made from Debian's python3.
kiln_make_venv() {
  [ -x "$KILN_BASE_PYTHON" ] ||
    kiln_fail "no Python interpreter at $KILN_BASE_PYTHON" \
      "install Debian's python3 (apt-get install python3 python3-venv), or set KILN_BASE_PYTHON"
  local version
  version=$("$KILN_BASE_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])') ||
    kiln_fail "$KILN_BASE_PYTHON does not run"
  "$KILN_BASE_PYTHON" -c "import sys; sys.exit(sys.version_info[:2] < tuple(map(int, '$KILN_MIN_PYTHON'.split('.'))))" ||
    kiln_fail "$KILN_BASE_PYTHON is Python $version; Kiln needs Python $KILN_MIN_PYTHON or newer" \
      "use Debian 12's python3 (3.11), or set KILN_BASE_PYTHON to a newer interpreter"
  if [ -x "$KILN_VENV/bin/python" ] && "$KILN_VENV/bin/python" -c "" 2>/dev/null; then
    kiln_step "virtual environment: $KILN_VENV (Python $version)"
    return
  fi
  kiln_step "creating $KILN_VENV (Python $version from $KILN_BASE_PYTHON)"
  rm -rf "$KILN_VENV"
  "$KILN_BASE_PYTHON" -m venv "$KILN_VENV" ||
    kiln_fail "'$KILN_BASE_PYTHON -m venv $KILN_VENV' failed" \
      "install Debian's venv module: apt-get install python3-venv"
}

# kiln_install_python PROFILE: the pinned packages of requirements/PROFILE.txt
# in the venv. A stamp holding the requirement files' checksum skips pip
# when nothing changed; a larger profile's stamp (test, bench) covers a
# smaller one's set.
kiln_install_python() {
  local profile=$1
  local req=$KILN_ROOT/requirements/$profile.txt
  [ -f "$req" ] || kiln_fail "no requirements file $req" "profiles are: demo, test, bench"
  local sum stamp
  sum=$(cat "$KILN_ROOT"/requirements/*.txt | sha256sum | cut -d' ' -f1)
  local stamps=("$KILN_VENV/.kiln-$profile")
  [ "$profile" = demo ] && stamps+=("$KILN_VENV/.kiln-test" "$KILN_VENV/.kiln-bench")
  [ "$profile" = test ] && stamps+=("$KILN_VENV/.kiln-bench")
  for stamp in "${stamps[@]}"; do
    if [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
      kiln_step "Python packages: up to date (requirements/$(basename "${stamp#*.kiln-}").txt)"
      return
    fi
  done
  local pins
  pins=$(cat "$req" $(sed -n "s|^-r *|$KILN_ROOT/requirements/|p" "$req") | grep -c '==')
  kiln_step "installing Python packages into $KILN_VENV: requirements/$profile.txt ($pins pinned)"
  local log
  log=$(mktemp)
  if ! "$KILN_VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
       -r "$req" >"$log" 2>&1; then
    tail -n 8 "$log" >&2
    local hint="pip's last lines are above"
    if grep -qiE "connection|network|resolve|timed out|NewConnectionError|No matching distribution" "$log"; then
      hint="no network to the package registry (PyPI)? set PIP_INDEX_URL to a reachable mirror, or run on a connected machine"
    fi
    rm -f "$log"
    kiln_fail "'$KILN_VENV/bin/python -m pip install -r requirements/$profile.txt' failed" "$hint"
  fi
  rm -f "$log"
  echo "$sum" >"$KILN_VENV/.kiln-$profile"
}

# kiln_install_serve_python: the venv the Triton server of kiln.serve runs
# in ($KILN_SERVE_VENV, default the project venv's path + "-serve"), from
# requirements/serve.txt: PyTriton pins numpy < 2, which the project venv's
# numpy 2 excludes (docs/serving.md). A stamp skips pip when nothing changed.
kiln_install_serve_python() {
  local req=$KILN_ROOT/requirements/serve.txt sum
  sum=$(sha256sum "$req" | cut -d' ' -f1)
  if [ "$(cat "$KILN_SERVE_VENV/.kiln-serve" 2>/dev/null)" = "$sum" ]; then
    kiln_step "serving venv: up to date ($KILN_SERVE_VENV)"
    return
  fi
  if [ ! -x "$KILN_SERVE_VENV/bin/python" ]; then
    kiln_step "creating $KILN_SERVE_VENV (the Triton server's Python, requirements/serve.txt)"
    "$KILN_BASE_PYTHON" -m venv "$KILN_SERVE_VENV" ||
      kiln_fail "'$KILN_BASE_PYTHON -m venv $KILN_SERVE_VENV' failed" \
        "install Debian's venv module: apt-get install python3-venv"
  fi
  kiln_step "installing Python packages into $KILN_SERVE_VENV: requirements/serve.txt"
  local log
  log=$(mktemp)
  if ! "$KILN_SERVE_VENV/bin/python" -m pip install --disable-pip-version-check \
       --progress-bar off -r "$req" >"$log" 2>&1; then
    tail -n 8 "$log" >&2
    rm -f "$log"
    kiln_fail "'$KILN_SERVE_VENV/bin/python -m pip install -r requirements/serve.txt' failed" \
      "pip's last lines are above"
  fi
  rm -f "$log"
  echo "$sum" >"$KILN_SERVE_VENV/.kiln-serve"
}

# CMake into $KILN_BUILD with the venv's interpreter for the Python module.
# A build folder made with another LLVM, or a source tree elsewhere, is not
# reused silently.
kiln_configure() {
  local mlir_dir=$LLVM_PREFIX/lib/cmake/mlir
  [ -f "$mlir_dir/MLIRConfig.cmake" ] ||
    kiln_fail "no MLIR CMake package at $mlir_dir" \
      "install it: apt-get install libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools"
  local cache=$KILN_BUILD/CMakeCache.txt
  if [ -f "$cache" ]; then
    local cached
    cached=$(sed -n 's/^MLIR_DIR:[A-Z]*=//p' "$cache")
    if [ -n "$cached" ] && [ "$(realpath -m "$cached")" != "$(realpath -m "$mlir_dir")" ]; then
      kiln_fail "$KILN_BUILD was configured with another LLVM/MLIR ($cached), not $mlir_dir" \
        "remove it (rm -rf $KILN_BUILD) or set KILN_BUILD to another folder"
    fi
    cached=$(sed -n 's/^CMAKE_HOME_DIRECTORY:[A-Z]*=//p' "$cache")
    if [ -n "$cached" ] && [ "$(realpath -m "$cached")" != "$KILN_ROOT" ]; then
      kiln_fail "$KILN_BUILD belongs to the source tree $cached, not $KILN_ROOT" \
        "remove it (rm -rf $KILN_BUILD) or set KILN_BUILD to another folder"
    fi
    cached=$(sed -n 's/^Python_EXECUTABLE:[A-Z]*=//p' "$cache")
    if [ -f "$KILN_BUILD/build.ninja" ] && [ "$cached" = "$KILN_VENV/bin/python" ]; then
      return
    fi
  fi
  kiln_step "configuring $KILN_BUILD (CMake, Ninja, MLIR from $LLVM_PREFIX)"
  local log
  log=$(mktemp)
  if ! cmake -G Ninja -S "$KILN_ROOT" -B "$KILN_BUILD" \
      -DCMAKE_BUILD_TYPE=Release \
      -DMLIR_DIR="$mlir_dir" \
      -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" \
      -DPython_EXECUTABLE="$KILN_VENV/bin/python" >"$log" 2>&1; then
    grep -A5 -m3 "CMake Error" "$log" >&2 || tail -n 10 "$log" >&2
    rm -f "$log"
    kiln_fail "CMake could not configure $KILN_BUILD (its errors are above)" \
      "a stale folder can be removed: rm -rf $KILN_BUILD"
  fi
  rm -f "$log"
}

# kiln_build TARGET...: Ninja with the given targets.
kiln_build() {
  kiln_step "building (${#@} targets: $*) in $KILN_BUILD"
  ninja -C "$KILN_BUILD" "$@" ||
    kiln_fail "'ninja -C $KILN_BUILD $*' failed (the compiler's errors are above)"
}

# The interpreter every later step uses, first on PATH so that `python3`
# in scripts and lit tests is the venv's.
kiln_use_venv() {
  KILN_PYTHON=$KILN_VENV/bin/python
  export KILN_PYTHON KILN_VENV KILN_BUILD
  export PATH="$KILN_VENV/bin:$PATH"
  export VIRTUAL_ENV=$KILN_VENV
}

# kiln_setup [demo|test|bench]: the whole set-up for that command.
kiln_setup() {
  local profile=${1:-test}
  local targets
  case "$profile" in
    demo) targets=(kilnc kiln-run kiln_runtime) ;;
    test | bench)
      targets=(kilnc kiln-opt kiln-run kiln_runtime kiln-python)
      # A headless browser for the fusion report pictures' test.
      DEB_PACKAGES+=(chromium chromium-driver)
      ;;
    *) kiln_fail "unknown setup profile '$profile'" "use: demo, test or bench" ;;
  esac
  kiln_install_packages
  kiln_make_venv
  kiln_install_python "$profile"
  [ "$profile" = test ] && kiln_install_serve_python
  kiln_use_venv
  kiln_configure
  kiln_build "${targets[@]}"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  kiln_setup "${1:-test}"
fi
