#!/usr/bin/env python3
"""Writes one contraction test case: an ONNX model with seeded random
weights, a random input, and the expected output computed with numpy in
float64 (an independent reference: no Kiln, no onnxruntime).

usage: gpu_contraction_case.py CASE OUT_DIR [--precision fp32|tf32|fp16|bf16]

With a reduced precision, the reference rounds the contraction's operands
(input and weights, not the bias) to that type first, as the GPU kernels do,
and accumulates exactly: the kernels' result must match it far more closely
than it matches the fp32 result.
"""
import argparse
import os
import sys

import numpy as np
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from onnx_case import write_case  # noqa: E402


def round_mantissa(x, drop):
    """Round float32 values to nearest even, dropping `drop` mantissa bits."""
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    lsb = (bits >> drop) & 1
    bits = (bits + (1 << (drop - 1)) - 1 + lsb) & ~np.uint64((1 << drop) - 1)
    return (bits & 0xFFFFFFFF).astype(np.uint32).view(np.float32)


def round_to(x, precision):
    if precision == "fp16":
        return x.astype(np.float16).astype(np.float32)
    if precision == "bf16":
        return round_mantissa(x, 16)
    if precision == "tf32":
        return round_mantissa(x, 13)
    return x


def conv_ref(x, w, stride, pad, dil):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * pad - dil * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, f, oh, ow))
    for i in range(kh):
        for j in range(kw):
            win = xp[:, :, i * dil: i * dil + stride * (oh - 1) + 1: stride,
                     j * dil: j * dil + stride * (ow - 1) + 1: stride]
            out += np.einsum("nchw,fc->nfhw", win, w[:, :, i, j])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("out")
    ap.add_argument("--precision", default="fp32")
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    rnd = lambda *s: rng.standard_normal(s).astype(np.float32)
    r = lambda a: round_to(a, args.precision).astype(np.float64)
    nodes, inits = [], []
    case = args.case
    if case in ("matmul_relu", "matmul_skinny_n", "mm_pipe", "mm_k16", "mm_wide", "mm_splitk"):
        # [M, K] x [K, N] + bias, relu: the bias-add and relu are the epilogue.
        # mm_pipe and mm_k16 are shapes for the pipelined tensor-core kernel:
        # M and N not multiples of its tiles, K of three 32-wide tiles (or
        # half of one); mm_wide is large enough for 128 x 128 tiles (110
        # blocks of them); mm_splitk has 8 blocks and 32 K tiles (split-K).
        m, k, n = {"matmul_relu": (100, 72, 130), "matmul_skinny_n": (300, 40, 5),
                   "mm_pipe": (200, 96, 150), "mm_k16": (128, 16, 128),
                   "mm_wide": (1400, 40, 1240), "mm_splitk": (128, 1024, 200)}[case]
        x, w, b = rnd(m, k), rnd(k, n), rnd(n)
        inits += [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
        nodes += [helper.make_node("MatMul", ["x", "w"], ["y"]),
                  helper.make_node("Add", ["y", "b"], ["z"]),
                  helper.make_node("Relu", ["z"], ["out"])]
        ref = np.maximum(r(x) @ r(w) + b, 0)
    elif case in ("gemm_skinny_m", "gemm_pipe_t", "gemm_splitk"):
        # Gemm with a bias and the weights read transposed (transB):
        # gemm_skinny_m has M = 3 rows; gemm_pipe_t has A transposed too (A
        # read M-contiguous, B K-contiguous, contiguous extents 130 and 50:
        # not multiples of 4 floats); gemm_splitk two blocks of 64 x 64 and
        # 64 K tiles in 16 ranges (the bias starts the sums).
        m, k, n = {"gemm_skinny_m": (3, 200, 50), "gemm_pipe_t": (130, 50, 70),
                   "gemm_splitk": (64, 2048, 96)}[case]
        trans_a = case == "gemm_pipe_t"
        x = rnd(k, m) if trans_a else rnd(m, k)
        w, b = rnd(n, k), rnd(n)
        inits += [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
        nodes += [helper.make_node("Gemm", ["x", "w", "b"], ["out"], transB=1,
                                   **({"transA": 1} if trans_a else {}))]
        ref = (r(x).T if trans_a else r(x)) @ r(w).T + b
    elif case == "batch_matmul":
        x, w = rnd(2, 3, 33, 20), rnd(2, 3, 20, 47)
        inits += [numpy_helper.from_array(w, "w")]
        nodes += [helper.make_node("MatMul", ["x", "w"], ["out"])]
        ref = r(x) @ r(w)
    elif case in ("conv_relu", "conv_dilated", "conv_pipe", "conv_1x1"):
        # conv_pipe (padded 3x3) and conv_1x1 have 64 or more output
        # channels: the pipelined kernel, input windows gathered.
        shape, f, ks, stride, pad, dil = {
            "conv_relu": ((2, 5, 17, 17), 24, 3, 2, 1, 1),
            "conv_dilated": ((1, 7, 20, 19), 70, 3, 1, 0, 2),
            "conv_pipe": ((2, 16, 14, 14), 64, 3, 1, 1, 1),
            "conv_1x1": ((2, 40, 9, 11), 96, 1, 1, 0, 1)}[case]
        x, w, b = rnd(*shape), rnd(f, shape[1], ks, ks), rnd(f)
        inits += [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
        nodes += [helper.make_node("Conv", ["x", "w", "b"], ["y"], strides=[stride] * 2,
                                   pads=[pad] * 4, dilations=[dil] * 2),
                  helper.make_node("Relu", ["y"], ["out"])]
        ref = np.maximum(conv_ref(r(x), r(w), stride, pad, dil) + b[None, :, None, None], 0)
    elif case == "bmm_splitk":
        x, w = rnd(2, 3, 70, 512), rnd(2, 3, 512, 66)
        inits += [numpy_helper.from_array(w, "w")]
        nodes += [helper.make_node("MatMul", ["x", "w"], ["out"])]
        ref = r(x) @ r(w)
    elif case == "bmm_pipe":
        x, w = rnd(2, 3, 70, 40), rnd(2, 3, 40, 66)
        inits += [numpy_helper.from_array(w, "w")]
        nodes += [helper.make_node("MatMul", ["x", "w"], ["out"])]
        ref = r(x) @ r(w)
    else:
        raise SystemExit(f"unknown case {case}")
    write_case(args.out, case, nodes, inits, x, [("out", ref)])

if __name__ == "__main__":
    main()
