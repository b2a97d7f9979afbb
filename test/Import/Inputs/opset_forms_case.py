#!/usr/bin/env python3
"""Models in the forms that newer and older opsets give ops, with float64
numpy references, for kiln-run --test-data:

  reduce18      ReduceMean/ReduceMax/ReduceL2 with axes as an input (opset 18),
                noop_with_empty_axes, keepdims=0; IR version 10
  split18       Split by num_outputs into uneven chunks (opset 18)
  pad18         Pad of some axes only, given by the axes input (opset 18)
  avgpool19     AveragePool with dilations (opset 19)
  gelu20        Gelu, exact and tanh-approximated (opset 20)
  isnan20       IsNaN and IsInf (all, positive only) on data with NaN and inf
  composed24    ops new in opsets 18-24 that Kiln composes of its own:
                Swish, RMSNormalization, Mish, Trilu, CastLike, PRelu,
                Shrink, ThresholdedRelu, Softsign (opset 24, IR 11)
  opset6        Add/Mul with the legacy broadcast and axis attributes and
                BatchNormalization with is_test (opset 6, IR 3): converted
                to opset 7 on import

usage: opset_forms_case.py CASE OUT_DIR
"""
import math
import os
import sys

import numpy as np
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from onnx_case import write_case  # noqa: E402


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def avgpool_dilated(x, k, d, s, pads):
    """count_include_pad=0 average over dilated windows of NCHW x."""
    n, c, h, w = x.shape
    xp = np.full((n, c, h + pads[0] + pads[2], w + pads[1] + pads[3]), np.nan)
    xp[:, :, pads[0]:pads[0] + h, pads[1]:pads[1] + w] = x
    oh = (h + pads[0] + pads[2] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (w + pads[1] + pads[3] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * s[0]:i * s[0] + d[0] * (k[0] - 1) + 1:d[0],
                     j * s[1]:j * s[1] + d[1] * (k[1] - 1) + 1:d[1]]
            out[:, :, i, j] = np.nanmean(win.reshape(n, c, -1), axis=2)
    return out


def main():
    case, out = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 7, 5)).astype(np.float32)
    xd = x.astype(np.float64)
    nodes, inits, outputs = [], [], []
    opset, ir = 18, 10
    if case == "reduce18":
        inits += [ints("a1", [1]), ints("a_neg", [-1, 0]), ints("none", [])]
        nodes += [helper.make_node("ReduceMean", ["x", "a1"], ["mean"]),
                  helper.make_node("ReduceMax", ["x", "a_neg"], ["max"], keepdims=0),
                  helper.make_node("ReduceL2", ["x", "none"], ["same"], noop_with_empty_axes=1),
                  helper.make_node("ReduceSumSquare", ["x"], ["all"], keepdims=0)]
        outputs = [("mean", xd.mean(axis=1, keepdims=True)), ("max", xd.max(axis=(0, 3))),
                   ("same", xd), ("all", np.array((xd ** 2).sum()))]
    elif case == "split18":
        nodes += [helper.make_node("Split", ["x"], ["p0", "p1", "p2"], axis=2, num_outputs=3)]
        outputs = [("p0", xd[:, :, 0:3]), ("p1", xd[:, :, 3:6]), ("p2", xd[:, :, 6:7])]
    elif case == "pad18":
        inits += [ints("pads", [1, 0, 2, 3]), ints("axes", [-1, 1]),
                  numpy_helper.from_array(np.array(0.5, np.float32), "value")]
        nodes += [helper.make_node("Pad", ["x", "pads", "value", "axes"], ["y"])]
        outputs = [("y", np.pad(xd, [(0, 0), (0, 3), (0, 0), (1, 2)], constant_values=0.5))]
    elif case == "avgpool19":
        opset = 19
        nodes += [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2],
                                   dilations=[2, 2], strides=[1, 2], pads=[1, 0, 1, 1])]
        outputs = [("y", avgpool_dilated(xd, [2, 2], [2, 2], [1, 2], [1, 0, 1, 1]))]
    elif case == "gelu20":
        opset = 20
        nodes += [helper.make_node("Gelu", ["x"], ["exact"]),
                  helper.make_node("Gelu", ["x"], ["tanh"], approximate="tanh")]
        erf = np.vectorize(math.erf)
        outputs = [("exact", 0.5 * xd * (1 + erf(xd / math.sqrt(2)))),
                   ("tanh", 0.5 * xd * (1 + np.tanh(math.sqrt(2 / math.pi) *
                                                     (xd + 0.044715 * xd ** 3))))]
    elif case == "isnan20":
        opset = 20
        x = x * 1e38  # some products overflow to +-inf
        x[0, 0, 0, :] = np.nan
        x[1, 2, 3, 1] = -np.inf
        nodes += [helper.make_node("IsNaN", ["x"], ["nan"]),
                  helper.make_node("IsInf", ["x"], ["inf"]),
                  helper.make_node("IsInf", ["x"], ["posinf"], detect_negative=0)]
        outputs = [("nan", np.isnan(x)), ("inf", np.isinf(x)), ("posinf", np.isposinf(x))]
    elif case == "composed24":
        opset, ir = 24, 11
        x = x * 3
        xd = x.astype(np.float64)
        scale = rng.standard_normal((7, 5)).astype(np.float32)
        slope = rng.standard_normal((3, 1, 1)).astype(np.float32)
        inits += [numpy_helper.from_array(scale, "scale"), numpy_helper.from_array(slope, "slope"),
                  numpy_helper.from_array(np.array(1, np.int64), "k"),
                  numpy_helper.from_array(np.zeros(1, np.int32), "int_like")]
        nodes += [helper.make_node("Swish", ["x"], ["swish"], alpha=0.7),
                  helper.make_node("RMSNormalization", ["x", "scale"], ["rms"], axis=-2,
                                   epsilon=1e-3),
                  helper.make_node("Mish", ["x"], ["mish"]),
                  helper.make_node("Trilu", ["x", "k"], ["tril"], upper=0),
                  helper.make_node("CastLike", ["x", "int_like"], ["ints"]),
                  helper.make_node("PRelu", ["x", "slope"], ["prelu"]),
                  helper.make_node("Shrink", ["x"], ["shrink"], lambd=0.8, bias=0.3),
                  helper.make_node("ThresholdedRelu", ["x"], ["thr"], alpha=0.4),
                  helper.make_node("Softsign", ["x"], ["softsign"])]
        rms = np.sqrt((xd ** 2).mean(axis=(2, 3), keepdims=True) + 1e-3)
        i, j = np.indices((7, 5))
        outputs = [("swish", xd / (1 + np.exp(-0.7 * xd))),
                   ("rms", xd / rms * scale),
                   ("mish", xd * np.tanh(np.log1p(np.exp(xd)))),
                   ("tril", np.where(j - i <= 1, xd, 0)),
                   ("ints", x.astype(np.int32)),
                   ("prelu", np.where(xd < 0, xd * slope, xd)),
                   ("shrink", np.where(xd < -0.8, xd + 0.3, np.where(xd > 0.8, xd - 0.3, 0))),
                   ("thr", np.where(xd > 0.4, xd, 0)),
                   ("softsign", xd / (1 + np.abs(xd)))]
    elif case == "opset6":
        opset, ir = 6, 3
        b = rng.standard_normal((3, 7)).astype(np.float32)
        scale, bias = rng.random(3).astype(np.float32) + 0.5, rng.standard_normal(3).astype(np.float32)
        mean, var = rng.standard_normal(3).astype(np.float32), rng.random(3).astype(np.float32) + 0.5
        inits += [numpy_helper.from_array(v, n) for v, n in
                  ((b, "b"), (scale, "scale"), (bias, "bias"), (mean, "mean"), (var, "var"),
                   (np.array([2.0], np.float32), "two"))]
        nodes += [helper.make_node("Add", ["x", "b"], ["s"], broadcast=1, axis=1),
                  helper.make_node("Mul", ["s", "two"], ["m"], broadcast=1),
                  helper.make_node("BatchNormalization", ["m", "scale", "bias", "mean", "var"],
                                   ["bn"], is_test=1, epsilon=1e-5),
                  helper.make_node("Relu", ["bn"], ["y"])]
        m = (xd + b[None, :, :, None]) * 2
        bn = (m - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5) \
            * scale[None, :, None, None] + bias[None, :, None, None]
        outputs = [("y", np.maximum(bn, 0))]
    else:
        raise SystemExit(f"unknown case {case}")
    write_case(out, case, nodes, inits, x, outputs, opset=opset, ir_version=ir)


if __name__ == "__main__":
    main()
