"""BitShift on run-time inputs of every unsigned width, shift amounts past
the width included (0, as a shift of all the bits out), against NumPy."""
import numpy as np
import pytest
from onnx import helper

import kiln

TYPES = {np.uint8: 2, np.uint16: 4, np.uint32: 12, np.uint64: 13}


def _model(dtype, direction):
    code = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    graph = helper.make_graph(
        [helper.make_node("BitShift", ["x", "y"], ["z"], direction=direction)], "shift",
        [helper.make_tensor_value_info("x", code, [3, 50]),
         helper.make_tensor_value_info("y", code, [50])],
        [helper.make_tensor_value_info("z", code, [3, 50])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6
    return model


@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("dtype", list(TYPES))
@pytest.mark.parametrize("emulate", [False, True])
def test_bitshift(dtype, direction, emulate, rng):
    width = np.dtype(dtype).itemsize * 8
    info = np.iinfo(dtype)
    x = rng.integers(0, info.max, size=(3, 50), dtype=dtype, endpoint=True)
    y = rng.integers(0, width + 3, size=50).astype(dtype)  # past the width too
    y[:4] = [0, 1, width - 1, width]
    options = {"target": "cuda", "emulate": True} if emulate else {}
    got = kiln.compile(_model(dtype, direction), **options)(x, y)
    shift = np.minimum(y, width - 1).astype(dtype)
    want = np.left_shift(x, shift) if direction == "LEFT" else np.right_shift(x, shift)
    want = np.where(y >= width, 0, want).astype(dtype)
    np.testing.assert_array_equal(got, want)
