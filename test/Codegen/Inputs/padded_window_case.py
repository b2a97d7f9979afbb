#!/usr/bin/env python3
"""Writes one padded-window test case: an ONNX model with seeded random
weights, a random input, and the expected output computed with numpy in
float64, or for the 1-D and 3-D cases with onnxruntime (independent
references: no Kiln).

usage: padded_window_case.py CASE OUT_DIR

Pads are asymmetric ([top, left, bottom, right]) and strides differ per
axis, so that a shift by the wrong pad or a bound on the wrong axis shows.
"""
import argparse
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from onnx_case import write_case  # noqa: E402


def out_size(n, k, s, d, before, after):
    return (n + before + after - ((k - 1) * d + 1)) // s + 1


def windows(xp, kshape, strides, dil, oshape):
    """Yields (ky, kx, view): the input under kernel tap (ky, kx) for every
    output position, [N, C, OH, OW]."""
    sh, sw = strides
    dh, dw = dil
    oh, ow = oshape
    for ky in range(kshape[0]):
        for kx in range(kshape[1]):
            yield ky, kx, xp[:, :, ky * dh: ky * dh + sh * (oh - 1) + 1: sh,
                             kx * dw: kx * dw + sw * (ow - 1) + 1: sw]


def pad4(x, pads, value):
    t, l, b, r = pads
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value)


def conv_ref(x, w, b, strides, pads, dil, group):
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    oh = out_size(h, kh, strides[0], dil[0], pads[0], pads[2])
    ow = out_size(wd, kw, strides[1], dil[1], pads[1], pads[3])
    xp = pad4(x, pads, 0.0)
    out = np.zeros((n, f, oh, ow))
    fg = f // group
    for ky, kx, win in windows(xp, (kh, kw), strides, dil, (oh, ow)):
        for g in range(group):
            out[:, g * fg:(g + 1) * fg] += np.einsum(
                "nchw,fc->nfhw", win[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg, :, ky, kx])
    return out + b[None, :, None, None]


