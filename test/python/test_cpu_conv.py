"""The CPU target's convolutions (kiln_cpu_conv2d, an implicit GEMM that
reads zero padding in place) against a direct NumPy convolution in double
precision on random data: windows from 1x1 to 7x7, strides, dilations,
symmetric and asymmetric pads (also larger than the window reach), a batch
of images, no bias, and a convolution inside a residual block (pad, conv,
bias, ReLU, add) whose input stays live after the convolution reads it."""
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import kiln


def reference(x, w, b, strides, pads, dilations):
    """out[n, f, oh, ow] = b[f] + sum x_padded[n, c, oh*s + kh*d, ...] w[f, c, kh, kw]."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    pt, pl, pb, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    n, _, hp, wp = xp.shape
    f, _, kh, kw = w.shape
    oh = (hp - (kh - 1) * dilations[0] - 1) // strides[0] + 1
    ow = (wp - (kw - 1) * dilations[1] - 1) // strides[1] + 1
    out = np.zeros((n, f, oh, ow))
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dilations[0], j * dilations[1]
            win = xp[:, :, r0:r0 + (oh - 1) * strides[0] + 1:strides[0],
                     c0:c0 + (ow - 1) * strides[1] + 1:strides[1]]
            out += np.einsum("nchw,fc->nfhw", win, w[:, :, i, j])
    if b is not None:
        out += b.astype(np.float64)[None, :, None, None]
    return out


def conv_model(x_shape, w, b, strides, pads, dilations, relu_residual=False):
    out_shape = reference(np.zeros(x_shape, np.float32), w, b, strides, pads, dilations).shape
    inits = [numpy_helper.from_array(w, "w")]
    ins = ["x", "w"]
    if b is not None:
        inits.append(numpy_helper.from_array(b, "b"))
        ins.append("b")
    nodes = [helper.make_node("Conv", ins, ["y"], strides=list(strides), pads=list(pads),
                              dilations=list(dilations))]
    out = "y"
    if relu_residual:
        # y = relu(conv(x) + b) + x: the input is read again after the
        # convolution.
        nodes += [helper.make_node("Relu", ["y"], ["r"]),
                  helper.make_node("Add", ["r", "x"], ["z"])]
        out = "z"
    graph = helper.make_graph(nodes, "conv",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


CASES = [
    # (N, C, H, W), (F, KH, KW), strides, pads (t, l, b, r), dilations, bias
    ((1, 16, 20, 20), (24, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), True),
    ((2, 3, 33, 29), (16, 7, 7), (2, 2), (3, 3, 3, 3), (1, 1), True),
    ((1, 8, 15, 17), (20, 3, 3), (2, 1), (0, 2, 1, 0), (1, 1), False),
    ((1, 6, 12, 12), (13, 3, 3), (1, 1), (2, 2, 2, 2), (2, 2), True),
    ((1, 12, 9, 11), (40, 1, 5), (1, 3), (0, 4, 0, 4), (1, 1), True),
    ((1, 32, 7, 7), (64, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), True),
    ((1, 16, 14, 14), (32, 1, 1), (2, 2), (0, 0, 0, 0), (1, 1), False),
    ((1, 4, 6, 6), (12, 3, 3), (1, 1), (4, 5, 4, 5), (1, 1), True),
]


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_conv_matches_reference(case):
    x_shape, (f, kh, kw), strides, pads, dilations, bias = case
    rng = np.random.default_rng(sum(x_shape) * 31 + f)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((f, x_shape[1], kh, kw)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32) if bias else None
    (y,) = kiln.compile(conv_model(x_shape, w, b, strides, pads, dilations)).run(None, {"x": x})
    expected = reference(x, w, b, strides, pads, dilations)
    assert y.shape == expected.shape
    scale = np.abs(expected).max()
    assert np.abs(y - expected).max() <= 1e-5 * scale


def test_residual_block_reads_input_after_convolution():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 16, 24, 24)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    model = conv_model(x.shape, w, b, (1, 1), (1, 1, 1, 1), (1, 1), relu_residual=True)
    (z,) = kiln.compile(model).run(None, {"x": x})
    expected = np.maximum(reference(x, w, b, (1, 1), (1, 1, 1, 1), (1, 1)), 0) + x
    assert np.abs(z - expected).max() <= 1e-5 * np.abs(expected).max()


def block_model(x_shape, w, b, tail):
    """conv(x) + b, then `tail`: 'add_relu' (+ x, ReLU: fused into the
    convolution's store) or 'clip' (Clip to [0, 6])."""
    f = w.shape[0]
    out_shape = (x_shape[0], f, x_shape[2], x_shape[3])
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
    if tail == "add_relu":
        nodes += [helper.make_node("Add", ["y", "x"], ["s"]), helper.make_node("Relu", ["s"], ["z"])]
    else:
        inits += [numpy_helper.from_array(np.float32(0), "lo"),
                  numpy_helper.from_array(np.float32(6), "hi")]
        nodes += [helper.make_node("Clip", ["y", "lo", "hi"], ["z"])]
    graph = helper.make_graph(nodes, "block",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, out_shape)],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


