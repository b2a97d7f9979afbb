#!/usr/bin/env bash
# Checks the packaging: `pip install .` into a fresh virtual environment
# (which sees the project venv's packages for numpy), then, from outside the
# repository, compiles the example model, runs it, saves it and loads the
# library with the runtime shipped in the wheel.
# The build folder is fixed (build/pip/..., pyproject.toml): the first run
# builds Kiln's libraries once more, later runs rebuild incrementally.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv=${KILN_PIP_VENV:-$root/build/pip-venv}
project_venv=${KILN_VENV:-$root/.venv}
if [ ! -x "$venv/bin/python" ]; then
  "${KILN_BASE_PYTHON:-/usr/bin/python3}" -m venv "$venv"
  # numpy and the build backend come from the project's venv (scripts/setup.sh),
  # so the check runs offline.
  "$project_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' \
    >"$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/kiln-project-venv.pth"
fi
start=$(date +%s)
# No build isolation: scikit-build-core and pybind11 come from the project's
# venv (requirements/test.txt), so the check runs offline and reuses the build folder.
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --no-build-isolation --force-reinstall --no-deps "$root"
echo "pip install . took $(( $(date +%s) - start )) s"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$venv/bin/python" - "$root/examples/tiny_cnn.onnxtxt" <<'PY'
import os, sys
import numpy as np
import kiln
assert "site-packages" in kiln.__file__, kiln.__file__
print("kiln", kiln.__version__, "from", os.path.dirname(kiln.__file__))
pkg = os.path.dirname(kiln.__file__)
assert os.path.exists(os.path.join(pkg, "libkiln_runtime.so")), os.listdir(pkg)
model = kiln.compile(sys.argv[1])
x = np.random.default_rng(0).standard_normal((1, 3, 32, 32), dtype=np.float32)
y = model(x)
model.save("tiny_cnn.so")
np.testing.assert_array_equal(kiln.load("tiny_cnn.so")(x), y)
assert abs(float(y.sum()) - 1) < 1e-4  # softmax output
from importlib.metadata import entry_points
eps = {e.name: e.value for e in entry_points(group="torch_dynamo_backends")}
assert eps.get("kiln") == "kiln.dynamo:backend", eps
print("installed package: compile, run, save and load OK; torch.compile backend registered")
PY
