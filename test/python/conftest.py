"""Shared fixtures of Kiln's Python tests.

Run from the repository root after building the package:
    PYTHONPATH=build/python python3 -m pytest test/python
"""
import os
import subprocess

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
MODEL_CACHE = os.environ.get("KILN_MODEL_CACHE",
                             os.path.join(os.path.expanduser("~"), ".cache", "kiln", "models"))


def has_cuda_gpu():
    """True where a CUDA driver and a GPU are present."""
    try:
        import ctypes

        lib = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        return lib.cuInit(0) == 0 and lib.cuDeviceGetCount(ctypes.byref(count)) == 0 \
            and count.value > 0
    except OSError:
        return False


def build_fake_driver(out_path):
    """Builds the stand-in CUDA driver (test/Runtime/fake_libcuda.c) as the
    shared library `out_path`; skips the test where no C compiler can."""
    src = os.path.join(ROOT, "test", "Runtime", "fake_libcuda.c")
    p = subprocess.run(["cc", "-O1", "-shared", "-fPIC",
                        "-I", os.path.join(ROOT, "runtime", "src"), src, "-o", str(out_path),
                        "-lpthread"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot build the stand-in driver: {p.stderr[-300:]}")
    return str(out_path)


def onnxruntime_outputs(model, feeds):
    """What onnxruntime's CPU provider computes for `model` on `feeds`."""
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def assert_kiln_outputs(model, feeds, expected, opts, tol):
    """Kiln's outputs of `model` (compiled with `opts`) on `feeds`, every
    one of them, against `expected` within `tol` (rtol and atol)."""
    import kiln

    got = kiln.compile(model, **opts)(*feeds.values())
    if not isinstance(got, (list, tuple)):
        got = [got]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol)


@pytest.fixture
def rng(request):
    # A seed per test, so that failures reproduce.
    return np.random.default_rng(abs(hash(request.node.name)) % (2**32))
