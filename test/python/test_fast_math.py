"""The CPU target computes f32 Erf and Tanh with polynomial approximations
(kiln-cpu-fast-math) so that their loops vectorize: checked here against
Python's math.erf / math.tanh (double precision) on random values, a dense
sweep of [-9, 9], and the edge values (signed zeros, tiny and huge values,
infinities, NaN)."""
import math

import numpy as np
import pytest
from onnx import TensorProto, helper

import kiln

EDGES = np.array([-np.inf, -1e30, -10.0, -3.0, -1e-30, -0.0, 0.0, 1e-30, 0.5, 3.0, 10.0,
                  1e30, np.inf, np.nan], np.float32)


def unary_model(op, n):
    graph = helper.make_graph([helper.make_node(op, ["x"], ["y"])], op.lower(),
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


@pytest.mark.parametrize("op,reference", [("Erf", math.erf), ("Tanh", math.tanh)])
def test_approximation_accuracy(op, reference):
    rng = np.random.default_rng(7)
    x = np.concatenate([EDGES, rng.standard_normal(4096).astype(np.float32) * 3,
                        np.linspace(-9, 9, 4001, dtype=np.float32)])
    (y,) = kiln.compile(unary_model(op, x.size)).run(None, {"x": x})
    expected = np.array([reference(float(v)) if not np.isnan(v) else np.nan for v in x])
    finite = ~np.isnan(expected)
    assert np.isnan(y[~finite]).all()
    assert np.abs(y[finite] - expected[finite]).max() < 1e-6
    # Odd functions: tiny values keep their sign (a zero may come back as
    # +0.0 from either sign: equal values, as rtol/atol compare them).
    tiny = (np.abs(x) < 1e-20) & (x != 0)
    assert (np.signbit(y[tiny]) == np.signbit(x[tiny])).all()