def pool_ref(x, kind, kshape, strides, pads, include_pad):
    n, c, h, wd = x.shape
    oh = out_size(h, kshape[0], strides[0], 1, pads[0], pads[2])
    ow = out_size(wd, kshape[1], strides[1], 1, pads[1], pads[3])
    if kind == "max":
        xp = pad4(x, pads, -np.inf)
        out = np.full((n, c, oh, ow), -np.inf)
        for _, _, win in windows(xp, kshape, strides, (1, 1), (oh, ow)):
            out = np.maximum(out, win)
        return out
    xp = pad4(x, pads, 0.0)
    ones = pad4(np.ones_like(x), pads, 1.0 if include_pad else 0.0)
    total, count = np.zeros((n, c, oh, ow)), np.zeros((n, c, oh, ow))
    for (_, _, win), (_, _, cnt) in zip(windows(xp, kshape, strides, (1, 1), (oh, ow)),
                                        windows(ones, kshape, strides, (1, 1), (oh, ow))):
        total += win
        count += cnt
    return total / count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("out")
    args = ap.parse_args()
    rng = np.random.default_rng(11)
    rnd = lambda *s: rng.standard_normal(s).astype(np.float32)
    nodes, inits, outputs = [], [], []
    case = args.case
    f64 = lambda a: a.astype(np.float64)
    if case in ("conv_asym", "conv_dilated", "depthwise"):
        if case == "conv_asym":
            shape, f, k, strides, pads, dil, group = (2, 5, 13, 11), 6, (3, 4), (2, 3), (1, 2, 0, 3), (1, 1), 1
        elif case == "conv_dilated":
            shape, f, k, strides, pads, dil, group = (1, 3, 9, 10), 70, (3, 3), (1, 2), (2, 0, 1, 3), (2, 1), 1
        else:
            shape, f, k, strides, pads, dil, group = (1, 6, 10, 9), 6, (3, 3), (2, 1), (0, 1, 2, 1), (1, 1), 6
        x, w, b = rnd(*shape), rnd(f, shape[1] // group, *k), rnd(f)
        inits += [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
        nodes.append(helper.make_node("Conv", ["x", "w", "b"], ["out"], strides=list(strides),
                                      pads=[pads[0], pads[1], pads[2], pads[3]],
                                      dilations=list(dil), group=group))
        outputs.append(("out", conv_ref(f64(x), f64(w), f64(b), strides, pads, dil, group)))
    elif case in ("maxpool", "avgpool_include", "avgpool_exclude"):
        x = rnd(1, 3, 9, 8)
        k, strides, pads = (3, 2), (2, 2), (1, 0, 2, 1)
        if case == "maxpool":
            nodes.append(helper.make_node("MaxPool", ["x"], ["out"], kernel_shape=list(k),
                                          strides=list(strides), pads=list(pads)))
            ref = pool_ref(f64(x), "max", k, strides, pads, False)
        else:
            include = case == "avgpool_include"
            k, strides, pads = (3, 3), (2, 1), (1, 2, 1, 0)
            nodes.append(helper.make_node("AveragePool", ["x"], ["out"], kernel_shape=list(k),
                                          strides=list(strides), pads=list(pads),
                                          count_include_pad=int(include)))
            ref = pool_ref(f64(x), "avg", k, strides, pads, include)
        outputs.append(("out", ref))
    elif case in ("pad_half_conv", "pad_shared"):
        # An explicit Pad before a convolution without pads: with 0.5 the
        # padded buffer stays; with 0 and a second reader (the padded tensor
        # is also an output, through a Relu) it stays too.
        value = 0.5 if case == "pad_half_conv" else 0.0
        x, w, b = rnd(1, 4, 7, 6), rnd(8, 4, 3, 3), rnd(8)
        pads = (1, 2, 0, 1)
        inits += [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"),
                  numpy_helper.from_array(np.array([0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]],
                                                   dtype=np.int64), "pads"),
                  numpy_helper.from_array(np.array(value, dtype=np.float32), "value")]
        nodes += [helper.make_node("Pad", ["x", "pads", "value"], ["xp"], mode="constant"),
                  helper.make_node("Conv", ["xp", "w", "b"], ["out"])]
        xp = pad4(f64(x), pads, value)
        outputs.append(("out", conv_ref(xp, f64(w), f64(b), (1, 1), (0, 0, 0, 0), (1, 1), 1)))
        if case == "pad_shared":
            nodes.append(helper.make_node("Relu", ["xp"], ["padded"]))
            outputs.append(("padded", np.maximum(xp, 0)))
    elif case in ("conv1d", "conv3d", "maxpool1d"):
        # 1-D and 3-D windows (direct mapping), referenced by onnxruntime.
        if case == "conv1d":
            x, w = rnd(2, 4, 20), rnd(6, 4, 3)
            inits.append(numpy_helper.from_array(w, "w"))
            nodes.append(helper.make_node("Conv", ["x", "w"], ["out"], pads=[2, 1], strides=[2]))
        elif case == "conv3d":
            x, w = rnd(1, 3, 5, 6, 4), rnd(4, 3, 3, 2, 3)
            inits.append(numpy_helper.from_array(w, "w"))
            nodes.append(helper.make_node("Conv", ["x", "w"], ["out"], pads=[1, 0, 2, 0, 1, 1],
                                          strides=[1, 2, 1]))
        else:
            x = rnd(1, 4, 19)
            nodes.append(helper.make_node("MaxPool", ["x"], ["out"], kernel_shape=[3], pads=[2, 1],
                                          strides=[2]))
        outputs.append(("out", None))
    else:
        raise SystemExit(f"unknown case {case}")
    if outputs[0][1] is None:
        import onnxruntime
        probe = helper.make_model(helper.make_graph(
            nodes, case, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
            [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], inits),
            opset_imports=[helper.make_opsetid("", 17)])
        probe.ir_version = 8
        sess = onnxruntime.InferenceSession(probe.SerializeToString(),
                                            providers=["CPUExecutionProvider"])
        outputs = [("out", sess.run(None, {"x": x})[0])]
    write_case(args.out, case, nodes, inits, x, outputs)

if __name__ == "__main__":
    main()