@pytest.mark.parametrize("tail", ["add_relu", "clip"])
def test_fused_epilogue_with_nan(tail):
    """Bias, residual and clamp applied in the convolution's store; a NaN in
    the input reaches exactly the outputs whose windows (or residual) see
    it, as NaN, like maximumf / minimumf."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((1, 16, 12, 12)).astype(np.float32)
    x[0, 3, 5, 7] = np.nan
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    (z,) = kiln.compile(block_model(x.shape, w, b, tail)).run(None, {"x": x})
    y = reference(x, w, b, (1, 1), (1, 1, 1, 1), (1, 1))
    with np.errstate(invalid="ignore"):
        expected = np.maximum(y + x, 0) if tail == "add_relu" else np.clip(y, 0, 6)
    nan = np.isnan(expected)
    assert nan.any() and (np.isnan(z) == nan).all()
    assert np.abs(z[~nan] - expected[~nan]).max() <= 1e-5 * np.abs(expected[~nan]).max()


DEPTHWISE = [
    # (N, C, H, W), (KH, KW), strides, pads (t, l, b, r), dilations, tail
    ((1, 32, 20, 20), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), "clip"),
    ((2, 24, 17, 15), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), "clip"),
    ((1, 16, 12, 30), (5, 5), (1, 2), (2, 1, 3, 2), (1, 1), "none"),
    ((1, 8, 14, 14), (3, 3), (1, 1), (2, 2, 2, 2), (2, 2), "add"),
]


@pytest.mark.parametrize("case", DEPTHWISE, ids=[f"dw{i}" for i in range(len(DEPTHWISE))])
def test_depthwise_matches_reference(case):
    """Depthwise convolutions (group = channels) read their padding in place
    and apply bias and ReLU6 (Clip) or a residual in the store."""
    x_shape, (kh, kw), strides, pads, dilations, tail = case
    c = x_shape[1]
    rng = np.random.default_rng(c * 7 + kh)
    x = rng.standard_normal(x_shape).astype(np.float32)
    x[0, 1, 2, 3] = np.nan
    w = rng.standard_normal((c, 1, kh, kw)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    y = np.concatenate([reference(x[:, i:i + 1], w[i:i + 1], b[i:i + 1], strides, pads,
                                  dilations) for i in range(c)], axis=1)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y"], strides=list(strides),
                              pads=list(pads), dilations=list(dilations), group=c)]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
    out = "y"
    with np.errstate(invalid="ignore"):
        if tail == "clip":
            inits += [numpy_helper.from_array(np.float32(0), "lo"),
                      numpy_helper.from_array(np.float32(6), "hi")]
            nodes.append(helper.make_node("Clip", ["y", "lo", "hi"], ["z"]))
            out, expected = "z", np.clip(y, 0, 6)
        elif tail == "add":
            nodes.append(helper.make_node("Add", ["y", "x"], ["z"]))
            out, expected = "z", y + x
        else:
            expected = y
    graph = helper.make_graph(nodes, "dw",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT,
                                                             expected.shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    (z,) = kiln.compile(model.SerializeToString()).run(None, {"x": x})
    nan = np.isnan(expected)
    assert nan.any() and (np.isnan(z) == nan).all()
    assert np.abs(z[~nan] - expected[~nan]).max() <= 1e-5 * np.abs(expected[~nan]).max()
