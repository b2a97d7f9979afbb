"""Shared fixtures of Kiln's Python tests.

Run from the repository root after building the package:
    PYTHONPATH=build/python python3 -m pytest test/python
"""
import os

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


@pytest.fixture
def rng(request):
    # A seed per test, so that failures reproduce.
    return np.random.default_rng(abs(hash(request.node.name)) % (2**32))
