"""GridSample on random data against ONNX's reference evaluator: every mode
and padding mode, align_corners, points well outside the input (clamped or
reflected several times), 2-D (opset 16 names) and 3-D and 1-D (opset 20),
float16; bad grids are one clear error."""
import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import kiln

TARGETS = [dict(target="cpu"), dict(target="cuda", emulate=True)]
TARGET_IDS = ["cpu", "emulation"]


def model(x_shape, grid_shape, opset, dtype=TensorProto.FLOAT, out_shape=None, **attrs):
    node = helper.make_node("GridSample", ["x", "grid"], ["y"], name="gs", **attrs)
    if out_shape is None:
        out_shape = list(x_shape[:2]) + list(grid_shape[1:-1])
    g = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", dtype, x_shape),
         helper.make_tensor_value_info("grid", dtype, grid_shape)],
        [helper.make_tensor_value_info("y", dtype, out_shape)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 9 if opset >= 20 else 8
    return m


OPSET20_MODE = {"bilinear": "linear", "bicubic": "cubic"}


def check(m, feeds, opts, tol=1e-5):
    """Kiln on `m` against the reference evaluator on the same node in its
    opset-20 form (the reference reads only the opset-20 mode names)."""
    ref = m.__class__()
    ref.CopyFrom(m)
    ref.opset_import[0].version = 20
    ref.ir_version = 9
    for a in ref.graph.node[0].attribute:
        if a.name == "mode":
            a.s = OPSET20_MODE.get(a.s.decode(), a.s.decode()).encode()
    expected = ReferenceEvaluator(ref).run(None, feeds)[0]
    got = kiln.compile(m, **opts)(*feeds.values())
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def grid(rng, shape, spread=1.6):
    # Mostly inside [-1, 1], some points far outside (several reflections).
    g = rng.uniform(-spread, spread, shape)
    g.flat[::7] *= 3.0
    return g.astype(np.float32)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("align", [0, 1])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_grid_sample_2d(mode, padding, align, opts, rng):
    x = rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
    g = grid(rng, (2, 4, 6, 2))
    m = model(x.shape, g.shape, 16, mode=mode, padding_mode=padding, align_corners=align)
    check(m, {"x": x, "grid": g}, opts)


@pytest.mark.parametrize("align", [0, 1])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["linear", "nearest", "cubic"])
def test_grid_sample_3d(mode, padding, align, rng):
    x = rng.standard_normal((1, 2, 3, 4, 5)).astype(np.float32)
    g = grid(rng, (1, 2, 3, 2, 3))
    m = model(x.shape, g.shape, 20, mode=mode, padding_mode=padding, align_corners=align)
    check(m, {"x": x, "grid": g}, dict(target="cpu"))


@pytest.mark.parametrize("mode", ["linear", "cubic"])
def test_grid_sample_1d(mode, rng):
    x = rng.standard_normal((2, 3, 6)).astype(np.float32)
    g = grid(rng, (2, 5, 1))
    m = model(x.shape, g.shape, 20, mode=mode, padding_mode="reflection")
    check(m, {"x": x, "grid": g}, dict(target="cpu"))


def test_grid_sample_float16(rng):
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float16)
    g = grid(rng, (1, 3, 3, 2), spread=1.0).astype(np.float16)
    m = model(x.shape, g.shape, 16, TensorProto.FLOAT16)
    check(m, {"x": x, "grid": g}, dict(target="cpu"), tol=4e-3)


def test_grid_sample_errors():
    m = model([1, 2, 4, 4], [1, 3, 3, 3], 16, out_shape=[1, 2, 3, 3])
    with pytest.raises(kiln.CompileError, match=r"grid must have shape \[1, \.\.\., 2\]"):
        kiln.compile(m, target="cpu")
    m = model([1, 2, 4, 4, 4], [1, 3, 3, 3, 3], 16, out_shape=[1, 2, 3, 3, 3])
    with pytest.raises(kiln.CompileError, match="input X must be 4-D"):
        kiln.compile(m, target="cpu")
    m = model([1, 2, 4, 4], [1, 3, 3, 2], 16, mode="area")
    with pytest.raises(kiln.CompileError, match="unknown mode 'area'"):
        kiln.compile(m, target="cpu")


@pytest.mark.parametrize("align", [0, 1])
@pytest.mark.parametrize("size", [[2, 3, 4, 5], [2, 3, 3, 4, 2]], ids=["2d", "3d"])
def test_affine_grid_into_grid_sample(size, align, rng):
    """A spatial transformer: AffineGrid's grid sampled by GridSample."""
    r = len(size) - 2
    theta = rng.standard_normal((size[0], r, r + 1)).astype(np.float32) * 0.5
    x = rng.standard_normal(size).astype(np.float32)
    nodes = [helper.make_node("AffineGrid", ["theta", "size"], ["grid"], align_corners=align),
             helper.make_node("GridSample", ["x", "grid"], ["y"], align_corners=align)]
    g = helper.make_graph(
        nodes, "stn",
        [helper.make_tensor_value_info("theta", TensorProto.FLOAT, theta.shape),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, size)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, size),
         helper.make_tensor_value_info("grid", TensorProto.FLOAT, [size[0]] + size[2:] + [r])],
        [helper.make_tensor("size", TensorProto.INT64, [len(size)], size)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 20)])
    m.ir_version = 9
    expected = ReferenceEvaluator(m).run(None, {"theta": theta, "x": x})
    got = kiln.compile(m, target="cpu")(theta, x)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opts", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("group,offset_group,stride,pad,dil,with_mask", [
    (1, 1, 1, 1, 1, False), (2, 1, 1, 0, 1, True), (1, 2, 2, 1, 1, True),
    (2, 2, 1, 2, 2, False)])
def test_deform_conv_against_torchvision(group, offset_group, stride, pad, dil, with_mask, opts,
                                         rng):
    torch = pytest.importorskip("torch")
    tv_ops = pytest.importorskip("torchvision.ops")
    n, c, h, w, oc, kh, kw = 2, 4, 7, 6, 6, 3, 2
    oh = (h + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    ow = (w + 2 * pad - dil * (kw - 1) - 1) // stride + 1
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((oc, c // group, kh, kw)).astype(np.float32)
    off = (rng.standard_normal((n, 2 * offset_group * kh * kw, oh, ow)) * 1.5).astype(np.float32)
    b = rng.standard_normal(oc).astype(np.float32)
    mask = rng.random((n, offset_group * kh * kw, oh, ow)).astype(np.float32)
    expected = tv_ops.deform_conv2d(torch.from_numpy(x), torch.from_numpy(off),
                                    torch.from_numpy(wt), torch.from_numpy(b),
                                    stride=stride, padding=pad, dilation=dil,
                                    mask=torch.from_numpy(mask) if with_mask else None).numpy()
    names = ["x", "w", "off", "b"] + (["mask"] if with_mask else [])
    node = helper.make_node("DeformConv", names, ["y"], group=group,
                            offset_group=offset_group, strides=[stride] * 2, pads=[pad] * 4,
                            dilations=[dil] * 2)
    feeds = {"x": x, "w": wt, "off": off, "b": b}
    if with_mask:
        feeds["mask"] = mask
    g = helper.make_graph([node], "dc",
                          [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape)
                           for k, v in feeds.items()],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, expected.shape)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)])
    m.ir_version = 9
    got = kiln.compile(m, **opts)(*feeds.values())
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
