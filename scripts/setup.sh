#!/usr/bin/env bash
# Installs whatever is missing (Debian packages), configures CMake into
# build/ and builds Kiln's tools. Idempotent: on a machine where everything
# is installed and built it costs seconds. Sourced by test.sh and demo.sh.
set -euo pipefail

KILN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KILN_BUILD=${KILN_BUILD:-$KILN_ROOT/build}
LLVM_PREFIX=/usr/lib/llvm-22

DEB_PACKAGES=(
  cmake g++ ninja-build ccache python3
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  libonnx-dev libonnx-testdata protobuf-compiler libprotobuf-dev pybind11-dev
  python3-dev python3-venv
)

kiln_install_packages() {
  local missing=()
  local installed
  installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${DEB_PACKAGES[@]}" 2>/dev/null |
              awk '$4 == "installed" {print $1}')
  for p in "${DEB_PACKAGES[@]}"; do
    grep -qx "$p" <<<"$installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "== installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

PYTHON_PACKAGES=(numpy onnx onnxruntime torch torchvision pytest scikit-build-core)

# numpy/onnx/onnxruntime give reference numbers; torch(vision) exports the
# real models; pytest runs the Python package's tests, scikit-build-core
# builds it with `pip install .`. pip keeps them installed between runs.
kiln_install_python() {
  if ! python3 -c "import numpy, onnx, onnxruntime, torch, torchvision, pytest, scikit_build_core" 2>/dev/null; then
    echo "== installing Python packages: ${PYTHON_PACKAGES[*]}"
    python3 -m pip install --quiet --disable-pip-version-check "${PYTHON_PACKAGES[@]}"
  fi
}

kiln_configure() {
  if [ ! -f "$KILN_BUILD/build.ninja" ]; then
    echo "== configuring $KILN_BUILD"
    cmake -G Ninja -S "$KILN_ROOT" -B "$KILN_BUILD" \
      -DCMAKE_BUILD_TYPE=Release \
      -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
      -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" >/dev/null
  fi
}

kiln_build() {
  echo "== building"
  ninja -C "$KILN_BUILD" kilnc kiln-opt kiln-run kiln_runtime kiln-python
}

kiln_setup() {
  kiln_install_packages
  kiln_install_python
  kiln_configure
  kiln_build
}
