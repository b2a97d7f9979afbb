#!/usr/bin/env python3
"""Writes one transformer-shaped contraction case: an ONNX model with seeded
random weights, a random input, and the expected output computed with numpy
in float64 (an independent reference: no Kiln, no onnxruntime).

usage: transformer_contraction_case.py CASE OUT_DIR

Cases (shapes smaller than the encoder's, with partial tiles):
  qkv_heads    [S,1,D] x [D,3*E] + bias, split into (3, S, 1, E) heads by a
               reshape and a transpose (the encoder's in-projection)
  out_proj     [S,E] x [E,D] + bias, reshaped to [S,1,D], transposed to
               [1,S,D] and added to a residual (the out-projection)
  ffn          [1,S,D] x [D,F] + bias, relu (a 3-D input times a weight)
  merge_heads  [1,H,S,T] x [1,H,T,E] (batched), transposed to [S,1,H,E]
               and reshaped to [S, H*E] (attention times values)
  attention_heads  q, k, v gathered from packed [3,S,1,E] projections and
               split into heads; (q * scale) k^T, times v (no softmax)
"""
import argparse
import os
import sys

import numpy as np
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from onnx_case import write_case  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("out")
    args = ap.parse_args()
    rng = np.random.default_rng(11)
    rnd = lambda *s: rng.standard_normal(s).astype(np.float32)
    f64 = lambda a: a.astype(np.float64)
    nodes, inits = [], []
    const = lambda name, a: inits.append(numpy_helper.from_array(np.asarray(a), name))
    s, d, e, f, h, t = 48, 40, 24, 100, 4, 30
    case = args.case
    if case == "qkv_heads":
        x, w, b = rnd(s, 1, d), rnd(d, 3 * e), rnd(3 * e)
        const("w", w), const("b", b), const("shape", np.array([s, 1, 3, e], np.int64))
        nodes += [helper.make_node("MatMul", ["x", "w"], ["y"]),
                  helper.make_node("Add", ["y", "b"], ["z"]),
                  helper.make_node("Reshape", ["z", "shape"], ["r"]),
                  helper.make_node("Transpose", ["r"], ["out"], perm=[2, 0, 1, 3])]
        ref = (f64(x) @ f64(w) + b).reshape(s, 1, 3, e).transpose(2, 0, 1, 3)
    elif case == "out_proj":
        x, w, b, res = rnd(s, e), rnd(e, d), rnd(d), rnd(1, s, d)
        const("w", w), const("b", b), const("res", res)
        const("shape", np.array([s, 1, d], np.int64))
        nodes += [helper.make_node("MatMul", ["x", "w"], ["y"]),
                  helper.make_node("Add", ["y", "b"], ["z"]),
                  helper.make_node("Reshape", ["z", "shape"], ["r"]),
                  helper.make_node("Transpose", ["r"], ["p"], perm=[1, 0, 2]),
                  helper.make_node("Add", ["p", "res"], ["out"])]
        ref = (f64(x) @ f64(w) + b).reshape(s, 1, d).transpose(1, 0, 2) + res
    elif case == "ffn":
        x, w, b = rnd(1, s, d), rnd(d, f), rnd(f)
        const("w", w), const("b", b)
        nodes += [helper.make_node("MatMul", ["x", "w"], ["y"]),
                  helper.make_node("Add", ["y", "b"], ["z"]),
                  helper.make_node("Relu", ["z"], ["out"])]
        ref = np.maximum(f64(x) @ f64(w) + b, 0)
    elif case == "merge_heads":
        x, v = rnd(1, h, s, t), rnd(1, h, t, e)
        const("v", v), const("shape", np.array([s, h * e], np.int64))
        nodes += [helper.make_node("MatMul", ["x", "v"], ["y"]),
                  helper.make_node("Transpose", ["y"], ["p"], perm=[2, 0, 1, 3]),
                  helper.make_node("Reshape", ["p", "shape"], ["out"])]
        ref = (f64(x) @ f64(v)).transpose(2, 0, 1, 3).reshape(s, h * e)
    elif case == "attention_heads":
        # Packed [3,S,1,E] projections: q, k and v taken by Gather, split
        # into heads by a reshape and transposes; (q * scale) k^T, then v.
        hd = e // h
        x = rnd(3, s, 1, e)
        const("shape", np.array([s, h, hd], np.int64)), const("scale", np.float32(0.25))
        for i, name in enumerate("qkv"):
            const(f"i{i}", np.int64(i))
            nodes += [helper.make_node("Gather", ["x", f"i{i}"], [f"g{name}"], axis=0),
                      helper.make_node("Reshape", [f"g{name}", "shape"], [f"r{name}"]),
                      helper.make_node("Transpose", [f"r{name}"], [f"t{name}"], perm=[1, 0, 2])]
        nodes += [helper.make_node("Mul", ["tq", "scale"], ["qs"]),
                  helper.make_node("Transpose", ["tk"], ["kt"], perm=[0, 2, 1]),
                  helper.make_node("MatMul", ["qs", "kt"], ["scores"]),
                  helper.make_node("MatMul", ["scores", "tv"], ["out"])]
        heads = [f64(x[i]).reshape(s, h, hd).transpose(1, 0, 2) for i in range(3)]
        ref = (heads[0] * 0.25) @ heads[1].transpose(0, 2, 1) @ heads[2]
    else:
        raise SystemExit(f"unknown case {case}")
    write_case(args.out, case, nodes, inits, x, [("out", ref)])

if __name__ == "__main__":
    main()
