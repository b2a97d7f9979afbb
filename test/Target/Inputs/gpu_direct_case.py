#!/usr/bin/env python3
"""Writes one test case for the kernel groups that the GPU compiles as one
direct launch (depthwise and grouped convolutions, pooling with pads): an
ONNX model with seeded random weights, a random input, and the expected
output computed with numpy in float64 (no Kiln, no onnxruntime).

usage: gpu_direct_case.py CASE OUT_DIR
"""
import argparse
import os
import sys

import numpy as np
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from onnx_case import write_case  # noqa: E402


def windows(x, kernel, strides, pads, dilations, fill):
    """Every window of the padded NCHW input as [N, C, OH, OW, KH, KW]
    (pads = [top, left, bottom, right])."""
    t, l, b, r = pads
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=fill)
    kh, kw = kernel
    sh, sw = strides
    dh, dw = dilations
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.empty(x.shape[:2] + (oh, ow, kh, kw))
    for i in range(kh):
        for j in range(kw):
            out[..., i, j] = xp[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                                j * dw: j * dw + sw * (ow - 1) + 1: sw]
    return out


def conv(x, w, b, group, strides, pads, dilations):
    f, cg, kh, kw = w.shape
    win = windows(x.astype(np.float64), (kh, kw), strides, pads, dilations, 0.0)
    fg = f // group
    outs = []
    for g in range(group):
        wg = w[g * fg:(g + 1) * fg].astype(np.float64)
        outs.append(np.einsum("nchwij,fcij->nfhw", win[:, g * cg:(g + 1) * cg], wg))
    return np.concatenate(outs, axis=1) + b[None, :, None, None]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("out")
    args = ap.parse_args()
    rng = np.random.default_rng(11)
    rnd = lambda *s: rng.standard_normal(s).astype(np.float32)
    nodes, inits = [], []
    case = args.case
    if case in ("dw_relu6_s1", "dw_relu6_s2"):
        # mobilenet's depthwise block: 3x3, pad 1, folded bias, ReLU6.
        stride = 1 if case == "dw_relu6_s1" else 2
        x, w, b = 3 * rnd(1, 8, 13, 11), rnd(8, 1, 3, 3), rnd(8)
        inits += [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"),
                  numpy_helper.from_array(np.array(0, np.float32), "lo"),
                  numpy_helper.from_array(np.array(6, np.float32), "hi")]
        nodes += [helper.make_node("Conv", ["x", "w", "b"], ["y"], group=8,
                                   strides=[stride] * 2, pads=[1] * 4),
                  helper.make_node("Clip", ["y", "lo", "hi"], ["out"])]
        ref = np.clip(conv(x, w, b, 8, (stride, stride), (1, 1, 1, 1), (1, 1)), 0, 6)
    elif case == "grouped_asym":
        # 3 groups of 2 channels, 3x2 kernel, asymmetric pads and strides,
        # dilated columns, bias and relu.
        strides, pads, dil = [2, 1], [1, 0, 2, 1], [1, 2]
        x, w, b = rnd(2, 6, 11, 10), rnd(9, 2, 3, 2), rnd(9)
        inits += [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
        nodes += [helper.make_node("Conv", ["x", "w", "b"], ["y"], group=3, strides=strides,
                                   pads=pads, dilations=dil),
                  helper.make_node("Relu", ["y"], ["out"])]
        ref = np.maximum(conv(x, w, b, 3, strides, pads, dil), 0)
    elif case == "maxpool_pad":
        # Mostly negative input: a zero in the padding would win the max.
        x = rnd(1, 5, 9, 8) - 3
        nodes += [helper.make_node("MaxPool", ["x"], ["out"], kernel_shape=[3, 3],
                                   strides=[2, 2], pads=[1, 1, 1, 1])]
        ref = windows(x, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), -np.inf).max(axis=(4, 5))
    elif case == "avgpool_pad":
        # count_include_pad=0: border windows divide by their inside count.
        x = rnd(2, 3, 10, 7)
        nodes += [helper.make_node("AveragePool", ["x"], ["out"], kernel_shape=[3, 2],
                                   strides=[2, 1], pads=[1, 0, 1, 1])]
        s = windows(x, (3, 2), (2, 1), (1, 0, 1, 1), (1, 1), 0.0).sum(axis=(4, 5))
        n = windows(np.ones_like(x), (3, 2), (2, 1), (1, 0, 1, 1), (1, 1), 0.0).sum(axis=(4, 5))
        ref = s / n
    else:
        raise SystemExit(f"unknown case {case}")
    write_case(args.out, case, nodes, inits, x, [("out", ref)])

if __name__ == "__main__":
    main()
